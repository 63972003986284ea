import { Logger } from '@nestjs/common';
import { Client, type ClientBase } from 'pg';
import { BOOTSTRAP_LOCKS, withSessionLock } from './session-lock';

/** A table privilege the service role may hold. TRUNCATE, REFERENCES and TRIGGER are never granted. */
export type ServiceTablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

/**
 * What the services' role may do on each KMS table, read from what the services actually run.
 * History (`events`, `audit_records`) and the audit projector's ledger are append-only: SELECT and
 * INSERT, so an edit or a deletion needs the owner role (and still meets the triggers). Key
 * material keeps DELETE because crypto-shredding deletes the wrapped key.
 */
export const SERVICE_ROLE_PRIVILEGES: Readonly<Record<string, readonly ServiceTablePrivilege[]>> = {
  // Event store and audit log: append-only history.
  events: ['SELECT', 'INSERT'],
  audit_records: ['SELECT', 'INSERT'],
  // Crypto-shredding deletes the wrapped material of a destroyed version.
  key_material: ['SELECT', 'INSERT', 'DELETE'],
  // BYOK import parameters: used_at is set when an import spends the token.
  import_parameters: ['SELECT', 'INSERT', 'UPDATE'],
  // Break-glass escrow: a wrapped ceremony key is deleted when its reconstruction completes or expires.
  escrow_ceremony_keys: ['SELECT', 'INSERT', 'DELETE'],
  // Key read model: rows upserted by stream version, the checkpoint moved forward; never deleted.
  key_snapshots: ['SELECT', 'INSERT', 'UPDATE'],
  key_snapshot_checkpoint: ['SELECT', 'INSERT', 'UPDATE'],
  // A first build's progress: written with each page, deleted when the build completes.
  key_snapshot_build: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  // Upserted per ciphertext reference, deleted when released.
  tracked_ciphertexts: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  // Intents are deleted once completed; idempotency entries are purged when old.
  audit_intents: ['SELECT', 'INSERT', 'DELETE'],
  idempotency_records: ['SELECT', 'INSERT', 'DELETE'],
  // Notice outbox: published_at is set after the broker acknowledged; relay checkpoints move on.
  kms_notices: ['SELECT', 'INSERT', 'UPDATE'],
  kms_notice_checkpoints: ['SELECT', 'INSERT', 'UPDATE'],
  // Audit projector: checkpoints (locked FOR UPDATE), upserted read models, append-only ledger.
  projection_checkpoints: ['SELECT', 'INSERT', 'UPDATE'],
  rm_keys: ['SELECT', 'INSERT', 'UPDATE'],
  rm_key_versions: ['SELECT', 'INSERT', 'UPDATE'],
  rm_approvals: ['SELECT', 'INSERT', 'UPDATE'],
  rm_audit_log: ['SELECT', 'INSERT'],
  rm_key_state_ledger: ['SELECT', 'INSERT'],
  ledger_leaves: ['SELECT', 'INSERT'],
  ledger_checkpoints: ['SELECT', 'INSERT'],
  ledger_nodes: ['SELECT', 'INSERT'],
  // Written by the audit maintenance step (owner); read by anyone checking what was archived.
  audit_archives: ['SELECT'],
  // Followers' checkpoints and the detector's baselines: upserted.
  rotation_scheduler_checkpoints: ['SELECT', 'INSERT', 'UPDATE'],
  anomaly_detector_checkpoints: ['SELECT', 'INSERT', 'UPDATE'],
  anomaly_detector_subjects: ['SELECT', 'INSERT', 'UPDATE'],
  // People's second factors: links replaced and marked used, ceremonies taken (deleted), counters and
  // TOTP steps advanced, credentials removed, old failures pruned.
  enrolment_links: ['SELECT', 'INSERT', 'UPDATE'],
  webauthn_ceremonies: ['SELECT', 'INSERT', 'DELETE'],
  webauthn_credentials: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  // DELETE: a person's lost authenticator app is removed with their factors (replace_factors).
  totp_factors: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  totp_failures: ['SELECT', 'INSERT', 'DELETE'],
  // The console: sessions created, and deleted at sign-out or expiry (never edited); device
  // authorizations decided, polled and issued (conditional updates), pruned a day after expiry.
  console_sessions: ['SELECT', 'INSERT', 'DELETE'],
  device_authorizations: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  // The migration runner's bookkeeping: read at start, so a service can check the migrate step ran.
  kms_migrations: ['SELECT'],
  // Compliance notifications: the relay's checkpoint moves on (deliveries themselves are events).
  kms_notification_checkpoints: ['SELECT', 'INSERT', 'UPDATE'],
};

