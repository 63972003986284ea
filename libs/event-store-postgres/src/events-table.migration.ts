import type { MigrationInterface, QueryRunner } from 'typeorm';
import { allowHistoryChanges, refuseHistoryChanges } from '@kms/persistence-postgres';

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


/**
 * History is append-only: UPDATE, DELETE and TRUNCATE of `events` are refused by triggers (a second
 * line behind the database roles; see docs/audit-and-evidence.md). Key material, which must be
 * destroyable, lives in its own table.
 */
export class AppendOnlyEvents1796100000000 implements MigrationInterface {
  name = 'AppendOnlyEvents1796100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await refuseHistoryChanges(queryRunner, 'events');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await allowHistoryChanges(queryRunner, 'events');
  }
}

/**
 * Subscriptions to streams by prefix (subscribeToAll's `streamPrefixes`) read through this index:
 * stream ids in the "C" collation (byte order, whatever the database's collation, so a prefix is one
 * range of it), then positions. A service's start then reads its identities and approvals, not the
 * whole history. Built in the migration's transaction: appends wait for it (about 1.5 s a million events).
 */
export class IndexEventsByStreamPrefix1796740000000 implements MigrationInterface {
  name = 'IndexEventsByStreamPrefix1796740000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX events_stream_prefix_position ON events ((stream_id COLLATE "C"), global_position)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX events_stream_prefix_position');
  }
}

/** Migrations of the PostgreSQL event store, for runMigrations(). */
export const eventStoreMigrations: Array<new () => MigrationInterface> = [CreateEventsTable1795359027816, AppendOnlyEvents1796100000000, IndexEventsByStreamPrefix1796740000000];
