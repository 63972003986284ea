/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-jurisdictions-test.environment.ts
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MasterKey } from '@kms/key-backend-software';
import { JURISDICTION_TEST_TOKENS, SOFTHSM_MODULE, softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const run = promisify(execFile);

/** What OpenSC's pkcs11-tool lists on one token: the operator's independent view. */
async function objectsOn(tokenLabel: string): Promise<string> {
  const token = softHsmTestToken();
  const { stdout } = await run('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', tokenLabel, '--login', '--pin', token.pin(), '--list-objects'], {
    env: { ...process.env, SOFTHSM2_CONF: token.confPath },
  });
  return stdout;
}

interface KeyView {
  key_id: string;
  jurisdiction: string;
  protection_level: string;
}

/*
 * Two HSM instances standing for two jurisdictions (SoftHSM2 tokens kms-eu and kms-us) and one master
 * key per jurisdiction: CreateKey puts a key in the jurisdiction it names, and only there.
 */
describe('keys in their jurisdiction (two SoftHSM2 tokens, two master keys)', () => {
  let kms: KeyServiceUnderTest;
  let dir: string;
  let euMaster: Buffer;
  let usMaster: Buffer;

  beforeAll(async () => {
    const token = softHsmTestToken();
    dir = await mkdtemp(join(tmpdir(), 'kms-juris-'));
    euMaster = randomBytes(32);
    usMaster = randomBytes(32);
    await writeFile(join(dir, 'us.key'), `${usMaster.toString('base64')}\n`, { mode: 0o600 });
    kms = await startKeyServiceUnderTest('e2e_juris', {
      SOFTHSM2_CONF: token.confPath,
      KMS_MASTER_KEY: euMaster.toString('base64'),
      KMS_MASTER_KEY_JURISDICTION: 'eu',
      KMS_MASTER_KEYS: JSON.stringify({ us: join(dir, 'us.key') }),
      KMS_HSM_INSTANCES: JSON.stringify([
        { id: 'hsm-eu', tokenLabel: JURISDICTION_TEST_TOKENS.eu, pinFile: token.userPinFile, jurisdiction: 'eu', provider: 'softhsm2', environment: 'sovereign' },
        { id: 'hsm-us', tokenLabel: JURISDICTION_TEST_TOKENS.us, pinFile: token.userPinFile, jurisdiction: 'us', provider: 'softhsm2', environment: 'commercial' },
      ]),
    });
  }, 90_000);
  afterAll(async () => {
    await kms?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const create = (name: string, protectionLevel: 'HSM' | 'SOFTWARE', jurisdiction?: string) =>
    kms.admin.call<KeyView>('CreateKey', { name, purpose: 'DATA_PROTECTION', algorithm: 'AES_256_GCM', protection_level: protectionLevel, ...(jurisdiction !== undefined ? { jurisdiction } : {}) });

  it('refuses a key without a jurisdiction, or in one that is not configured, naming `jurisdiction`', async () => {
    await expect(create('no-place', 'HSM')).rejects.toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'jurisdiction', message: expect.stringContaining('eu, us') });
    await expect(create('no-place', 'SOFTWARE')).rejects.toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'jurisdiction' });
    await expect(create('elsewhere', 'HSM', 'fr')).rejects.toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'jurisdiction', message: expect.stringContaining('"fr"') });
    await expect(create('bad', 'SOFTWARE', 'not a place!')).rejects.toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'jurisdiction' });
  });

  it('generates an eu HSM key on the eu token only, and shows its jurisdiction in its creation event, GetKey and ListKeys', async () => {
    const key = await create('eu-hsm', 'HSM', 'EU');
    expect(key.jurisdiction).toBe('eu');
    // The object label names the key id: it is on the eu token and not on the us one.
    expect(await objectsOn(JURISDICTION_TEST_TOKENS.eu)).toContain(key.key_id);
    expect(await objectsOn(JURISDICTION_TEST_TOKENS.us)).not.toContain(key.key_id);

    expect((await kms.admin.call<KeyView>('GetKey', { key_id: key.key_id })).jurisdiction).toBe('eu');
    const listed = await kms.admin.call<{ keys: KeyView[] }>('ListKeys', {});
    expect(listed.keys.find((k) => k.key_id === key.key_id)?.jurisdiction).toBe('eu');
    const created = await kms.db.query<{ jurisdiction: string }>(`SELECT data->>'jurisdiction' AS jurisdiction FROM events WHERE stream_id = $1 AND type = 'KeyCreated'`, [`key-${key.key_id}`]);
    expect(created.rows).toEqual([{ jurisdiction: 'eu' }]);

    // A rotation stays in the jurisdiction.
    await kms.admin.call('RotateKey', { key_id: key.key_id, reason: 'MANUAL' });
    expect((await objectsOn(JURISDICTION_TEST_TOKENS.eu)).split(key.key_id).length - 1).toBeGreaterThanOrEqual(2);
    expect(await objectsOn(JURISDICTION_TEST_TOKENS.us)).not.toContain(key.key_id);
  });

  it("wraps a software key under its jurisdiction's master key", async () => {
    const us = await create('us-software', 'SOFTWARE', 'us');
    const eu = await create('eu-software', 'SOFTWARE', 'eu');
    const kekOf = async (keyId: string) => (await kms.db.query<{ kek_id: string }>('SELECT kek_id FROM key_material WHERE key_id = $1', [keyId])).rows.map((r) => r.kek_id);
    expect(await kekOf(us.key_id)).toEqual([MasterKey.fromBytes(usMaster).kekId]);
    expect(await kekOf(eu.key_id)).toEqual([MasterKey.fromBytes(euMaster).kekId]);
  });
});
