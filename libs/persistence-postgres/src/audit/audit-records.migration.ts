import type { MigrationInterface, QueryRunner } from 'typeorm';
import { allowHistoryChanges, refuseHistoryChanges } from '../pg/append-only.migration';
import { AUDIT_APPEND_LOCK_KEY } from './audit-chain';
import { CreateAuditArchives1796720000001, PartitionAuditRecords1796720000000 } from './audit-partitions.migration';

/**
 * The audit trail. `position` is the global order consumers read by; rows are only ever inserted.
 * Unqualified names: the migration runner sets search_path to the target schema.
 */
export class CreateAuditRecords1795358922293 implements MigrationInterface {
  name = 'CreateAuditRecords1795358922293';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_records (
        "position"       bigserial   PRIMARY KEY,
        id               uuid        NOT NULL CONSTRAINT audit_records_id_key UNIQUE,
        "time"           timestamptz NOT NULL,
        request_id       text        NOT NULL,
        operation        text        NOT NULL,
        key_id           uuid        NULL,
        key_version      integer     NULL,
        actor            text        NOT NULL,
        actor_role       text        NULL,
        outcome          text        NOT NULL CONSTRAINT audit_records_outcome_check CHECK (outcome IN ('SUCCESS', 'FAILURE', 'DENIED')),
        error_code       text        NULL,
        source_address   text        NULL,
        details          jsonb       NULL,
        recorded_at      timestamptz NOT NULL DEFAULT now()
      )`);
    // "Who used key K, when" and time-range scans.
    await queryRunner.query(`CREATE INDEX audit_records_key_id_time_idx ON audit_records (key_id, "time")`);
    await queryRunner.query(`CREATE INDEX audit_records_time_idx ON audit_records ("time")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE audit_records');
  }
}

/**
 * Ciphertexts handed out under DATA_PROTECTION keys and not yet re-encrypted away, by reference (a
 * truncated SHA-256 of the ciphertext, never contents). Written in the same transaction as the audit
 * records that carry the references, so it can always be rebuilt from audit_records.
 */
