import type { MigrationInterface, QueryRunner } from 'typeorm';
import { refuseHistoryChanges } from '../pg/append-only.migration';

/**
 * Creates (idempotently) one monthly partition of audit_records, for the month holding `$1`, and
 * refuses TRUNCATE on it: statement triggers of the parent do not fire for a TRUNCATE of a partition
 * named directly, and row triggers (UPDATE, DELETE) are cloned by PostgreSQL itself. Returns the
 * partition's name, or NULL when the default partition already holds rows of that month (the month
 * then stays in the default partition: moving rows out would be a DELETE, which is refused).
 * Owned by the migration role; the services never create tables.
 */
const CREATE_PARTITION_FUNCTION = `
  CREATE OR REPLACE FUNCTION kms_create_audit_partition(month_of timestamptz) RETURNS text LANGUAGE plpgsql AS $$
  DECLARE
    lo timestamptz := date_trunc('month', month_of AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi timestamptz := (date_trunc('month', month_of AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    part text := 'audit_records_p' || to_char(month_of AT TIME ZONE 'UTC', 'YYYYMM');
  BEGIN
    -- Two maintenance runs at once would both try to create the month: the second waits, then finds it.
    PERFORM pg_advisory_xact_lock(7301954418);
    IF to_regclass(part) IS NOT NULL THEN RETURN part; END IF;
    IF EXISTS (SELECT 1 FROM audit_records_default WHERE "time" >= lo AND "time" < hi) THEN RETURN NULL; END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF audit_records FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION kms_refuse_history_change()', part || '_no_truncate', part);
    RETURN part;
  END $$`;

/**
 * audit_records becomes a table partitioned by month of "time" (docs/audit-and-evidence.md,
 * "Partitions and retention"), converted in place: the new parent copies the old table's columns
 * with LIKE (so a column another migration added before this one, such as batch items, comes along;
 * one added after is added to the parent and so to every partition), every row is copied at its
 * position with its seal, the position sequence moves to the new table, and the append-only
 * triggers are made on the parent (cloned by PostgreSQL to every partition, present and future) plus
 * a TRUNCATE trigger on each partition. A default partition takes any row whose month has no
 * partition yet, so no insert ever fails for lack of one; `ensureAuditPartitions` (run by the
 * migrate step and the audit maintenance command) creates the coming months ahead of time.
 *
 * Keys must hold the partition key: the primary key is ("position", "time") and ids are unique per
 * ("id", "time"). Positions stay unique without a global index because only the sequence hands
 * them out (lockAndSeal reserves them with nextval); ids are random UUIDs made by the writer, and a
 * duplicate could not pass silently anyway: the projector's rm_audit_log.id and ledger_leaves
 * (log, record_id) are unique, so its projection would stop on it. Readers by position keep an
 * index (the primary key leads with "position"), and so do readers by key and by time.
 */
export class PartitionAuditRecords1796720000000 implements MigrationInterface {
  name = 'PartitionAuditRecords1796720000000';

