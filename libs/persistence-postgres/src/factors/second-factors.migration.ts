import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * People's second factors (docs/console.md): one-time enrolment links (hash only), single-use
 * WebAuthn ceremonies, WebAuthn credentials, TOTP secrets (wrapped) with the last accepted step,
 * and TOTP failures for the rate limit.
 */
export class CreateSecondFactors1796400000000 implements MigrationInterface {
  name = 'CreateSecondFactors1796400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE enrolment_links (
        identity_id uuid PRIMARY KEY,
        link_id     uuid        NOT NULL UNIQUE,
        secret_hash bytea       NOT NULL,
        expires_at  timestamptz NOT NULL,
        used_at     timestamptz
      )`);
    await queryRunner.query(`
      CREATE TABLE webauthn_ceremonies (
        ceremony_id uuid PRIMARY KEY,
        identity_id uuid        NOT NULL,
        purpose     text        NOT NULL CHECK (purpose IN ('registration', 'authentication', 'enrolment-session')),
        challenge   text        NOT NULL,
        granted_by  text,
        expires_at  timestamptz NOT NULL
      )`);
    await queryRunner.query('CREATE INDEX webauthn_ceremonies_expiry_idx ON webauthn_ceremonies (expires_at)');
    await queryRunner.query(`
      CREATE TABLE webauthn_credentials (
        credential_id text PRIMARY KEY,
        identity_id   uuid        NOT NULL,
        public_key    bytea       NOT NULL,
        sign_count    bigint      NOT NULL CHECK (sign_count >= 0),
        transports    text[]      NOT NULL DEFAULT '{}',
        created_at    timestamptz NOT NULL,
        last_used_at  timestamptz
      )`);
    await queryRunner.query('CREATE INDEX webauthn_credentials_identity_idx ON webauthn_credentials (identity_id)');
    await queryRunner.query(`
      CREATE TABLE totp_factors (
        identity_id    uuid PRIMARY KEY,
        wrapped_secret bytea   NOT NULL,
        confirmed      boolean NOT NULL DEFAULT false,
        last_step      bigint
      )`);
    await queryRunner.query(`
      CREATE TABLE totp_failures (
        identity_id uuid        NOT NULL,
        failed_at   timestamptz NOT NULL
      )`);
    await queryRunner.query('CREATE INDEX totp_failures_identity_idx ON totp_failures (identity_id, failed_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const t of ['totp_failures', 'totp_factors', 'webauthn_credentials', 'webauthn_ceremonies', 'enrolment_links']) await queryRunner.query(`DROP TABLE ${t}`);
  }
}

/** Migrations of the second-factor tables, in order; part of the key service's migrations. */
export const secondFactorMigrations = [CreateSecondFactors1796400000000];
