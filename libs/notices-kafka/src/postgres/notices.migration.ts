import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recorded notices (one per store event that makes one, keyed by its global position) and the
 * relay checkpoints. `published_at` stays NULL in standalone mode or until the broker acknowledged.
 */
export class CreateNotices1795362600000 implements MigrationInterface {
  name = 'CreateNotices1795362600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE kms_notices (
        position     bigint      PRIMARY KEY,
        notice_id    text        NOT NULL UNIQUE,
        type         text        NOT NULL,
        subject      text        NOT NULL,
        tenant       text,
        urgent       boolean     NOT NULL,
        cloud_event  jsonb       NOT NULL,
        recorded_at  timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await queryRunner.query('CREATE INDEX kms_notices_unpublished_idx ON kms_notices (position) WHERE published_at IS NULL');
    await queryRunner.query(`
      CREATE TABLE kms_notice_checkpoints (
        relay      text        PRIMARY KEY,
        position   bigint      NOT NULL CHECK (position >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE kms_notice_checkpoints');
    await queryRunner.query('DROP TABLE kms_notices');
  }
}

/** Migrations of the notice tables, in order; pass them to runMigrations. */
export const noticeMigrations = [CreateNotices1795362600000];