  async up(q: QueryRunner): Promise<void> {
    // The old table steps aside under another name; its index names are freed for the new table's.
    await q.query('ALTER TABLE audit_records RENAME TO audit_records_unpartitioned');
    await q.query('ALTER INDEX audit_records_pkey RENAME TO audit_records_unpartitioned_pkey');
    await q.query('ALTER INDEX audit_records_id_key RENAME TO audit_records_unpartitioned_id_key');
    await q.query('ALTER INDEX audit_records_key_id_time_idx RENAME TO audit_records_unpartitioned_key_id_time_idx');
    await q.query('ALTER INDEX audit_records_time_idx RENAME TO audit_records_unpartitioned_time_idx');
    await q.query(`
      CREATE TABLE audit_records (LIKE audit_records_unpartitioned INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)
      PARTITION BY RANGE ("time")`);
    await q.query('ALTER TABLE audit_records ADD CONSTRAINT audit_records_pkey PRIMARY KEY ("position", "time")');
    await q.query('ALTER TABLE audit_records ADD CONSTRAINT audit_records_id_time_key UNIQUE (id, "time")');
    await q.query('CREATE INDEX audit_records_key_id_time_idx ON audit_records (key_id, "time")');
    await q.query('CREATE INDEX audit_records_time_idx ON audit_records ("time")');
    // Readers find the retention drop that anchors the trail's start without a scan (retainedTrailAnchor).
    await q.query(`CREATE INDEX audit_records_dropped_idx ON audit_records ("position") WHERE operation = 'AuditPartitionDropped'`);
    await q.query('CREATE TABLE audit_records_default PARTITION OF audit_records DEFAULT');
    await refuseHistoryChanges(q, 'audit_records');
    await q.query('CREATE TRIGGER audit_records_default_no_truncate BEFORE TRUNCATE ON audit_records_default FOR EACH STATEMENT EXECUTE FUNCTION kms_refuse_history_change()');
    await q.query(CREATE_PARTITION_FUNCTION);
    // A partition for every month that already holds records, so the copy leaves the default partition empty.
    await q.query(`SELECT kms_create_audit_partition(m) FROM (SELECT DISTINCT date_trunc('month', "time" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM audit_records_unpartitioned) months`);
    await q.query('INSERT INTO audit_records SELECT * FROM audit_records_unpartitioned');
    // The sequence would go with the old table: detach it first, then give it to the new one.
    await q.query('ALTER SEQUENCE audit_records_position_seq OWNED BY NONE');
    await q.query('DROP TABLE audit_records_unpartitioned');
    await q.query('ALTER SEQUENCE audit_records_position_seq OWNED BY audit_records."position"');
  }

  /** Back to one plain table, every row kept (the column set is whatever the parent has now). */
  async down(q: QueryRunner): Promise<void> {
    await q.query('CREATE TABLE audit_records_plain (LIKE audit_records INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)');
    await q.query('INSERT INTO audit_records_plain SELECT * FROM audit_records');
    await q.query('ALTER SEQUENCE audit_records_position_seq OWNED BY NONE');
    await q.query('DROP TABLE audit_records');
    await q.query('DROP FUNCTION kms_create_audit_partition(timestamptz)');
    await q.query('ALTER TABLE audit_records_plain RENAME TO audit_records');
    await q.query('ALTER TABLE audit_records ADD CONSTRAINT audit_records_pkey PRIMARY KEY ("position")');
    await q.query('ALTER TABLE audit_records ADD CONSTRAINT audit_records_id_key UNIQUE (id)');
    await q.query('CREATE INDEX audit_records_key_id_time_idx ON audit_records (key_id, "time")');
    await q.query('CREATE INDEX audit_records_time_idx ON audit_records ("time")');
    await q.query('ALTER SEQUENCE audit_records_position_seq OWNED BY audit_records."position"');
    await refuseHistoryChanges(q, 'audit_records');
  }
}

/**
 * What the retention of audit partitions relies on (audit-retention.ts): `audit_archives`, one row
 * per archive of the audit trail written by `archiveAuditTrail` (every sealed row up to
 * `through_position` and the signed ledger checkpoint covering them, in a file whose SHA-256 is
 * kept). Append-only like the trail itself.
 */
export class CreateAuditArchives1796720000001 implements MigrationInterface {
  name = 'CreateAuditArchives1796720000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_archives (
        through_position  bigint      PRIMARY KEY CONSTRAINT audit_archives_position_check CHECK (through_position > 0),
        anchor_seal_hash  text        NOT NULL,
        checkpoint_size   bigint      NOT NULL,
        checkpoint_note   text        NOT NULL,
        location          text        NOT NULL,
        sha256            text        NOT NULL CONSTRAINT audit_archives_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        archived_at       timestamptz NOT NULL
      )`);
    await refuseHistoryChanges(q, 'audit_archives');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE audit_archives');
  }
}
