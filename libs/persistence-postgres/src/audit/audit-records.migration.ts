import type { MigrationInterface, QueryRunner } from 'typeorm';

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

/** Migrations of the audit log, for runMigrations(). */
export const auditMigrations: Array<new () => MigrationInterface> = [CreateAuditRecords1795358922293];
