import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * BYOK import parameters: the wrapping private key (wrapped under the master key) named by the import
 * token, valid 24 hours, spent by one import (used_at).
 */
export class CreateImportParameters1796414400000 implements MigrationInterface {
  name = 'CreateImportParameters1796414400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE import_parameters (
        token       uuid PRIMARY KEY,
        key_id      uuid        NOT NULL,
        kek_id      text        NOT NULL,
        wrapped     bytea       NOT NULL,
        created_at  timestamptz NOT NULL,
        expires_at  timestamptz NOT NULL CHECK (expires_at > created_at),
        used_at     timestamptz
      )`);
    await queryRunner.query('CREATE INDEX import_parameters_key_idx ON import_parameters (key_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE import_parameters');
  }
}

/** Migrations of the import_parameters table, in order; pass them to runMigrations. */
export const importParametersMigrations = [CreateImportParameters1796414400000];