export class CreateTrackedCiphertexts1795900000000 implements MigrationInterface {
  name = 'CreateTrackedCiphertexts1795900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE tracked_ciphertexts (
        ref          text    PRIMARY KEY CONSTRAINT tracked_ciphertexts_ref_check CHECK (ref ~ '^[0-9a-f]{32}$'),
        key_id       uuid    NOT NULL,
        key_version  integer NOT NULL CONSTRAINT tracked_ciphertexts_version_check CHECK (key_version > 0)
      )`);
    await queryRunner.query('CREATE INDEX tracked_ciphertexts_key_idx ON tracked_ciphertexts (key_id, key_version)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE tracked_ciphertexts');
  }
}

/** The audit trail is append-only: UPDATE, DELETE and TRUNCATE of `audit_records` are refused by triggers. */
export class AppendOnlyAuditRecords1796100000001 implements MigrationInterface {
  name = 'AppendOnlyAuditRecords1796100000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await refuseHistoryChanges(queryRunner, 'audit_records');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await allowHistoryChanges(queryRunner, 'audit_records');
  }
}

/**
 * Every audit record is sealed by its writer (AuditSealer, audit-seal.ts): its place in one hash chain
 * over the whole trail and a MAC under a key the database never sees. Null for rows written before
 * sealing until the upgrade seals them (sealExistingAuditRecords); readers refuse an unsealed row.
 */
export class SealAuditRecords1796300000000 implements MigrationInterface {
  name = 'SealAuditRecords1796300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE audit_records ADD COLUMN seal_prev text NULL, ADD COLUMN seal_hash text NULL, ADD COLUMN seal_mac text NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE audit_records DROP COLUMN seal_mac, DROP COLUMN seal_hash, DROP COLUMN seal_prev');
  }
}

/**
 * A batch call is one audit record: `items` holds every item's id, outcome, error, key, version and
 * ciphertext references (StoredAuditItem[], null for any other record), covered by the row's seal.
 * Only a column is added (readers of older rows see null; their seals are unchanged).
 */
export class AddAuditRecordItems1796710000000 implements MigrationInterface {
  name = 'AddAuditRecordItems1796710000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE audit_records ADD COLUMN items jsonb NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE audit_records DROP COLUMN items');
  }
}

/**
 * A batch call over several keys stores no key_id (its items name theirs): an index of those rows'
 * items, so a read of one key's uses (PostgresAuditFeed.readKeyUses) finds them by containment
 * instead of filtering every mixed-key batch row in its time range. Partial: rows of one key (single
 * calls, and batches over one key, nearly all of them) are found by key_id and add nothing to it.
 * Made on the partitioned parent, so every partition has it, present and future.
 */
export class IndexMixedKeyBatchItems1796750000000 implements MigrationInterface {
  name = 'IndexMixedKeyBatchItems1796750000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX audit_records_mixed_key_items_idx ON audit_records USING gin (items jsonb_path_ops) WHERE key_id IS NULL AND items IS NOT NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX audit_records_mixed_key_items_idx');
  }
}

/**
 * One statement, one round trip, for a writer that knows the chain's head (PostgresAuditLog after its
 * first flush): under the audit append lock, check that the chain still ends where the writer last
 * left it (the position sequence not moved since, which every writer moves under the same lock, and
 * the writer's last record still there with its seal hash, found by its position and time, so one
 * partition is read however many months the trail holds), reserve the positions the rows were sealed
 * at, insert them and apply their ciphertext tracking. synchronous_commit is forced on for the transaction (the statement's own,
 * committed when it returns) and returned, so the writer can refuse a commit that did not wait for the
 * WAL flush. Anything else about the chain raises SQLSTATE KM001 and changes nothing: the writer then
 * seals again after the head it reads under the lock (lockAndSeal). SECURITY INVOKER: the caller's
 * own rights on audit_records, tracked_ciphertexts and the sequence apply.
 */
export class CreateAppendSealedAuditFunction1796760000000 implements MigrationInterface {
  name = 'CreateAppendSealedAuditFunction1796760000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION kms_append_sealed_audit(
        expected_prev text, expected_prev_time timestamptz, first_position bigint, last_position bigint, sealed json,
        released text[], tracked_refs text[], tracked_keys uuid[], tracked_versions integer[]
      ) RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        head text;
        reserved bigint;
        inserted bigint;
      BEGIN
        PERFORM set_config('synchronous_commit', 'on', true);
        PERFORM pg_advisory_xact_lock(${AUDIT_APPEND_LOCK_KEY});
        -- Read after the lock (statements of their own, so with a snapshot taken after it). The record
        -- before first_position is the writer's own last one: its time prunes every other partition.
        SELECT seal_hash INTO head FROM audit_records WHERE "position" = first_position - 1 AND "time" = expected_prev_time;
        IF head IS NULL OR head IS DISTINCT FROM expected_prev
           OR pg_sequence_last_value('audit_records_position_seq') IS DISTINCT FROM first_position - 1 THEN
          RAISE EXCEPTION 'the audit chain moved since this writer last appended to it' USING ERRCODE = 'KM001';
        END IF;
        SELECT max(n) INTO reserved FROM (SELECT nextval('audit_records_position_seq') AS n FROM generate_series(first_position, last_position)) r;
        IF reserved IS DISTINCT FROM last_position THEN
          RAISE EXCEPTION 'audit positions % to % were not reserved in one run (got up to %)', first_position, last_position, reserved;
        END IF;
        INSERT INTO audit_records ("position", id, "time", request_id, operation, key_id, key_version, actor, actor_role, outcome,
                                   error_code, source_address, details, items, seal_prev, seal_hash, seal_mac)
          SELECT r."position", r.id, r."time", r.request_id, r.operation, r.key_id, r.key_version, r.actor, r.actor_role, r.outcome,
                 r.error_code, r.source_address, r.details, r.items, r.seal_prev, r.seal_hash, r.seal_mac
          FROM json_populate_recordset(NULL::audit_records, sealed) r;
        GET DIAGNOSTICS inserted = ROW_COUNT;
        IF inserted <> json_array_length(sealed) THEN
          RAISE EXCEPTION 'inserted % of % audit rows', inserted, json_array_length(sealed);
        END IF;
        IF released IS NOT NULL THEN
          DELETE FROM tracked_ciphertexts WHERE ref = ANY (released);
        END IF;
        IF tracked_refs IS NOT NULL THEN
          INSERT INTO tracked_ciphertexts (ref, key_id, key_version)
            SELECT * FROM unnest(tracked_refs, tracked_keys, tracked_versions)
            ON CONFLICT (ref) DO UPDATE SET key_id = EXCLUDED.key_id, key_version = EXCLUDED.key_version;
        END IF;
        RETURN current_setting('synchronous_commit');
      END
      $fn$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP FUNCTION kms_append_sealed_audit(text, timestamptz, bigint, bigint, json, text[], text[], uuid[], integer[])');
  }
}

/** Migrations of the audit log, for runMigrations(). */
export const auditMigrations: Array<new () => MigrationInterface> = [
  CreateAuditRecords1795358922293,
  CreateTrackedCiphertexts1795900000000,
  AppendOnlyAuditRecords1796100000001,
  SealAuditRecords1796300000000,
  AddAuditRecordItems1796710000000,
  PartitionAuditRecords1796720000000,
  CreateAuditArchives1796720000001,
  IndexMixedKeyBatchItems1796750000000,
  CreateAppendSealedAuditFunction1796760000000,
];
