/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '@kms/config';
import { EventSealer, SEAL_METADATA_KEY, type EventSeal } from '@kms/event-store';
import { masterKeySealKeys } from '@kms/key-backend-pkcs11';
import { softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { MasterKey } from '@kms/key-backend-software';
import { AuditSealer, dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { Pool } from 'pg';
import { composeKeyService } from './key-service.compose';

/*
 * With an HSM configured, history is sealed with keys derived inside the HSM (kms-seal-v1): the master
 * key alone cannot seal a row. A store already sealed with the master-key seal keys is not silently
 * read as forged once an HSM is configured: the key service refuses to start, saying why.
 */
describe('history seal keys from the HSM', () => {
  const token = softHsmTestToken();
  const hsmEnv = { KMS_HSM_ENABLED: '1', KMS_HSM_PIN_FILE: token.userPinFile, SOFTHSM2_CONF: token.confPath };
  const masterKey = randomBytes(32);
  const schemas: string[] = [];

  function config(schema: string, extra: Record<string, string> = {}) {
    return loadConfig({ KMS_DATABASE_URL: testDatabaseUrl(), KMS_DATABASE_SCHEMA: schema, KMS_MASTER_KEY: masterKey.toString('base64'), KMS_GRPC_ADDRESS: '127.0.0.1:0', ...extra });
  }

  async function newestSeals(schema: string): Promise<{ event: EventSeal; audit: { hash: string; mac: string } }> {
    const db = new Pool({ connectionString: testDatabaseUrl(), options: `-c search_path=${schema}`, max: 1 });
    try {
      const event = (await db.query<{ seal: EventSeal }>(`SELECT metadata->'${SEAL_METADATA_KEY}' AS seal FROM events ORDER BY global_position DESC LIMIT 1`)).rows[0]?.seal;
      const audit = (await db.query<{ hash: string; mac: string }>('SELECT seal_hash AS hash, seal_mac AS mac FROM audit_records ORDER BY audit_records."position" DESC LIMIT 1')).rows[0];
      if (!event || !audit) throw new Error('nothing sealed');
      return { event, audit };
    } finally {
      await db.end();
    }
  }

  async function writeSomething(runtime: Awaited<ReturnType<typeof composeKeyService>>): Promise<void> {
    await runtime.deps.store.appendToStream(`test-${randomUUID()}`, [{ id: randomUUID(), type: 'Something', data: {}, metadata: { actor: 'test' } }], { expectedVersion: 'no_stream' });
    await runtime.audit.append({ id: randomUUID(), time: new Date(), requestId: randomUUID(), operation: 'Test', actor: 'test', outcome: 'SUCCESS' });
  }

  afterAll(async () => {
    for (const schema of schemas) await dropSchema({ url: testDatabaseUrl(), schema });
  });

  it('seals events and audit records with the HSM-derived keys, which the master-key keys do not verify', async () => {
    const schema = uniqueTestSchema('e2e_hsm_seal');
    schemas.push(schema);
    const runtime = await composeKeyService(config(schema, hsmEnv));
    try {
      expect(runtime.notices).toContain('history seal keys: derived inside the HSM (kms-seal-v1)');
      await writeSomething(runtime);
      const { event, audit } = await newestSeals(schema);
      // Made with the runtime's keys (which the HSM derived: pkcs11-seal-keys.int-spec shows they are
      // the token's, the same in every process), and not with the keys the master key derives.
      expect(runtime.sealedHistory?.sealer.madeWithThisKey(event.hash, event.mac)).toBe(true);
      expect(runtime.auditSealer.madeWithThisKey(audit.hash, audit.mac)).toBe(true);
      const master = masterKeySealKeys(MasterKey.fromBytes(masterKey));
      expect(new EventSealer(master.events).madeWithThisKey(event.hash, event.mac)).toBe(false);
      expect(new AuditSealer(master.audit).madeWithThisKey(audit.hash, audit.mac)).toBe(false);
    } finally {
      await runtime.close();
    }
  });

  it('refuses to start with the HSM on history the master-key seal keys sealed, and names both', async () => {
    const schema = uniqueTestSchema('e2e_hsm_reseal');
    schemas.push(schema);
    const before = await composeKeyService(config(schema));
    try {
      expect(before.notices).toContain('history seal keys: derived from the master key (no HSM configured)');
      await writeSomething(before);
    } finally {
      await before.close();
    }
    await expect(composeKeyService(config(schema, hsmEnv))).rejects.toThrow(
      /sealed with the master-key seal keys but this KMS is configured to seal with the HSM seal keys/,
    );
    // Back on the configuration that sealed it, it starts.
    const again = await composeKeyService(config(schema));
    await again.close();
  });

  it('refuses to start on history sealed with another master key', async () => {
    const schema = uniqueTestSchema('e2e_other_mk');
    schemas.push(schema);
    const first = await composeKeyService(config(schema));
    try {
      await writeSomething(first);
    } finally {
      await first.close();
    }
    await expect(composeKeyService(config(schema, { KMS_MASTER_KEY: randomBytes(32).toString('base64') }))).rejects.toThrow(
      /was not sealed with the master-key seal keys \(neither its oldest nor its newest sealed row verifies\)/,
    );
  });
});
