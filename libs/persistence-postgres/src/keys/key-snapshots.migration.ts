import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The key read model the key service lists keys from (KeySnapshotStore): one row per key with its
 * folded state (no key material: key state holds references to it only) and the columns listings
 * filter and sort on, plus the event store position the rows are folded through. It lives in the key
 * service's PostgreSQL whichever event store holds the events.
 */
export class CreateKeySnapshots1796730000000 implements MigrationInterface {
  name = 'CreateKeySnapshots1796730000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE key_snapshots (
        key_id     text COLLATE "C" PRIMARY KEY,
        tenant     text        NOT NULL,
        purpose    text        NOT NULL,
        labels     jsonb       NOT NULL,
        created_at timestamptz NOT NULL,
        version    integer     NOT NULL CHECK (version >= 0),
        state      jsonb       NOT NULL
      )`);
    // Listings are ordered by creation then id, usually within a tenant.
    await queryRunner.query('CREATE INDEX key_snapshots_created_idx ON key_snapshots (created_at, key_id)');
    await queryRunner.query('CREATE INDEX key_snapshots_tenant_created_idx ON key_snapshots (tenant, created_at, key_id)');
    await queryRunner.query('CREATE INDEX key_snapshots_labels_idx ON key_snapshots USING gin (labels jsonb_path_ops)');
    await queryRunner.query(`
      CREATE TABLE key_snapshot_checkpoint (
        id       boolean PRIMARY KEY DEFAULT true CHECK (id),
        position bigint  NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE key_snapshot_checkpoint');
    await queryRunner.query('DROP TABLE key_snapshots');
  }
}

/**
 * Where a first build of the key read model stands (KeySnapshotBuildProgress): one row while a build
 * is under way, written with each page's rows and deleted with the checkpoint, so a build cut short
 * resumes instead of starting over.
 */
export class CreateKeySnapshotBuild1796770000000 implements MigrationInterface {
  name = 'CreateKeySnapshotBuild1796770000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE key_snapshot_build (
        id              boolean PRIMARY KEY DEFAULT true CHECK (id),
        through         bigint  NOT NULL CHECK (through >= 0),
        after_stream_id text COLLATE "C" NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE key_snapshot_build');
  }
}

/** Migrations of the key read model, in order; part of the key service's migrations. */
export const keySnapshotMigrations = [CreateKeySnapshots1796730000000, CreateKeySnapshotBuild1796770000000];
