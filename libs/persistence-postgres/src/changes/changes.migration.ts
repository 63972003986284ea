import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * First outcomes of calls made with a client request id (x-request-id), so a retry gets the same
 * answer instead of acting twice. Written in the transaction of the change they describe; kept at
 * least 24 hours (pruned after IDEMPOTENCY_RETENTION_HOURS). Never holds a secret: answers that
 * carried one are recorded as `secret` only.
 *
 * Audit intents: audit records made durable before a change is appended to an event store that
 * cannot share this database's transactions (EventStoreDB), completed once the outcome is known.
 */
export class CreateChangeTables1796000000000 implements MigrationInterface {
  name = 'CreateChangeTables1796000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE idempotency_records (
        actor            text        NOT NULL,
        request_id       text        NOT NULL,
        operation        text        NOT NULL,
        request_hash     text        NOT NULL,
        outcome          jsonb       NOT NULL,
        audit_record_id  uuid        NOT NULL,
        created_at       timestamptz NOT NULL,
        CONSTRAINT idempotency_records_pkey PRIMARY KEY (actor, request_id)
      )`);
    await queryRunner.query('CREATE INDEX idempotency_records_created_at_idx ON idempotency_records (created_at)');
    await queryRunner.query(`
      CREATE TABLE audit_intents (
        id          uuid        PRIMARY KEY,
        record      jsonb       NOT NULL,
        idempotency jsonb       NULL,
        streams     text[]      NOT NULL,
        created_at  timestamptz NOT NULL
      )`);
    await queryRunner.query('CREATE INDEX audit_intents_created_at_idx ON audit_intents (created_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE audit_intents');
    await queryRunner.query('DROP TABLE idempotency_records');
  }
}

/** Migrations of the change tables, for runMigrations(). */
export const changeMigrations: Array<new () => MigrationInterface> = [CreateChangeTables1796000000000];
