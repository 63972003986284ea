import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event log. `global_position` is the order subscriptions read by; `(stream_id, stream_version)`
 * is unique so a lost race on a stream can never write two events at one version.
 * Unqualified names: the migration runner sets search_path to the target schema.
 */
export class CreateEventsTable1795359027816 implements MigrationInterface {
  name = 'CreateEventsTable1795359027816';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE events (
        global_position bigserial   PRIMARY KEY,
        event_id        uuid        NOT NULL CONSTRAINT events_event_id_key UNIQUE,
        stream_id       text        NOT NULL,
        stream_version  integer     NOT NULL,
        type            text        NOT NULL,
        data            jsonb       NOT NULL,
        metadata        jsonb       NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT events_stream_id_stream_version_key UNIQUE (stream_id, stream_version)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE events');
  }
}

/** Migrations of the PostgreSQL event store, for runMigrations(). */
export const eventStoreMigrations: Array<new () => MigrationInterface> = [CreateEventsTable1795359027816];
