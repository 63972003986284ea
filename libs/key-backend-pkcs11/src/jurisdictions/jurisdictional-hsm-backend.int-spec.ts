/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-jurisdictions-test.environment.ts
 */
import type { VersionHandle } from '@kms/application';
import { HsmTimelineService, systemClock } from '@kms/application';
import { KmsError, type Jurisdiction } from '@kms/domain';
import { eventStoreMigrations, PostgresChangeCommitter, PostgresEventStore } from '@kms/event-store-postgres';
import { auditMigrations, createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { SOFTHSM_MODULE, softHsmTestToken } from '../testing/softhsm-test-token';
import { JURISDICTION_TEST_TOKENS } from '../testing/softhsm-jurisdiction-test-tokens';
import { HsmInstanceRegistry, type HsmInstanceOptions } from './hsm-instance-registry';
import { JurisdictionalHsmBackend } from './jurisdictional-hsm-backend';

const token = softHsmTestToken();

function instance(id: string, label: string, jurisdiction: string, environment: HsmInstanceOptions['environment']): HsmInstanceOptions {
  return {
    id,
    jurisdiction: jurisdiction as Jurisdiction,
    provider: 'softhsm2',
    environment,
    certifications: [`test certificate of ${id}`],
    modulePath: SOFTHSM_MODULE,
    token: { kind: 'label', label },
    pin: { kind: 'file', path: token.userPinFile },
    softhsm2Conf: token.confPath,
  };
}
const declared = [instance('hsm-eu', JURISDICTION_TEST_TOKENS.eu, 'eu', 'sovereign'), instance('hsm-us', JURISDICTION_TEST_TOKENS.us, 'us', 'commercial')];

function run(file: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, SOFTHSM2_CONF: token.confPath } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** Labels of the objects pkcs11-tool lists on one token, as an operator would see them. */
async function labelsOn(label: string): Promise<string[]> {
  const { code, out } = await run('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', label, '--login', '--pin', token.pin(), '--list-objects']);
  expect(code).toBe(0);
  return [...out.matchAll(/^\s*label:\s*(.*?)\s*$/gm)].map((m) => m[1]);
}

describe('HSM instances in two jurisdictions (two SoftHSM2 tokens)', () => {
  let registry: HsmInstanceRegistry;
  let backend: JurisdictionalHsmBackend;

  beforeAll(async () => {
    registry = new HsmInstanceRegistry(declared);
    await registry.connect();
    backend = new JurisdictionalHsmBackend(registry);
  });
  afterAll(() => registry.close());

  it('pkcs11-tool lists both tokens in the state folder', async () => {
    const { code, out } = await run('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--list-token-slots']);
    expect(code).toBe(0);
    expect(out).toContain(`token label        : ${JURISDICTION_TEST_TOKENS.eu}`);
    expect(out).toContain(`token label        : ${JURISDICTION_TEST_TOKENS.us}`);
  });

  it('generates an eu key on the eu token only, and uses it there', async () => {
    const keyId = randomUUID();
    const created = await backend.createVersion({ keyId, version: 1, algorithm: 'AES_256_GCM', jurisdiction: 'eu' });
    expect(created.materialRef.startsWith('hsm-eu/')).toBe(true);
    expect(created.origin?.module.tokenLabel).toBe(JURISDICTION_TEST_TOKENS.eu);
    const versionLabel = `kms:${keyId}:v1`;
    expect(await labelsOn(JURISDICTION_TEST_TOKENS.eu)).toContain(versionLabel);
    expect(await labelsOn(JURISDICTION_TEST_TOKENS.us)).not.toContain(versionLabel);

    const h: VersionHandle = { keyId, version: 1, algorithm: 'AES_256_GCM', materialRef: created.materialRef };
    const plaintext = randomBytes(40);
    const aad = Buffer.from('order-42');
    expect(await backend.decrypt(h, await backend.encrypt(h, plaintext, aad), aad)).toEqual(plaintext);
    // The us instance does not hold it: the same object name there finds nothing.
    await expect(registry.get('hsm-us').hsm.keyBackend.encrypt({ ...h, materialRef: created.materialRef.slice('hsm-eu/'.length) }, plaintext, aad)).rejects.toBeInstanceOf(KmsError);
  });

  it('signs with a us key on the us token', async () => {
    const keyId = randomUUID();
    const created = await backend.createVersion({ keyId, version: 1, algorithm: 'ECDSA_P256_SHA256', jurisdiction: 'us' });
    expect(await labelsOn(JURISDICTION_TEST_TOKENS.us)).toContain(`kms:${keyId}:v1`);
    expect(await labelsOn(JURISDICTION_TEST_TOKENS.eu)).not.toContain(`kms:${keyId}:v1`);
    const h: VersionHandle = { keyId, version: 1, algorithm: 'ECDSA_P256_SHA256', materialRef: created.materialRef };
    const message = Buffer.from('hello');
    expect(await backend.verify(h, { message }, await backend.sign(h, { message }))).toBe(true);
  });

  it('refuses a key without a jurisdiction, or of a jurisdiction without an HSM, naming the field', async () => {
    for (const jurisdiction of [undefined, 'fr']) {
      const e = await backend.createVersion({ keyId: randomUUID(), version: 1, algorithm: 'AES_256_GCM', ...(jurisdiction ? { jurisdiction } : {}) }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(KmsError);
      expect((e as KmsError).field).toBe('jurisdiction');
    }
  });
});

