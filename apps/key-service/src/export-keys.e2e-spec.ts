import { refused } from './access-control.e2e-helpers';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

type KeyAnswer = { key_id: string; primary_version: number; next_rotation_time: string; export_expire_time: string };

/** Policy: "keys used for temporary exports must be rotated immediately after export expiration". */
describe('export keys (export_expires_at) over gRPC, with the scheduler on an injected clock (issue #21)', () => {
  let kms: KeyServiceUnderTest;
  let app: Actor;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_byok2_export');
    app = await kms.register('export-app', 'WORKLOAD');
  }, 120_000);
  afterAll(async () => {
    await kms?.stop();
  });

  const hour = 60 * 60 * 1000;

  it('the scheduler rotates the key right when the export expires, not before; old ciphertexts still decrypt, new ones use the new version', async () => {
    const exportExpiresAt = new Date(kms.clock.now().getTime() + 6 * hour).toISOString();
    const key = await kms.admin.call<KeyAnswer>('CreateKey', {
      name: 'nightly-export',
      purpose: 'DATA_PROTECTION',
      algorithm: 'AES_256_GCM',
      export_expires_at: exportExpiresAt,
      policy: { grants: { [app.identityId]: { permissions: ['ENCRYPT', 'DECRYPT'] } } },
    });
    expect(key.export_expire_time).toBe(exportExpiresAt);
    expect(key.next_rotation_time).toBe(exportExpiresAt);
    const before = await app.call<{ ciphertext: Buffer; key_version: number }>('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('export batch 1') });
    expect(before.key_version).toBe(1);

    kms.clock.set(new Date(Date.parse(exportExpiresAt) - 1000));
    expect((await kms.rotateAsScheduler(key.key_id, 1)).outcome).toMatchObject({ status: 'not-due', dueAt: exportExpiresAt });
    kms.clock.set(new Date(Date.parse(exportExpiresAt) + 1000));
    expect((await kms.rotateAsScheduler(key.key_id, 1)).outcome).toMatchObject({ status: 'done' });
    const after = await kms.admin.call<KeyAnswer>('GetKey', { key_id: key.key_id });
    expect(after.primary_version).toBe(2);
    // The next rotation is by the purpose's period again (180 days for DATA_PROTECTION), from the rotation.
    expect(Date.parse(after.next_rotation_time)).toBe(Date.parse(exportExpiresAt) + 1000 + 180 * 24 * hour);

    const next = await app.call<{ key_version: number }>('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('export batch 2') });
    expect(next.key_version).toBe(2);
    expect((await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: before.ciphertext })).plaintext.toString()).toBe('export batch 1');
  }, 60_000);

  it('an RSA-OAEP export key: after the rotation the old version gives no public key to encrypt to, the new one does', async () => {
    const exportExpiresAt = new Date(kms.clock.now().getTime() + hour).toISOString();
    const key = await kms.admin.call<KeyAnswer>('CreateKey', {
      name: 'partner-export',
      purpose: 'SERVICE_ENVELOPE',
      algorithm: 'RSA_OAEP_3072_SHA256',
      export_expires_at: exportExpiresAt,
      policy: { grants: { [app.identityId]: { permissions: ['VERIFY', 'DECRYPT'] } } },
    });
    expect((await app.call<{ key_version: number }>('GetPublicKey', { key_id: key.key_id, key_version: 1 })).key_version).toBe(1);
    kms.clock.set(new Date(Date.parse(exportExpiresAt) + 1000));
    expect((await kms.rotateAsScheduler(key.key_id, 1)).outcome.status).toBe('done');
    expect(await refused(app.call('GetPublicKey', { key_id: key.key_id, key_version: 1 }))).toMatchObject({ errorCode: 'KEY_VERSION_DISABLED', field: 'key_version' });
    expect((await app.call<{ key_version: number }>('GetPublicKey', { key_id: key.key_id })).key_version).toBe(2);
  }, 60_000);

  it('refuses an export expiry in the past or malformed, naming export_expires_at', async () => {
    const past = new Date(kms.clock.now().getTime() - 1000).toISOString();
    expect(await refused(kms.admin.call('CreateKey', { name: 'late-export', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', export_expires_at: past }))).toMatchObject({
      errorCode: 'INVALID_ARGUMENT',
      field: 'export_expires_at',
    });
    expect(await refused(kms.admin.call('CreateKey', { name: 'bad-export', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', export_expires_at: 'friday' }))).toMatchObject({
      errorCode: 'INVALID_ARGUMENT',
      field: 'export_expires_at',
    });
  }, 60_000);
});
