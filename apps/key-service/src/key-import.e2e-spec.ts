import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { approvalIdOf, openKmsCiphertextOutside, opensslKeyPair, opensslVerifies, wrapWithOpenssl } from '@kms/testing';
import { auditRows, refused, streamEvents } from './access-control.e2e-helpers';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const run = promisify(execFile);

type ImportParametersAnswer = { key_id: string; import_token: string; wrapping_public_key: Buffer; wrapping_public_key_pem: string; expire_time: string; wrapping_algorithm: string };
type VersionAnswer = { version: number; state: string; imported: boolean; expire_time: string };
type KeyAnswer = { key_id: string; primary_version: number; enabled: boolean; versions: VersionAnswer[] };

describe('bring your own key over gRPC: GetImportParameters and ImportKeyVersion (issue #21)', () => {
  let kms: KeyServiceUnderTest;
  let app: Actor;
  let bob: Actor;
  let dir: string;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_byok2_import');
    app = await kms.register('byok-app', 'WORKLOAD');
    bob = await kms.register('bob.keyadmin', 'HUMAN', ['key-admin']);
    dir = await mkdtemp(join(tmpdir(), 'kms-byok-'));
  }, 120_000);
  afterAll(async () => {
    await kms?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const createKey = async (name: string, algorithm: string, permissions: string[]) =>
    kms.admin.call<KeyAnswer>('CreateKey', {
      name,
      purpose: 'SERVICE_ENVELOPE',
      algorithm,
      policy: { grants: { [app.identityId]: { permissions: ['ADMINISTER', ...permissions] } } },
    });

  /** GetImportParameters, the openssl CLI wraps, ImportKeyVersion: what a customer's workload does. */
  async function importAs(who: Actor, keyId: string, material: Buffer, extra: Record<string, unknown> = {}, requestId?: string): Promise<KeyAnswer> {
    const params = await who.call<ImportParametersAnswer>('GetImportParameters', { key_id: keyId });
    const wrapped = await wrapWithOpenssl(dir, Buffer.from(params.wrapping_public_key), material);
    return who.call<KeyAnswer>('ImportKeyVersion', { key_id: keyId, import_token: params.import_token, wrapped_key_material: wrapped, ...extra }, requestId);
  }

  it('AES-256: the imported key becomes the primary, marked imported; the customer decrypts the KMS ciphertext with its own key; the token is single use', async () => {
    const key = await createKey('byok-aes', 'AES_256_GCM', ['ENCRYPT', 'DECRYPT']);
    const params = await app.call<ImportParametersAnswer>('GetImportParameters', { key_id: key.key_id });
    expect(params.wrapping_algorithm).toBe('RSA_OAEP_3072_SHA256_AES_256_KWP');
    expect(Date.parse(params.expire_time) - kms.clock.now().getTime()).toBe(24 * 60 * 60 * 1000);
    // The PEM and the DER are the same RSA-3072 public key.
    await writeFile(join(dir, 'wrapping.pem'), params.wrapping_public_key_pem);
    const { stdout } = await run('openssl', ['pkey', '-pubin', '-in', join(dir, 'wrapping.pem'), '-text_pub', '-noout']);
    expect(stdout).toMatch(/3072 bit/);

    const aesKey = randomBytes(32);
    const wrapped = await wrapWithOpenssl(dir, Buffer.from(params.wrapping_public_key), aesKey);
    const expireTime = new Date(kms.clock.now().getTime() + 2 * 24 * 60 * 60 * 1000).toISOString();
    const requestId = randomUUID();
    const imported = await app.call<KeyAnswer>('ImportKeyVersion', { key_id: key.key_id, import_token: params.import_token, wrapped_key_material: wrapped, expire_time: expireTime }, requestId);
    expect(imported.primary_version).toBe(2);
    expect(imported.versions.map((v) => [v.version, v.imported, v.expire_time])).toEqual([
      [1, false, ''],
      [2, true, expireTime],
    ]);

    const aad = Buffer.from('tenant=acme');
    const enc = await app.call<{ ciphertext: Buffer; key_version: number }>('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('imported, not generated'), aad });
    expect(enc.key_version).toBe(2);
    // Outside the KMS: header (23 bytes) | IV | ciphertext | tag, the header authenticated with the AAD.
    expect(openKmsCiphertextOutside(aesKey, Buffer.from(enc.ciphertext), aad).toString()).toBe('imported, not generated');

    // Audited without material: the digest of what was sent, and the event says imported.
    const [row] = await auditRows(kms.db, requestId);
    expect(row).toMatchObject({ operation: 'ImportKeyVersion', outcome: 'SUCCESS', actor: app.identityId, key_id: key.key_id });
    expect(row.details).toMatchObject({ wrappedKeyMaterialSha256: createHash('sha256').update(wrapped).digest('hex'), expiresAt: expireTime });
    const created = (await streamEvents(kms.db, `key-${key.key_id}`)).filter((e) => e.type === 'KeyVersionCreated');
    expect(created[1].data).toMatchObject({ version: 2, imported: true, expiresAt: expireTime, reason: 'IMPORT' });
    const stored = JSON.stringify(await kms.db.query("SELECT data FROM events WHERE stream_id = $1", [`key-${key.key_id}`]));
    expect(stored).not.toContain(aesKey.toString('base64'));
    expect(stored).not.toContain(aesKey.toString('hex'));

    const again = await refused(app.call('ImportKeyVersion', { key_id: key.key_id, import_token: params.import_token, wrapped_key_material: wrapped }));
    expect(again).toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'import_token' });
    expect(again.message).toMatch(/single use/);

    // At its expiry the scheduler's destroy deadline destroys the imported primary; the key is then disabled.
    kms.clock.set(new Date(Date.parse(expireTime) - 1000));
    expect((await kms.destroyAsScheduler(key.key_id, 2)).outcome).toMatchObject({ status: 'not-due', dueAt: expireTime });
    kms.clock.set(new Date(Date.parse(expireTime) + 1000));
    // Expired but not yet destroyed (the deadline has not run): the service's clock refuses the version, audited.
    const expiredEncrypt = randomUUID();
    expect(await refused(app.call('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('x') }, expiredEncrypt))).toMatchObject({ errorCode: 'KEY_VERSION_EXPIRED', field: 'key_id' });
    const expiredDecrypt = randomUUID();
    const decryptRefusal = await refused(app.call('Decrypt', { ciphertext: enc.ciphertext, aad }, expiredDecrypt));
    expect(decryptRefusal).toMatchObject({ errorCode: 'KEY_VERSION_EXPIRED', field: 'key_version' });
    expect(decryptRefusal.message).toContain(expireTime);
    for (const [requestId, operation] of [[expiredEncrypt, 'Encrypt'], [expiredDecrypt, 'Decrypt']]) {
      expect(await auditRows(kms.db, requestId)).toEqual([expect.objectContaining({ operation, outcome: 'FAILURE', error_code: 'KEY_VERSION_EXPIRED', key_id: key.key_id })]);
    }
    expect((await app.call<KeyAnswer>('GetKey', { key_id: key.key_id })).versions[1].state).toBe('ENABLED');
    expect((await kms.destroyAsScheduler(key.key_id, 2)).outcome.status).toBe('done');
    const after = await app.call<KeyAnswer>('GetKey', { key_id: key.key_id });
    expect(after.versions[1].state).toBe('DESTROYED');
    expect(after.enabled).toBe(false);
    expect(await refused(app.call('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('x') }))).toMatchObject({ errorCode: 'KEY_DISABLED' });
    expect(await refused(app.call('Decrypt', { ciphertext: enc.ciphertext, aad }))).toMatchObject({ errorCode: 'KEY_VERSION_DESTROYED' });
  }, 120_000);

  it('P-256: an openssl-generated key signs in the KMS, openssl verifies with its own public key, and GetPublicKey is that key', async () => {
    const key = await createKey('byok-p256', 'ECDSA_P256_SHA256', ['SIGN', 'VERIFY']);
    const { pkcs8, publicPem } = await opensslKeyPair(dir, ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    expect((await importAs(app, key.key_id, pkcs8)).versions[1].imported).toBe(true);
    const message = Buffer.from('wire 100 EUR');
    const signed = await app.call<{ signature: Buffer; key_version: number }>('Sign', { key_id: key.key_id, message });
    expect(signed.key_version).toBe(2);
    expect(await opensslVerifies(dir, publicPem, message, Buffer.from(signed.signature))).toBe(true);
    expect(await opensslVerifies(dir, publicPem, Buffer.from('wire 900 EUR'), Buffer.from(signed.signature))).toBe(false);
    const pub = await app.call<{ pem: string }>('GetPublicKey', { key_id: key.key_id });
    expect(pub.pem.trim()).toBe((await readFile(publicPem, 'utf8')).trim());
  }, 60_000);

  it('RSA-3072: imported as RSA_PSS_3072_SHA256 it signs for openssl; imported as RSA_OAEP_3072_SHA256 it decrypts what openssl encrypted', async () => {
    const { pkcs8, publicPem } = await opensslKeyPair(dir, ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072']);
    const pss = await createKey('byok-pss', 'RSA_PSS_3072_SHA256', ['SIGN']);
    await importAs(app, pss.key_id, pkcs8);
    const message = Buffer.from('release 7');
    const signed = await app.call<{ signature: Buffer }>('Sign', { key_id: pss.key_id, message });
    const pssOptions = ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', '-sigopt', 'rsa_mgf1_md:sha256'];
    expect(await opensslVerifies(dir, publicPem, message, Buffer.from(signed.signature), pssOptions)).toBe(true);

    const oaep = await createKey('byok-oaep', 'RSA_OAEP_3072_SHA256', ['DECRYPT']);
    await importAs(app, oaep.key_id, pkcs8);
    const secret = randomBytes(32);
    await writeFile(join(dir, 'oaep-secret'), secret);
    await run('openssl', [
      'pkeyutl', '-encrypt', '-pubin', '-inkey', publicPem, '-in', join(dir, 'oaep-secret'), '-out', join(dir, 'oaep-secret.enc'),
      '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256',
    ]);
    const out = await app.call<{ plaintext: Buffer; key_version: number }>('AsymmetricDecrypt', { key_id: oaep.key_id, ciphertext: await readFile(join(dir, 'oaep-secret.enc')) });
    expect(out.key_version).toBe(2);
    expect(Buffer.from(out.plaintext).equals(secret)).toBe(true);
  }, 180_000);

  it('refuses material of another algorithm, an expiry in the past and a foreign token, naming the field; nothing is imported', async () => {
    const key = await createKey('byok-refusals', 'ECDSA_P256_SHA256', ['SIGN']);
    expect(await refused(importAs(app, key.key_id, randomBytes(32)))).toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'wrapped_key_material' });
    const past = new Date(kms.clock.now().getTime() - 1000).toISOString();
    const { pkcs8 } = await opensslKeyPair(dir, ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    expect(await refused(importAs(app, key.key_id, pkcs8, { expire_time: past }))).toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'expire_time' });
    expect(await refused(importAs(app, key.key_id, pkcs8, { expire_time: 'tomorrow' }))).toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'expire_time' });
    const other = await createKey('byok-other', 'ECDSA_P256_SHA256', ['SIGN']);
    const foreign = await app.call<ImportParametersAnswer>('GetImportParameters', { key_id: other.key_id });
    const wrapped = await wrapWithOpenssl(dir, Buffer.from(foreign.wrapping_public_key), pkcs8);
    expect(await refused(app.call('ImportKeyVersion', { key_id: key.key_id, import_token: foreign.import_token, wrapped_key_material: wrapped }))).toMatchObject({
      errorCode: 'INVALID_ARGUMENT',
      field: 'import_token',
    });
    expect((await app.call<KeyAnswer>('GetKey', { key_id: key.key_id })).versions).toHaveLength(1);
    // A workload without ADMINISTER on the key gets no import parameters.
    const stranger = await kms.register('byok-stranger', 'WORKLOAD');
    expect(await refused(stranger.call('GetImportParameters', { key_id: key.key_id }))).toMatchObject({ errorCode: 'PERMISSION_DENIED' });
  }, 60_000);

  it('a person imports only with a change ticket and a second person: the version appears once bob approves', async () => {
    const key = await createKey('byok-person', 'AES_256_GCM', ['ENCRYPT']);
    const params = await kms.admin.call<ImportParametersAnswer>('GetImportParameters', { key_id: key.key_id });
    const wrapped = await wrapWithOpenssl(dir, Buffer.from(params.wrapping_public_key), randomBytes(32));
    const request = { key_id: key.key_id, import_token: params.import_token, wrapped_key_material: wrapped };
    expect(await refused(kms.admin.call('ImportKeyVersion', request))).toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'context.change_ticket' });
    const approvalId = approvalIdOf(await refused(kms.admin.call('ImportKeyVersion', { ...request, context: { change_ticket: 'CHG-BYOK-1' } })));
    expect((await app.call<KeyAnswer>('GetKey', { key_id: key.key_id })).versions).toHaveLength(1);
    expect(await refused(kms.admin.call('ApproveRequest', { approval_id: approvalId }))).toMatchObject({ errorCode: 'SELF_APPROVAL' });
    const done = await bob.call<{ status: string; operation: string }>('ApproveRequest', { approval_id: approvalId });
    expect(done).toMatchObject({ status: 'EXECUTED', operation: 'ImportKeyVersion' });
    const after = await app.call<KeyAnswer>('GetKey', { key_id: key.key_id });
    expect(after.primary_version).toBe(2);
    expect(after.versions[1].imported).toBe(true);
    const created = (await streamEvents(kms.db, `key-${key.key_id}`)).filter((e) => e.type === 'KeyVersionCreated');
    expect(created[1].metadata).toMatchObject({ actor: kms.admin.identityId, approvers: [bob.identityId], approvalId, changeTicket: 'CHG-BYOK-1' });
  }, 60_000);
});
