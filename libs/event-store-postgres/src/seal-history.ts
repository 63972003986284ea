import { EventSealer, SEAL_METADATA_KEY } from '@kms/event-store';
import { type AuditSealer, sealExistingAuditRecords } from '@kms/persistence-postgres';
import type { Pool } from 'pg';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from './event-row.mapper';

/** Key of the advisory lock every append takes (postgres-event-store.ts): sealing holds it too. */
const APPEND_LOCK_KEY = 7_301_954_416;

/**
 * Seals history written before events were sealed (an upgrade): only a store in which **no** event
 * is sealed yet — once one is, an unsealed row can only be a forgery and is left for the readers to
 * refuse, never legitimised. Every event is sealed in stream order, in one transaction under the
 * append lock, with the append-only trigger lifted for that transaction only. Needs the table owner
 * (the migration role). Returns how many events were sealed (0: nothing to do). The caller records
 * it in the audit trail.
 */
export async function sealExistingEvents(pool: Pool, sealer: EventSealer): Promise<number> {
  const counts = await pool.query<{ unsealed: number; sealed: number }>(
    `SELECT count(*) FILTER (WHERE NOT metadata ? 'seal')::int AS unsealed, count(*) FILTER (WHERE metadata ? 'seal')::int AS sealed FROM events`,
  );
  const { unsealed = 0, sealed: alreadySealed = 0 } = counts.rows[0] ?? {};
  if (unsealed === 0 || alreadySealed > 0) return 0;
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(${APPEND_LOCK_KEY})`);
    await client.query('ALTER TABLE events DISABLE TRIGGER events_append_only');
    const streams = await client.query<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM events WHERE NOT metadata ? 'seal'`);
    let sealed = 0;
    for (const { stream_id } of streams.rows) {
      const rows = await client.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version`, [stream_id]);
      let prev: string | null = null;
      for (const e of rows.rows.map(toStoredEvent)) {
        const { [SEAL_METADATA_KEY]: _old, ...metadata } = e.metadata;
        void _old;
        const seal = sealer.seal({ ...e, metadata }, prev);
        prev = seal.hash;
        await client.query(`UPDATE events SET metadata = $2::jsonb WHERE global_position = $1`, [e.globalPosition.toString(), JSON.stringify({ ...metadata, [SEAL_METADATA_KEY]: seal })]);
        sealed++;
      }
    }
    await client.query('ALTER TABLE events ENABLE TRIGGER events_append_only');
    await client.query('COMMIT');
    return sealed;
  } catch (e) {
    failed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release(failed);
  }
}

/** What sealExistingHistory sealed (0: that history was already sealed, or empty). */
export interface SealedHistory {
  events: number;
  auditRecords: number;
}

/**
 * The upgrade from before sealing, for both histories in this database: the events
 * (sealExistingEvents) and the audit trail (sealExistingAuditRecords from @kms/persistence-postgres),
 * each under its own rules and in its own transaction. The caller records the result in the audit
 * trail afterwards.
 */
export async function sealExistingHistory(pool: Pool, sealers: { events: EventSealer; audit: AuditSealer }): Promise<SealedHistory> {
  const events = await sealExistingEvents(pool, sealers.events);
  const auditRecords = await sealExistingAuditRecords(pool, sealers.audit);
  return { events, auditRecords };
}

/** History sealed under a seal key other than the configured one: the process must not start. */
export class SealKeyChangedError extends Error {
  override readonly name = 'SealKeyChangedError';
}

interface SealKeys {
  events: EventSealer;
  audit: AuditSealer;
  /** How the keys are named to the operator, e.g. "HSM" or "master-key". */
  name: string;
}

const HEADS = {
  events: {
    newest: `SELECT metadata->'seal'->>'hash' AS hash, metadata->'seal'->>'mac' AS mac FROM events WHERE metadata ? 'seal' ORDER BY global_position DESC LIMIT 1`,
    oldest: `SELECT metadata->'seal'->>'hash' AS hash, metadata->'seal'->>'mac' AS mac FROM events WHERE metadata ? 'seal' ORDER BY global_position LIMIT 1`,
    matches: (keys: SealKeys, hash: string, mac: string) => keys.events.madeWithThisKey(hash, mac),
  },
  audit_records: {
    newest: `SELECT seal_hash AS hash, seal_mac AS mac FROM audit_records WHERE seal_mac IS NOT NULL ORDER BY audit_records."position" DESC LIMIT 1`,
    oldest: `SELECT seal_hash AS hash, seal_mac AS mac FROM audit_records WHERE seal_mac IS NOT NULL ORDER BY audit_records."position" LIMIT 1`,
    matches: (keys: SealKeys, hash: string, mac: string) => keys.audit.madeWithThisKey(hash, mac),
  },
} as const;

/**
 * Refuse to run with seal keys that did not seal the history already there, rather than start and
 * read every row as forged. Per table (events, audit records): the newest sealed row carrying the
 * `previous` keys' MAC (e.g. the master-key seal keys on a store an HSM was just configured for) means
 * the keys were switched; neither the newest nor the oldest carrying the current keys' MAC means the
 * history was sealed with other keys (another master key, or an HSM since switched off). Either throws
 * SealKeyChangedError naming the table and the keys. A newest row alone that does not verify is a
 * forgery, not a key change: the process starts and its readers refuse that row (and alarm). An
 * unsealed store passes.
 */
export async function assertSealKeyContinuity(pool: Pool, current: SealKeys, previous?: SealKeys): Promise<void> {
  for (const [table, q] of Object.entries(HEADS)) {
    const read = async (sql: string) => (await pool.query<{ hash: string | null; mac: string | null }>(sql)).rows[0];
    const newest = await read(q.newest);
    if (!newest?.hash || !newest.mac) continue;
    if (q.matches(current, newest.hash, newest.mac)) continue;
    if (previous && q.matches(previous, newest.hash, newest.mac)) {
      throw new SealKeyChangedError(
        `${table} is sealed with the ${previous.name} seal keys but this KMS is configured to seal with the ${current.name} seal keys: ` +
          'switching the seal keys of existing history is not supported yet (every row would read as forged); keep the previous configuration (docs/audit-and-evidence.md "Seal keys")',
      );
    }
    const oldest = await read(q.oldest);
    if (oldest?.hash && oldest.mac && !q.matches(current, oldest.hash, oldest.mac)) {
      throw new SealKeyChangedError(
        `${table} was not sealed with the ${current.name} seal keys (neither its oldest nor its newest sealed row verifies): it was sealed with other keys — ` +
          'another master key, or an HSM seal key if the HSM was switched off; the KMS does not start on history it cannot check (docs/audit-and-evidence.md "Seal keys")',
      );
    }
  }
}
