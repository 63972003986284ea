import type { ClientBase, Pool } from 'pg';
import { type AuditRow, SEALED_AUDIT_COLUMNS, sealableAuditRow, sealedAuditRow } from './audit-row.mapper';
import type { AuditSealer, SealableAuditRow, StoredAuditRow } from './audit-seal';

/** Advisory lock key every audit writer takes; any constant all writers agree on. */
export const AUDIT_APPEND_LOCK_KEY = 7_301_954_417;

type Queryable = Pick<ClientBase, 'query'> | Pick<Pool, 'query'>;

/**
 * The statement that takes the audit append lock for the rest of the transaction. One lock for all
 * writers (several key-service instances) so positions become visible in commit order: a reader that
 * has seen position 6 can never later find a 5 committed behind it. It must end the statement it is
 * sent in: the chain's head is read by a later statement, with a snapshot taken after the lock.
 */
export const TAKE_AUDIT_APPEND_LOCK = `SELECT pg_advisory_xact_lock(${AUDIT_APPEND_LOCK_KEY})`;

/**
 * The chain's head and `count` reserved positions (`count`: a parameter reference or a whole-number
 * literal). The head is looked for first where it almost always is: the record just before the first
 * position reserved, within a day of `near` (the time of the first record to be written: a parameter
 * reference or a timestamptz literal), so the time bounds prune the search to the partition of that
 * month (two at a month's turn) instead of probing every month's index. When no record is there (a
 * failed flush left its positions unused, a clock a day off, a row written with a position of its own),
 * it is the record with the greatest position, whichever partition holds it.
 */
function headAndPositionsSql(count: string, near: string): string {
  return `WITH reserved AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence('audit_records', 'position')) AS p FROM generate_series(1, ${count})),
          adjacent AS (SELECT seal_hash FROM audit_records
                        WHERE audit_records."position" = (SELECT min(p) - 1 FROM reserved)
                          AND audit_records."time" >= ${near} - interval '1 day' AND audit_records."time" < ${near} + interval '1 day'
                        LIMIT 1)
     SELECT CASE WHEN EXISTS (SELECT 1 FROM adjacent) THEN (SELECT seal_hash FROM adjacent)
                 ELSE (SELECT seal_hash FROM audit_records ORDER BY audit_records."position" DESC LIMIT 1) END AS prev,
            ARRAY(SELECT p::text FROM reserved) AS positions`;
}

type HeadRow = { prev: string | null; positions: string[] };

/**
 * Inside the caller's open transaction: take the audit append lock, reserve positions for
 * `rows` and seal them in order after the last stored record. A batch call's row takes one position
 * per item and stands at the last of them (item i of n at `position - (n - 1) + i`), so every item
 * downstream has a position of its own and positions stay in commit order (see positionedAuditRecords).
 * Returns INSERT parameters in SEALED_AUDIT_COLUMNS order (see insertAuditRowsSql). One or two round
 * trips, whatever the number of rows; with `openWith` (statements without parameters that open the
 * transaction, e.g. `BEGIN`), those, the lock and the head's read go in one round trip (the head still
 * read by a statement of its own, after the lock).
 */
export async function lockAndSeal(client: ClientBase, rows: AuditRow[], sealer: AuditSealer, options: { openWith?: string } = {}): Promise<AuditRow[]> {
  return (await lockAndSealAfterHead(client, rows, sealer, options)).sealed;
}

/** lockAndSeal, also saying where the chain ended when the lock was taken (`head`: its last seal hash and the first position reserved). */
export async function lockAndSealAfterHead(
  client: ClientBase,
  rows: AuditRow[],
  sealer: AuditSealer,
  options: { openWith?: string } = {},
): Promise<{ sealed: AuditRow[]; head: AuditChainEnd }> {
  const prepared = prepareRows(rows);
  const count = prepared.positions;
  // ISO in UTC (toISOString throws for a time that is not one).
  const near = (prepared.bodies[0]?.time ?? new Date()).toISOString();
  let head: { rows: HeadRow[] };
  if (options.openWith !== undefined) {
    // Simple protocol (no parameters): the count is a whole number and the time an ISO string, both of our own making, written in the text.
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`cannot reserve ${count} audit positions`);
    const results = (await client.query(`${options.openWith}; ${TAKE_AUDIT_APPEND_LOCK}; ${headAndPositionsSql(String(count), `'${near}'::timestamptz`)}`)) as unknown as Array<{
      rows: HeadRow[];
    }>;
    head = results[results.length - 1] ?? { rows: [] };
  } else {
    await client.query(TAKE_AUDIT_APPEND_LOCK);
    head = await client.query<HeadRow>(headAndPositionsSql('$1::integer', '$2::timestamptz'), [count, near]);
  }
  const { prev: last = null, positions = [] } = head.rows[0] ?? {};
  const reserved = positions.map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const sealed = sealPrepared(prepared, reserved, last, sealer);
  return { sealed, head: { prev: last, next: reserved[0] as bigint } };
}

/** Where a writer left the chain: the seal hash of the last record and the next free position. */
export interface AuditChainEnd {
  prev: string | null;
  next: bigint;
  /** The last record's time as written (ISO), where the writer knows it: with its position, it finds that record in one partition. */
  prevTime?: string;
}

