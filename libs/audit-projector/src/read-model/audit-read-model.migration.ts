import type { MigrationInterface, QueryRunner } from 'typeorm';
import { CreateLedgerNodes1796720000002 } from '../ledger/ledger-nodes.migration';

/**
 * Read models of the audit projector, its checkpoints, and the append-only Merkle ledger.
 * Unqualified names: the migration runner sets search_path to the target schema. No column defaults
 * to now(): a rebuild must give identical rows.
 */
export class CreateAuditReadModels1795400000000 implements MigrationInterface {
  name = 'CreateAuditReadModels1795400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projection_checkpoints (
        name        text   PRIMARY KEY,
        "position"  bigint NOT NULL,
        leaf_count  bigint NOT NULL
      )`);
    await q.query(`INSERT INTO projection_checkpoints (name, "position", leaf_count) VALUES ('events', 0, 0), ('audit', 0, 0)`);
    await q.query(`
      CREATE TABLE rm_keys (
        key_id                 uuid        PRIMARY KEY,
        tenant                 text        NOT NULL,
        name                   text        NOT NULL,
        purpose                text        NOT NULL,
        algorithm              text        NOT NULL,
        protection_level       text        NOT NULL,
        owner                  text        NOT NULL,
        labels                 jsonb       NOT NULL,
        status                 text        NOT NULL,
        primary_version        integer     NOT NULL,
        min_decryption_version integer     NOT NULL,
        rotation_period_days   integer     NOT NULL,
        created_at             timestamptz NOT NULL,
        primary_since          timestamptz NOT NULL,
        next_rotation_at       timestamptz NOT NULL,
        record                 jsonb       NOT NULL,
        last_position          bigint      NOT NULL
      )`);
    await q.query(`CREATE INDEX rm_keys_purpose_idx ON rm_keys (purpose, status)`);
    await q.query(`CREATE INDEX rm_keys_next_rotation_idx ON rm_keys (next_rotation_at)`);
    await q.query(`
      CREATE TABLE rm_key_versions (
        key_id                 uuid        NOT NULL,
        version                integer     NOT NULL,
        algorithm              text        NOT NULL,
        protection_level       text        NOT NULL,
        state                  text        NOT NULL,
        created_at             timestamptz NOT NULL,
        destroy_at             timestamptz NULL,
        destroyed_at           timestamptz NULL,
        public_key_fingerprint text        NULL,
        origin                 jsonb       NULL,
        PRIMARY KEY (key_id, version)
      )`);
    await q.query(`
      CREATE TABLE rm_key_state_ledger (
        "position"     bigint      PRIMARY KEY,
        key_id         uuid        NOT NULL,
        version        integer     NULL,
        event_type     text        NOT NULL,
        from_state     text        NULL,
        to_state       text        NULL,
        occurred_at    timestamptz NOT NULL,
        actor          text        NOT NULL,
        approvers      text[]      NOT NULL,
        approval_id    text        NULL,
        change_ticket  text        NULL,
        reason         text        NULL,
        correlation_id text        NULL
      )`);
    await q.query(`CREATE INDEX rm_key_state_ledger_key_idx ON rm_key_state_ledger (key_id, "position")`);
    await q.query(`
      CREATE TABLE rm_approvals (
        approval_id   text        PRIMARY KEY,
        operation     text        NOT NULL,
        target_id     text        NOT NULL,
        requester     text        NOT NULL,
        change_ticket text        NOT NULL,
        reason        text        NULL,
        status        text        NOT NULL,
        approver      text        NULL,
        requested_at  timestamptz NOT NULL,
        expires_at    timestamptz NOT NULL,
        decided_at    timestamptz NULL,
        error_code    text        NULL,
        params        jsonb       NOT NULL,
        record        jsonb       NOT NULL,
        last_position bigint      NOT NULL
      )`);
    await q.query(`CREATE INDEX rm_approvals_target_idx ON rm_approvals (target_id)`);
    await q.query(`
      CREATE TABLE rm_audit_log (
        "position"     bigint      PRIMARY KEY,
        id             uuid        NOT NULL UNIQUE,
        "time"         timestamptz NOT NULL,
        actor          text        NOT NULL,
        role           text        NULL,
        operation      text        NOT NULL,
        key_id         uuid        NULL,
        key_version    integer     NULL,
        outcome        text        NOT NULL,
        error_code     text        NULL,
        request_id     text        NOT NULL,
        source_address text        NULL,
        details        jsonb       NULL,
        leaf_index     bigint      NOT NULL
      )`);
    await q.query(`CREATE INDEX rm_audit_log_time_idx ON rm_audit_log ("time", "position")`);
    await q.query(`CREATE INDEX rm_audit_log_key_idx ON rm_audit_log (key_id, "time")`);
    await q.query(`
      CREATE TABLE ledger_leaves (
        log            text        NOT NULL CHECK (log IN ('events', 'audit')),
        leaf_index     bigint      NOT NULL,
        source_position bigint     NOT NULL,
        record_id      text        NOT NULL,
        subject_key_id uuid        NULL,
        record_time    timestamptz NOT NULL,
        leaf_hash      bytea       NOT NULL,
        leaf_data      bytea       NOT NULL,
        PRIMARY KEY (log, leaf_index),
        UNIQUE (log, record_id)
      )`);
    await q.query(`CREATE INDEX ledger_leaves_subject_idx ON ledger_leaves (subject_key_id, log, leaf_index)`);
    // Append-only: the projector's role cannot rewrite history by accident; a DBA can, and the proofs then show it.
    await q.query(`
      CREATE FUNCTION ledger_leaves_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'ledger_leaves is append-only'; END $$`);
    await q.query(`CREATE TRIGGER ledger_leaves_append_only BEFORE UPDATE OR DELETE ON ledger_leaves FOR EACH ROW EXECUTE FUNCTION ledger_leaves_append_only()`);
    await q.query(`
      CREATE TABLE ledger_checkpoints (
        log        text        NOT NULL,
        tree_size  bigint      NOT NULL,
        root_hash  bytea       NOT NULL,
        signed_at  timestamptz NOT NULL,
        note       text        NOT NULL,
        PRIMARY KEY (log, tree_size)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['ledger_checkpoints', 'ledger_leaves', 'rm_audit_log', 'rm_approvals', 'rm_key_state_ledger', 'rm_key_versions', 'rm_keys', 'projection_checkpoints']) {
      await q.query(`DROP TABLE ${t}`);
    }
    await q.query('DROP FUNCTION ledger_leaves_append_only()');
  }
}

