import type { Pool } from 'pg';
import { STORED_AUDIT_COLUMNS, TAKE_AUDIT_APPEND_LOCK, type StoredAuditRowText, toStoredAuditRow } from './audit-chain';
import type { AuditSealer } from './audit-seal';

/** Rows read and sealed per round trip while upgrading. */
const UPGRADE_BATCH = 2_000;

/**
 * Seals an audit trail written before audit records were sealed (an upgrade): only a table in which
 * **no** row is sealed yet — once one is, an unsealed row can only be a forgery and is left for the
 * readers to refuse, never legitimised. Every row is sealed as it is (its position kept), in
 * position order, in one transaction under the audit append lock, with the append-only trigger
 * lifted for that transaction only. Needs the table owner (the migration role). Returns how many
 * records were sealed (0: nothing to do). The caller records it in the audit trail, after this
 * returns (its record then chains to the sealed history).
 */
export async function sealExistingAuditRecords(pool: Pool, sealer: AuditSealer): Promise<number> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN');
    // Counted under the lock: a writer cannot seal a first record between the check and the upgrade.
    await client.query(TAKE_AUDIT_APPEND_LOCK);
    const counts = await client.query<{ unsealed: number; sealed: number }>(
      'SELECT count(*) FILTER (WHERE seal_hash IS NULL)::int AS unsealed, count(*) FILTER (WHERE seal_hash IS NOT NULL)::int AS sealed FROM audit_records',
    );
    const { unsealed = 0, sealed: alreadySealed = 0 } = counts.rows[0] ?? {};
    if (unsealed === 0 || alreadySealed > 0) {
      await client.query('ROLLBACK');
      return 0;
    }
    await client.query('ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only');
    let prev: string | null = null;
    let after = '0';
    let sealed = 0;
    for (;;) {
      const batch = await client.query<StoredAuditRowText>(`SELECT ${STORED_AUDIT_COLUMNS} FROM audit_records WHERE "position" > $1 ORDER BY audit_records."position" LIMIT $2`, [
        after,
        UPGRADE_BATCH,
      ]);
      if (batch.rows.length === 0) break;
      const positions: string[] = [];
      const prevs: Array<string | null> = [];
      const hashes: string[] = [];
      const macs: string[] = [];
      for (const row of batch.rows.map(toStoredAuditRow)) {
        const seal = sealer.seal(row, prev);
        prev = seal.hash;
        positions.push(row.position.toString());
        prevs.push(seal.prev);
        hashes.push(seal.hash);
        macs.push(seal.mac);
      }
      const updated = await client.query(
        `UPDATE audit_records a SET seal_prev = s.prev, seal_hash = s.hash, seal_mac = s.mac
           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS s(position, prev, hash, mac)
          WHERE a."position" = s.position`,
        [positions, prevs, hashes, macs],
      );
      if (updated.rowCount !== positions.length) throw new Error(`sealed ${updated.rowCount} of ${positions.length} audit records`);
      sealed += positions.length;
      after = positions[positions.length - 1] as string;
    }
    await client.query('ALTER TABLE audit_records ENABLE TRIGGER audit_records_append_only');
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