/** A table no entry names (added by a later migration): plain DML, never TRUNCATE. */
const UNLISTED_TABLE_PRIVILEGES: readonly ServiceTablePrivilege[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];

/** Serialises concurrent grant runs (two migrate steps, or services migrating at the same start in one-role mode, would otherwise collide on the catalog). */
const GRANT_LOCK_KEY = 7_313_370_013;

const logger = new Logger('kms-migrations');

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** What grantServiceRole did: the tables granted, or why it did nothing. */
export type ServiceRoleGrant = { granted: string[] } | { skipped: string };

/**
 * Give `role` exactly SERVICE_ROLE_PRIVILEGES on every table of `schema` (revoking anything else;
 * partitions get nothing, their parent's rights cover them),
 * USAGE on the schema and USAGE/SELECT on its sequences. Run by the owner after every migration
 * run, so a table a later migration adds is covered too; idempotent. Skipped (and logged) when the
 * role does not exist, is the connected user itself or is a superuser, so a single-user deployment
 * keeps working as before.
 */
export async function grantServiceRole(client: ClientBase, schema: string, role: string): Promise<ServiceRoleGrant> {
  const { rows } = await client.query<{ me: string; super: boolean | null }>(
    'SELECT current_user AS me, (SELECT rolsuper FROM pg_roles WHERE rolname = $1) AS super',
    [role],
  );
  const { me, super: isSuper } = rows[0];
  let skipped: string | undefined;
  if (isSuper === null) skipped = `service role "${role}" does not exist; the services keep the rights of the role they connect as (see docs/audit-and-evidence.md)`;
  else if (role === me) skipped = `service role "${role}" is the migration role itself; no separate rights to grant`;
  else if (isSuper) skipped = `service role "${role}" is a superuser; grants would not restrict it`;
  if (skipped) {
    logger.warn(`append-only storage not enforced by roles: ${skipped}`);
    return { skipped };
  }

  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [GRANT_LOCK_KEY]);
    const tables = await client.query<{ name: string; partition: boolean }>(
      `SELECT c.relname AS name, c.relispartition AS partition FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`,
      [schema],
    );
    const s = ident(schema);
    const r = ident(role);
    await client.query(`GRANT USAGE ON SCHEMA ${s} TO ${r}`);
    const granted: string[] = [];
    for (const { name, partition } of tables.rows) {
      const table = `${s}.${ident(name)}`;
      await client.query(`REVOKE ALL ON TABLE ${table} FROM ${r}`);
      // A partition (of audit_records) is reached through its parent, whose rights alone are checked
      // then: none of its own, so nothing is ever done to it directly.
      if (partition) continue;
      const privileges = SERVICE_ROLE_PRIVILEGES[name] ?? UNLISTED_TABLE_PRIVILEGES;
      await client.query(`GRANT ${privileges.join(', ')} ON TABLE ${table} TO ${r}`);
      granted.push(name);
    }
    // nextval for the bigserial positions; UPDATE (setval) stays with the owner.
    await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${r}`);
    await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`);
    await client.query('COMMIT');
    return { granted };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/**
 * Create `role` with LOGIN if it does not exist (standalone first start on a local trust-auth
 * PostgreSQL). `client` must be connected as a role allowed to CREATE ROLE. Returns whether it was created.
 */
export async function ensureLoginRole(client: ClientBase, role: string): Promise<boolean> {
  // Under a lock: a concurrent CREATE ROLE fails with unique_violation, not duplicate_object.
  return withSessionLock(client, BOOTSTRAP_LOCKS.createRole, async () => {
    const found = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (found.rowCount !== 0) return false;
    await client.query(`CREATE ROLE ${ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT`);
    return true;
  });
}

/**
 * Standalone first start: when the services connect as `target.serviceRole` and migrations run as
 * another (superuser) role, create the service role with LOGIN through the migration URL. Local
 * PostgreSQL trusts 127.0.0.1, so no password. Returns whether the role was created.
 */
export async function ensureStandaloneServiceRole(target: { url: string; migrationUrl?: string; serviceRole?: string }): Promise<boolean> {
  const role = target.serviceRole;
  if (!role || !target.migrationUrl || target.migrationUrl === target.url) return false;
  if (decodeURIComponent(new URL(target.url).username) !== role) return false;
  // Roles are cluster-wide: the maintenance database works before the KMS database exists.
  const admin = new URL(target.migrationUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    return await ensureLoginRole(client, role);
  } finally {
    await client.end();
  }
}
