import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Break-glass escrow: the X25519 private key of each open reconstruction, wrapped under the master
 * key (never in clear), until the reconstruction completes or expires (then the row is deleted).
 */
export class CreateEscrowCeremonyKeys1796600000000 implements MigrationInterface {
  name = 'CreateEscrowCeremonyKeys1796600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE escrow_ceremony_keys (
        reconstruction_id uuid PRIMARY KEY,
        key_id            text        NOT NULL,
        version           integer     NOT NULL CHECK (version > 0),
        kek_id            text        NOT NULL,
        wrapped           bytea       NOT NULL,
        created_at        timestamptz NOT NULL,
        expires_at        timestamptz NOT NULL CHECK (expires_at > created_at)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE escrow_ceremony_keys');
  }
}

/** Migrations of the escrow_ceremony_keys table, in order; pass them to runMigrations. */
export const escrowCeremonyKeyMigrations = [CreateEscrowCeremonyKeys1796600000000];
