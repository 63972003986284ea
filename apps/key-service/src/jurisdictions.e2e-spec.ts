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
import { approvalIdOf } from '@kms/testing';
import { auditRows } from './access-control.e2e-helpers';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const run = promisify(execFile);

/** What OpenSC's pkcs11-tool lists on one token: the operator's independent view. */
async function objectsOn(tokenLabel: string): Promise<string> {
  const token = softHsmTestToken();
  const { stdout } = await run('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', tokenLabel, '--login', '--pin', token.pin(), '--list-objects'], {
    env: { ...process.env, SOFTHSM2_CONF: token.confPath },
  });
  return stdout;
}

type KeyView = {
  key_id: string;
  jurisdiction: string;
  protection_level: string;
};

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

  const create = (name: string, protectionLevel: 'HSM' | 'SOFTWARE', jurisdiction?: string, grantee?: string) =>
    kms.admin.call<KeyView>('CreateKey', {
      name,
      purpose: 'DATA_PROTECTION',
      algorithm: 'AES_256_GCM',
      protection_level: protectionLevel,
      ...(jurisdiction !== undefined ? { jurisdiction } : {}),
      ...(grantee ? { policy: { grants: { [grantee]: { permissions: ['ENCRYPT', 'DECRYPT'] } } } } : {}),
    });

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

  describe('residency rules', () => {
    const TICKET = { change_ticket: 'CHG-RESIDENCY' };
    let app: Actor;
    let bob: Actor;
    let euKey: KeyView;
    let eu2Key: KeyView;
    let usKey: KeyView;
    let ciphertext: Buffer;
    const plaintext = Buffer.from('personal data of an eu resident');

    beforeAll(async () => {
      app = await kms.register('residency-app', 'WORKLOAD');
      bob = await kms.register('bob.residency', 'HUMAN', ['security-engineering']);
      euKey = await create('res-eu', 'SOFTWARE', 'eu', app.identityId);
      eu2Key = await create('res-eu-2', 'HSM', 'eu', app.identityId);
      usKey = await create('res-us', 'HSM', 'us', app.identityId);
      ciphertext = (await app.call<{ ciphertext: Buffer }>('Encrypt', { key_id: euKey.key_id, plaintext })).ciphertext;
    }, 90_000);

    const reEncrypt = (destination: KeyView, requestId?: string) =>
      app.call<{ ciphertext: Buffer; key_id: string }>('ReEncrypt', { ciphertext, destination_key_id: destination.key_id }, requestId);

    it('lets ReEncrypt stay within a jurisdiction and refuses a crossing without a rule, naming both jurisdictions, audited', async () => {
      expect((await reEncrypt(eu2Key)).key_id).toBe(eu2Key.key_id);

      const requestId = `res-refused-${randomBytes(4).toString('hex')}`;
      await expect(reEncrypt(usKey, requestId)).rejects.toMatchObject({
        errorCode: 'PERMISSION_DENIED',
        field: 'destination_key_id',
        message: expect.stringMatching(/"eu" to "us"/),
      });
      const [row] = await auditRows(kms.db, requestId);
      expect(row).toMatchObject({ operation: 'ReEncrypt', outcome: 'DENIED', details: expect.objectContaining({ fromJurisdiction: 'eu', toJurisdiction: 'us', residency: 'refused' }) });

      // BatchReEncrypt goes through the same check, item by item.
      const batch = await app.call<{ results: Array<{ error?: { error_code: string; field: string }; response?: { key_id: string } }> }>('BatchReEncrypt', {
        items: [
          { ciphertext, destination_key_id: usKey.key_id },
          { ciphertext, destination_key_id: eu2Key.key_id },
        ],
      });
      expect(batch.results[0].error).toMatchObject({ error_code: 'PERMISSION_DENIED', field: 'destination_key_id' });
      expect(batch.results[1].response?.key_id).toBe(eu2Key.key_id);
    });

    it('a rule takes two people; once approved the eu -> us crossing runs and is audited as such, the reverse stays refused', async () => {
      const rule = { tenant: 'default', from_jurisdiction: 'eu', to_jurisdiction: 'us', allowed: true, context: TICKET };
      await expect(kms.admin.call('SetResidencyRule', { ...rule, context: {} })).rejects.toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'context.change_ticket' });
      await expect(kms.admin.call('SetResidencyRule', { ...rule, to_jurisdiction: 'eu' })).rejects.toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'to_jurisdiction' });
      const asked = await kms.admin.call('SetResidencyRule', rule).then(
        () => {
          throw new Error('a residency rule was set by one person');
        },
        (e: unknown) => e,
      );
      const approvalId = approvalIdOf(asked);
      // Still refused while the request waits.
      expect((await kms.admin.call<{ allowed: unknown[] }>('GetResidencyRules', { tenant: 'default' })).allowed).toEqual([]);
      await expect(reEncrypt(usKey)).rejects.toMatchObject({ errorCode: 'PERMISSION_DENIED' });
      await expect(kms.admin.call('ApproveRequest', { approval_id: approvalId, context: TICKET })).rejects.toMatchObject({ errorCode: 'SELF_APPROVAL' });
      const done = await bob.call<{ status: string; operation: string }>('ApproveRequest', { approval_id: approvalId, context: TICKET });
      expect(done).toMatchObject({ status: 'EXECUTED', operation: 'SetResidencyRule' });
      expect((await kms.admin.call<{ allowed: unknown[] }>('GetResidencyRules', { tenant: 'default' })).allowed).toEqual([{ from_jurisdiction: 'eu', to_jurisdiction: 'us' }]);
      const recorded = await kms.db.query<{ type: string; approvers: string[] }>(`SELECT type, metadata->'approvers' AS approvers FROM events WHERE stream_id = 'residency-default'`);
      expect(recorded.rows).toEqual([{ type: 'ResidencyCrossingAllowed', approvers: [bob.identityId] }]);

      const requestId = `res-allowed-${randomBytes(4).toString('hex')}`;
      const moved = await reEncrypt(usKey, requestId);
      expect(moved.key_id).toBe(usKey.key_id);
      expect((await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: moved.ciphertext })).plaintext).toEqual(plaintext);
      const [row] = await auditRows(kms.db, requestId);
      expect(row).toMatchObject({ operation: 'ReEncrypt', outcome: 'SUCCESS', details: expect.objectContaining({ fromJurisdiction: 'eu', toJurisdiction: 'us', residency: 'allowed-crossing' }) });

      // The rule is an ordered pair: us -> eu is still refused.
      await expect(app.call('ReEncrypt', { ciphertext: moved.ciphertext, destination_key_id: euKey.key_id })).rejects.toMatchObject({ errorCode: 'PERMISSION_DENIED', message: expect.stringMatching(/"us" to "eu"/) });
    });
  });
});