describe('per-HSM timeline', () => {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('hsmtimeline') };
  let pool: Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    await runMigrations(target, [...eventStoreMigrations, ...auditMigrations]);
    pool = createPgPool(target, { max: 3 });
    store = new PostgresEventStore(pool, { pollIntervalMs: 100 });
  });
  afterAll(async () => {
    await store.close();
    await pool.end();
    await dropSchema(target);
  });

  /** Start the instances as the KMS does at boot and record what they report. */
  async function boot(timeline: HsmTimelineService): Promise<string[]> {
    const registry = new HsmInstanceRegistry(declared);
    try {
      await registry.connect();
      const types: string[] = [];
      for (const { declaration, identity } of await registry.identities()) types.push(...(await timeline.observe(declaration, identity)).map((e) => e.type));
      return types;
    } finally {
      await registry.close();
    }
  }

  it('records each identity at start, nothing on an unchanged restart, and a replaced token\'s new serial as a timeline event', async () => {
    const timeline = new HsmTimelineService(store, new PostgresChangeCommitter(pool, { channel: store.channel, auditSealer: testAuditSealer() }), systemClock);
    expect(await boot(timeline)).toEqual(['HsmInstanceRegistered', 'HsmInstanceRegistered']);
    expect(await boot(timeline)).toEqual([]);
    const before = (await timeline.timeline('hsm-us'))[0];

    // The us module is replaced: the token is re-initialised, so the module reports another serial number.
    const soPin = readFileSync(join(token.stateDir, 'hsm', 'so.pin'), 'utf8').trim();
    expect((await run('softhsm2-util', ['--delete-token', '--token', JURISDICTION_TEST_TOKENS.us])).code).toBe(0);
    expect((await run('softhsm2-util', ['--init-token', '--free', '--label', JURISDICTION_TEST_TOKENS.us, '--so-pin', soPin, '--pin', token.pin()])).code).toBe(0);

    expect(await boot(timeline)).toEqual(['HsmIdentityChanged']);
    const events = await timeline.timeline('hsm-us');
    expect(events.map((e) => e.type)).toEqual(['HsmInstanceRegistered', 'HsmIdentityChanged']);
    const changes = events[1].data['changes'] as { field: string; before: string; after: string }[];
    const oldSerial = (before.data['identity'] as { serialNumber: string }).serialNumber;
    expect(changes.find((c) => c.field === 'serialNumber')).toEqual({ field: 'serialNumber', before: oldSerial, after: expect.not.stringMatching(`^${oldSerial}$`) });
    expect((await timeline.timeline('hsm-eu')).map((e) => e.type)).toEqual(['HsmInstanceRegistered']);
    // Every recorded change is audited, naming the instance and what changed, committed with its events (which name the record).
    const records = (await pool.query<{ id: string; details: Record<string, string> }>(`SELECT id, details FROM audit_records WHERE operation = 'RecordHsmIdentity' ORDER BY "position"`)).rows;
    const linked = (await pool.query<{ record: string }>(`SELECT DISTINCT metadata->>'auditRecordId' AS record FROM events WHERE stream_id LIKE 'hsm-%'`)).rows.map((r) => r.record);
    expect([...linked].sort()).toEqual(records.map((r) => r.id).sort());
    expect(records.map((r) => [r.details['hsmId'], r.details['changedFields'] ?? null])).toEqual([
      ['hsm-eu', null],
      ['hsm-us', null],
      ['hsm-us', 'serialNumber'],
    ]);
  });
});
