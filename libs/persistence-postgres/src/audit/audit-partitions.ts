import type { ClientBase, Pool } from 'pg';

type Queryable = Pick<ClientBase, 'query'> | Pick<Pool, 'query'>;

/** A monthly partition of audit_records: `audit_records_pYYYYMM`, holding times in [from, to). */
export interface AuditPartition {
  name: string;
  from: Date;
  to: Date;
}

/** The default partition: rows of a month that had no partition when they were written. */
export const DEFAULT_AUDIT_PARTITION = 'audit_records_default';

const MONTHLY = /^audit_records_p(\d{4})(\d{2})$/;

/** Months of partitions the migrate step and the maintenance command create ahead of the current one. */
export const AUDIT_PARTITION_MONTHS_AHEAD = 3;

/** The partition a name of kms_create_audit_partition stands for (undefined: not a monthly partition). */
export function auditPartitionOf(name: string): AuditPartition | undefined {
  const m = MONTHLY.exec(name);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  return { name, from: new Date(Date.UTC(year, month, 1)), to: new Date(Date.UTC(year, month + 1, 1)) };
}

/** Monthly partitions of audit_records, oldest first (the default partition is not listed). */
export async function listAuditPartitions(db: Queryable): Promise<AuditPartition[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_records'::regclass`,
  );
  return rows
    .map((r) => auditPartitionOf(r.name))
    .filter((p): p is AuditPartition => p !== undefined)
    .sort((a, b) => a.from.getTime() - b.from.getTime());
}

/** What ensureAuditPartitions did. */
export interface EnsuredAuditPartitions {
  /** Partitions of the months asked for, present now (created or already there). */
  present: string[];
  /** Months (YYYY-MM) left to the default partition because it already holds rows of them. */
  leftInDefault: string[];
}

/**
 * Make sure the month of `now` and the `monthsAhead` after it have their partition, so the default
 * partition only ever takes a record dated outside them (a clock far off). Needs the owner role
 * (CREATE TABLE); idempotent. Run by the migrate step and the audit maintenance command.
 */
export async function ensureAuditPartitions(db: Queryable, now: Date, monthsAhead = AUDIT_PARTITION_MONTHS_AHEAD): Promise<EnsuredAuditPartitions> {
  if (!Number.isInteger(monthsAhead) || monthsAhead < 0 || monthsAhead > 120) throw new RangeError('monthsAhead: must be a whole number from 0 to 120');
  const out: EnsuredAuditPartitions = { present: [], leftInDefault: [] };
  for (let i = 0; i <= monthsAhead; i++) {
    const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1));
    const { rows } = await db.query<{ name: string | null }>('SELECT kms_create_audit_partition($1) AS name', [month]);
    const name = rows[0]?.name ?? null;
    if (name === null) out.leftInDefault.push(month.toISOString().slice(0, 7));
    else out.present.push(name);
  }
  return out;
}