/** Rows bound for the chain, each row's JSON parsed once: its sealed body and how many positions it takes. */
interface PreparedRows {
  rows: AuditRow[];
  bodies: SealableAuditRow[];
  spans: number[];
  positions: number;
}

function prepareRows(rows: AuditRow[]): PreparedRows {
  const bodies = rows.map((row) => sealableAuditRow(row, 0n));
  // A batch call's row takes one position per item.
  const spans = bodies.map((b) => Math.max(1, b.items?.length ?? 1));
  return { rows, bodies, spans, positions: spans.reduce((sum, n) => sum + n, 0) };
}

/** Seal `prepared` in order after `prev`, at `reserved` (ascending, at least one per position needed). */
function sealPrepared({ rows, bodies, spans }: PreparedRows, reserved: readonly bigint[], prev: string | null, sealer: AuditSealer): AuditRow[] {
  let taken = 0;
  return rows.map((row, i) => {
    const span = spans[i] as number;
    const first = reserved[taken];
    taken += span;
    const position = reserved[taken - 1];
    if (first === undefined || position === undefined) throw new Error(`reserved ${reserved.length} audit positions, ${rows.length} rows need more`);
    // Items are addressed as position - (span - 1) + i: their positions must be this row's alone.
    if (position - first !== BigInt(span - 1)) throw new Error(`audit positions ${first}..${position} reserved for ${span} batch items are not contiguous`);
    const seal = sealer.seal({ ...(bodies[i] as SealableAuditRow), position }, prev);
    prev = seal.hash;
    return sealedAuditRow(row, position, seal);
  });
}

/**
 * Seal `rows` as the records that follow `end`, at the positions from `end.next` on, before any lock
 * is taken: for kms_append_sealed_audit, which refuses them (KM001) unless the chain still ends at
 * `end` once the lock is held. Returns the rows (SEALED_AUDIT_COLUMNS order) and where they leave it.
 */
export function sealAfter(rows: AuditRow[], sealer: AuditSealer, end: AuditChainEnd): { sealed: AuditRow[]; end: AuditChainEnd } {
  const prepared = prepareRows(rows);
  const reserved = Array.from({ length: prepared.positions }, (_, i) => end.next + BigInt(i));
  const sealed = sealPrepared(prepared, reserved, end.prev, sealer);
  return { sealed, end: chainEndAfter(sealed) ?? end };
}

/** Where sealed rows (SEALED_AUDIT_COLUMNS order, ascending) leave the chain; undefined for none. */
export function chainEndAfter(sealed: readonly AuditRow[]): AuditChainEnd | undefined {
  const last = sealed[sealed.length - 1];
  if (last === undefined) return undefined;
  return { prev: last[SEAL_HASH_INDEX] as string, next: BigInt(last[POSITION_INDEX] as string) + 1n, prevTime: last[TIME_INDEX] as string };
}

const POSITION_INDEX = SEALED_AUDIT_COLUMNS.indexOf('position');
const TIME_INDEX = SEALED_AUDIT_COLUMNS.indexOf('time');
const SEAL_HASH_INDEX = SEALED_AUDIT_COLUMNS.indexOf('seal_hash');

/**
 * Every stored column of audit_records a seal covers, and the seal (position as text: a bigint).
 * ORDER BY must name audit_records."position": a bare "position" is this text alias, sorting 10 before 2.
 */
export const STORED_AUDIT_COLUMNS = `"position"::text AS position, id, "time", request_id, operation, key_id, key_version, actor, actor_role, outcome,
              error_code, source_address, details, items, seal_prev, seal_hash, seal_mac`;

/** A row as pg returns STORED_AUDIT_COLUMNS. */
export type StoredAuditRowText = Omit<StoredAuditRow, 'position'> & { position: string };

/** A row read with STORED_AUDIT_COLUMNS, position as a bigint. */
export function toStoredAuditRow(r: StoredAuditRowText): StoredAuditRow {
  return { ...r, position: BigInt(r.position) };
}

/**
 * Raw audit rows with their seals, not checked: the record at or before `afterPosition` (the
 * anchor the first row must chain to; absent when nothing precedes) and up to `limit` rows after
 * it, in position order. For readers that check seals themselves (PostgresAuditFeed, reconcilers).
 */
export async function readStoredAuditRows(db: Queryable, afterPosition: bigint, limit: number): Promise<{ anchor?: StoredAuditRow; rows: StoredAuditRow[] }> {
  const { rows } = await db.query<StoredAuditRowText>(
    `(SELECT ${STORED_AUDIT_COLUMNS} FROM audit_records WHERE "position" <= $1 ORDER BY audit_records."position" DESC LIMIT 1)
     UNION ALL
     (SELECT ${STORED_AUDIT_COLUMNS} FROM audit_records WHERE "position" > $1 ORDER BY audit_records."position" LIMIT $2)`,
    [afterPosition.toString(), limit],
  );
  const all = rows.map(toStoredAuditRow).sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  const first = all[0];
  if (first !== undefined && first.position <= afterPosition) return { anchor: first, rows: all.slice(1) };
  return { rows: all };
}
