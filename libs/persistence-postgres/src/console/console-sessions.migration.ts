import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The console's server side (docs/console.md): sessions (hash of the id, the person's token sealed
 * under a key derived from the id), `kms login` device authorizations (hash of the device code),
 * and step-up ceremonies, which bind a WebAuthn challenge to one approval decision.
 */
export class CreateConsoleSessions1796500000000 implements MigrationInterface {
  name = 'CreateConsoleSessions1796500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE console_sessions (
        session_hash  bytea PRIMARY KEY,
        identity_id   uuid        NOT NULL,
        credential_id text        NOT NULL,
        sealed_token  bytea       NOT NULL,
        created_at    timestamptz NOT NULL,
        expires_at    timestamptz NOT NULL,
        CHECK (expires_at <= created_at + interval '15 minutes')
      )`);
    await queryRunner.query('CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at)');
    await queryRunner.query(`
      CREATE TABLE device_authorizations (
        device_code_hash bytea PRIMARY KEY,
        user_code        text        NOT NULL UNIQUE,
        client_name      text        NOT NULL,
        requested_at     timestamptz NOT NULL,
        expires_at       timestamptz NOT NULL,
        status           text        NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'issued')),
        interval_seconds integer     NOT NULL,
        last_polled_at   timestamptz,
        decided_by       uuid,
        credential_id    text,
        decided_at       timestamptz
      )`);
    await queryRunner.query('CREATE INDEX device_authorizations_expiry_idx ON device_authorizations (expires_at)');
    await queryRunner.query('ALTER TABLE webauthn_ceremonies ADD COLUMN binding jsonb');
    await queryRunner.query('ALTER TABLE webauthn_ceremonies DROP CONSTRAINT webauthn_ceremonies_purpose_check');
    await queryRunner.query(`ALTER TABLE webauthn_ceremonies ADD CONSTRAINT webauthn_ceremonies_purpose_check CHECK (purpose IN ('registration', 'authentication', 'enrolment-session', 'step-up'))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("DELETE FROM webauthn_ceremonies WHERE purpose = 'step-up'");
    await queryRunner.query('ALTER TABLE webauthn_ceremonies DROP CONSTRAINT webauthn_ceremonies_purpose_check');
    await queryRunner.query(`ALTER TABLE webauthn_ceremonies ADD CONSTRAINT webauthn_ceremonies_purpose_check CHECK (purpose IN ('registration', 'authentication', 'enrolment-session'))`);
    await queryRunner.query('ALTER TABLE webauthn_ceremonies DROP COLUMN binding');
    await queryRunner.query('DROP TABLE device_authorizations');
    await queryRunner.query('DROP TABLE console_sessions');
  }
}

/** Migrations of the console's tables, in order; part of the key service's migrations. */
export const consoleMigrations = [CreateConsoleSessions1796500000000];
