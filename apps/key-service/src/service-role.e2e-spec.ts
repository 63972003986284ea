import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { KmsMessage, KmsMethod } from '@kms/contracts';
import { testDatabaseUrl, uniqueTestRole } from '@kms/persistence-postgres';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const DAY = 24 * 60 * 60 * 1000;
// Roles are cluster-wide: a name of this file's own, dropped after.
const { role, url: serviceUrl } = uniqueTestRole('kms_svc_e2e');
const ownerUrl = testDatabaseUrl();

describe('key service connected as the service role (append-only storage)', () => {
  let owner: Client;
  let kms: KeyServiceUnderTest;
  let app: Actor;

  beforeAll(async () => {
    owner = new Client({ connectionString: ownerUrl });
    await owner.connect();
    await owner.query(`CREATE ROLE "${role}" LOGIN NOSUPERUSER NOINHERIT`);
    // Migrations (and the grants) as the owner; every pool of the service as the role.
    kms = await startKeyServiceUnderTest('e2e_service_role', { KMS_DATABASE_URL: serviceUrl, KMS_MIGRATION_DATABASE_URL: ownerUrl, KMS_DATABASE_SERVICE_ROLE: role });
    app = await kms.register('orders-service', 'WORKLOAD');
  });

  afterAll(async () => {
    await kms?.stop();
    await owner.query(`DROP OWNED BY "${role}"`);
    await owner.query(`DROP ROLE IF EXISTS "${role}"`);
    await owner.end();
  });

  it('creates a key, encrypts, decrypts and crypto-shreds a version, every row written as the role', async () => {
    const call = <T extends KmsMessage>(method: KmsMethod, req: KmsMessage) => app.call<T>(method, req);
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', {
      tenant: 'acme',
      name: 'orders',
      purpose: 'DATA_PROTECTION',
      algorithm: 'AES_256_GCM',
      owner: 'team-orders',
      context: { reason: 'service role e2e', change_ticket: 'CHG-13' },
      policy: { grants: { [app.identityId]: { permissions: ['ENCRYPT', 'DECRYPT', 'ADMINISTER'] } } },
    });
    const plaintext = Buffer.from('order 42');
    const aad = Buffer.from('tenant=acme');
    const enc = await call<{ ciphertext: Buffer }>('Encrypt', { key_id: key.key_id, plaintext, aad });
    const dec = await call<{ plaintext: Buffer }>('Decrypt', { ciphertext: enc.ciphertext, aad });
    expect(dec.plaintext.equals(plaintext)).toBe(true);

    // Crypto-shredding: the role may DELETE key material (and nothing in history).
    await call('RotateKey', { key_id: key.key_id, reason: 'MANUAL' });
    // Re-encrypting releases the tracked ciphertext (UPDATE/DELETE on tracked_ciphertexts).
    const re = await call<{ key_version: number }>('ReEncrypt', { ciphertext: enc.ciphertext, source_aad: aad, destination_aad: aad });
    expect(re.key_version).toBe(2);
    await call('ScheduleKeyVersionDestruction', { key_id: key.key_id, key_version: 1 });
    kms.clock.advance(30 * DAY);
    expect((await kms.destroyAsScheduler(key.key_id, 1)).outcome).toEqual({ status: 'done', detail: 'v1 destroyed' });
    const material = await kms.db.query('SELECT version FROM key_material WHERE key_id = $1 ORDER BY version', [key.key_id]);
    expect(material.rows).toEqual([{ version: 2 }]);

    // The history the role wrote is there, and the service's connections really are the role's.
    const audit = await kms.db.query<{ operation: string }>(`SELECT operation FROM audit_records WHERE key_id = $1 AND outcome = 'SUCCESS' ORDER BY "position"`, [key.key_id]);
    expect(audit.rows.map((r) => r.operation)).toEqual(expect.arrayContaining(['CreateKey', 'Encrypt', 'Decrypt', 'RotateKey', 'ReEncrypt', 'ScheduleKeyVersionDestruction', 'DestroyKeyVersion']));
    const sessions = await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND application_name = 'kms-key-service'`, [role]);
    expect(sessions.rows[0].n).toBeGreaterThan(0);
    const rights = await owner.query<{ update: boolean; delete: boolean; insert: boolean }>(
      `SELECT has_table_privilege($1, $2, 'UPDATE') AS update, has_table_privilege($1, $2, 'DELETE') AS delete, has_table_privilege($1, $2, 'INSERT') AS insert`,
      [role, `${kms.schema}.events`],
    );
    expect(rights.rows[0]).toEqual({ update: false, delete: false, insert: true });
  });

  it('answers a forged history change by the role with permission denied', async () => {
    const svc = new Client({ connectionString: serviceUrl, options: `-c search_path=${kms.schema}` });
    await svc.connect();
    try {
      const refused = await svc.query(`UPDATE audit_records SET outcome = 'DENIED' WHERE id = $1`, [randomUUID()]).then(
        () => 'allowed',
        (e: { code: string; message: string }) => `${e.code} ${e.message}`,
      );
      expect(refused).toBe('42501 permission denied for table audit_records');
    } finally {
      await svc.end();
    }
  });
});
