/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { constants, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provesHsmCustodyOfImport, statementDisagreement, verifySignedStatement } from '@kms/evidence';
import { softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { openKmsCiphertextOutside, wrapWithOpenssl } from '@kms/testing';
import { refused } from './access-control.e2e-helpers';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

type ImportParametersAnswer = { import_token: string; wrapping_public_key: Buffer; wrapping_algorithm: string };
type OriginAnswer = { statement_json: string; signature: string; attestation_public_key_pem: string };

describe('bring your own key into an HSM key over gRPC (SoftHSM2, issue #21)', () => {
  let kms: KeyServiceUnderTest;
  let app: Actor;
  let dir: string;

  beforeAll(async () => {
    const token = softHsmTestToken();
    kms = await startKeyServiceUnderTest('e2e_byok2_hsm', { KMS_HSM_ENABLED: '1', KMS_HSM_PIN_FILE: token.userPinFile, SOFTHSM2_CONF: token.confPath });
    app = await kms.register('byok-hsm-app', 'WORKLOAD');
    dir = await mkdtemp(join(tmpdir(), 'kms-byok-hsm-'));
  }, 120_000);
  afterAll(async () => {
    await kms?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const createKey = (name: string, algorithm: string) =>
    kms.admin.call<{ key_id: string }>('CreateKey', {
      name,
      purpose: 'SERVICE_ENVELOPE',
      algorithm,
      protection_level: 'HSM',
      policy: { grants: { [app.identityId]: { permissions: ['ADMINISTER', 'ENCRYPT', 'VERIFY'] } } },
    });

  it('an AES-256 key wrapped by openssl (OAEP-SHA1 + AES-KWP) is unwrapped in the HSM; the signed origin statement says imported, CKA_LOCAL false, sensitive, not extractable', async () => {
    const key = await createKey('byok-hsm-aes', 'AES_256_GCM');
    const params = await app.call<ImportParametersAnswer>('GetImportParameters', { key_id: key.key_id });
    expect(params.wrapping_algorithm).toBe('RSA_OAEP_3072_SHA1_AES_256_KWP');
    const material = randomBytes(32);
    const wrapped = await wrapWithOpenssl(dir, Buffer.from(params.wrapping_public_key), material, 'sha1');
    const imported = await app.call<{ primary_version: number; versions: Array<{ imported: boolean; protection_level: string }> }>('ImportKeyVersion', {
      key_id: key.key_id,
      import_token: params.import_token,
      wrapped_key_material: wrapped,
    });
    expect(imported.primary_version).toBe(2);
    expect(imported.versions[1]).toMatchObject({ imported: true, protection_level: 'HSM' });

    const origin = await app.call<OriginAnswer>('GetKeyOriginStatement', { key_id: key.key_id, key_version: 2 });
    const verified = verifySignedStatement(origin.statement_json, origin.signature, origin.attestation_public_key_pem);
    if (!verified.valid) throw new Error(verified.reason);
    expect(verified.statement.imported).toBe(true);
    expect(verified.statement.origin.attributes).toEqual({ local: false, neverExtractable: false, sensitive: true, extractable: false });
    expect(provesHsmCustodyOfImport(verified.statement)).toBe(true);
    // The generated version 1 says nothing of import, and a statement cannot pass for the other kind of version.
    const first = await app.call<OriginAnswer>('GetKeyOriginStatement', { key_id: key.key_id, key_version: 1 });
    const firstStatement = JSON.parse(first.statement_json) as Record<string, unknown>;
    expect(firstStatement['imported']).toBeUndefined();
    expect(statementDisagreement(verified.statement, { keyId: key.key_id, version: 2, algorithm: 'AES_256_GCM', protectionLevel: 'HSM', createdAt: verified.statement.createdAt, origin: verified.statement.origin })).toMatch(/^imported/);

    const aad = Buffer.from('tenant=acme');
    const enc = await app.call<{ ciphertext: Buffer; key_version: number }>('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('sealed by the HSM'), aad });
    expect(enc.key_version).toBe(2);
    expect(openKmsCiphertextOutside(material, Buffer.from(enc.ciphertext), aad).toString()).toBe('sealed by the HSM');
  }, 120_000);

  it('an RSA-3072 key pair (PKCS#8 wrapped by openssl) is unwrapped in the HSM: it signs what openssl verifies with the customer’s public key, GetPublicKey gives that key, the origin statement says imported', async () => {
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', {
      name: 'byok-hsm-rsa',
      purpose: 'SERVICE_ENVELOPE',
      algorithm: 'RSA_PSS_3072_SHA256',
      protection_level: 'HSM',
      policy: { grants: { [app.identityId]: { permissions: ['ADMINISTER', 'SIGN', 'VERIFY'] } } },
    });
    const params = await app.call<ImportParametersAnswer>('GetImportParameters', { key_id: key.key_id });
    const pair = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const wrapped = await wrapWithOpenssl(dir, Buffer.from(params.wrapping_public_key), pair.privateKey.export({ format: 'der', type: 'pkcs8' }), 'sha1');
    const imported = await app.call<{ primary_version: number }>('ImportKeyVersion', { key_id: key.key_id, import_token: params.import_token, wrapped_key_material: wrapped });
    expect(imported.primary_version).toBe(2);
    const customerPem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const published = await app.call<{ pem: string; key_version: number }>('GetPublicKey', { key_id: key.key_id });
    expect({ pem: published.pem.trim(), version: published.key_version }).toEqual({ pem: customerPem.trim(), version: 2 });
    const message = Buffer.from('signed in the HSM with a key its owner brought');
    const signed = await app.call<{ signature: Buffer; key_version: number }>('Sign', { key_id: key.key_id, message });
    expect(signed.key_version).toBe(2);
    expect(verify('sha256', message, { key: pair.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, Buffer.from(signed.signature))).toBe(true);
    const origin = await app.call<OriginAnswer>('GetKeyOriginStatement', { key_id: key.key_id, key_version: 2 });
    const verified = verifySignedStatement(origin.statement_json, origin.signature, origin.attestation_public_key_pem);
    if (!verified.valid) throw new Error(verified.reason);
    expect(verified.statement).toMatchObject({ imported: true, origin: { attributes: { local: false, sensitive: true, extractable: false } } });
    expect(provesHsmCustodyOfImport(verified.statement)).toBe(true);
  }, 120_000);

  it('HSM keys of other algorithms get no import parameters: UNSUPPORTED_ALGORITHM', async () => {
    const key = await createKey('byok-hsm-ec', 'ECDSA_P256_SHA256');
    expect(await refused(app.call('GetImportParameters', { key_id: key.key_id }))).toMatchObject({ errorCode: 'UNSUPPORTED_ALGORITHM', field: 'algorithm' });
  }, 60_000);
});
