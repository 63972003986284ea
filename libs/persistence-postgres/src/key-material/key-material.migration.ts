import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wrapped software key material, one row per version. Not unique on (key_id, version): a lost
 * creation race leaves a second row until discardVersion removes it.
 */
export class CreateKeyMaterial1795359260616 implements MigrationInterface {
  name = 'CreateKeyMaterial1795359260616';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE key_material (
        material_id uuid PRIMARY KEY,
        key_id      uuid        NOT NULL,
        version     integer     NOT NULL CHECK (version > 0),
        algorithm   text        NOT NULL,
        kek_id      text        NOT NULL,
        wrapped     bytea       NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query('CREATE INDEX key_material_key_version_idx ON key_material (key_id, version)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE key_material');
  }
}

/** Migrations of the key_material table, in order; pass them to runMigrations. */
export const keyMaterialMigrations = [CreateKeyMaterial1795359260616];