/**
 * The compliance API's audit page (ComplianceQueries.auditRecords) filters by key or actor and reads in
 * position order with a limit: an index per filter that leads with it and then the position lets
 * PostgreSQL walk the matching rows already in page order and stop at the page, however many rows
 * that key or actor has (bench/audit-volume.bench.ts). Time ranges keep ("time", "position").
 */
export class CreateAuditLogPageIndexes1796720000003 implements MigrationInterface {
  name = 'CreateAuditLogPageIndexes1796720000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX rm_audit_log_key_position_idx ON rm_audit_log (key_id, "position")');
    await q.query('CREATE INDEX rm_audit_log_actor_position_idx ON rm_audit_log (actor, "position")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX rm_audit_log_actor_position_idx');
    await q.query('DROP INDEX rm_audit_log_key_position_idx');
  }
}

/**
 * The compliance API's other reads of rm_audit_log by operation, at volume: the audit page filtered by
 * operation walks (operation, position) in page order, and the control KMS-BAK-02 (the newest
 * successful Backup and how many) is answered from that index alone (outcome and time follow in it;
 * key columns rather than INCLUDE, which the entities' schema check cannot express).
 * KMS-AC-01 (successful key uses by a compliance officer: none is the healthy answer) counts a
 * partial index holding only compliance officers' successful calls, instead of reading every key use.
 */
export class CreateAuditLogOperationIndexes1796750000001 implements MigrationInterface {
  name = 'CreateAuditLogOperationIndexes1796750000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX rm_audit_log_operation_position_idx ON rm_audit_log (operation, "position", outcome, "time")');
    await q.query(`CREATE INDEX rm_audit_log_compliance_use_idx ON rm_audit_log (operation) WHERE role LIKE '%compliance-officer%' AND outcome = 'SUCCESS'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX rm_audit_log_compliance_use_idx');
    await q.query('DROP INDEX rm_audit_log_operation_position_idx');
  }
}

/** Migrations of the audit projector, for runMigrations(). */
export const auditProjectorMigrations: Array<new () => MigrationInterface> = [CreateAuditReadModels1795400000000, CreateLedgerNodes1796720000002, CreateAuditLogPageIndexes1796720000003, CreateAuditLogOperationIndexes1796750000001];
