import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { opensslVerifies } from '@kms/testing';
import { auditRows, refused, streamEvents } from './access-control.e2e-helpers';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const run = promisify(execFile);

type DataKeyPairAnswer = {
  private_key_plaintext: Buffer;
  private_key_ciphertext: Buffer;
  public_key: Buffer;
  public_key_pem: string;
  key_id: string;
  key_version: number;
  key_pair_spec: string;
};

describe('GenerateDataKeyPair over gRPC: EC P-256, RSA-3072 (checked with openssl) and hybrid ML-KEM-768 + X25519 data key pairs (issue #21)', () => {
  let kms: KeyServiceUnderTest;
  let app: Actor;
  let dir: string;
  let keyId: string;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_byok2_dkp');
    app = await kms.register('dkp-app', 'WORKLOAD');
    dir = await mkdtemp(join(tmpdir(), 'kms-dkp-'));
    keyId = (
      await kms.admin.call<{ key_id: string }>('CreateKey', {
        name: 'data-key-pairs',
        purpose: 'SERVICE_ENVELOPE',
        algorithm: 'AES_256_GCM',
        policy: { grants: { [app.identityId]: { permissions: ['GENERATE_DATA_KEY', 'DECRYPT'] } } },
      })
    ).key_id;
  }, 120_000);
  afterAll(async () => {
    await kms?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Write DER PKCS#8 as a PEM private key openssl reads. */
  async function privatePem(pkcs8: Buffer): Promise<string> {
    const id = randomUUID();
    await writeFile(join(dir, `${id}.der`), pkcs8);
    await run('openssl', ['pkey', '-inform', 'DER', '-in', join(dir, `${id}.der`), '-out', join(dir, `${id}.pem`)]);
    return join(dir, `${id}.pem`);
  }

  it('ECC_NIST_P256: openssl signs with the private key handed out, and verifies with the public key; Decrypt of the sealed private key gives the same PKCS#8; audited without it', async () => {
    const aad = Buffer.from('owner=signing-service');
    const requestId = randomUUID();
    const pair = await app.call<DataKeyPairAnswer>('GenerateDataKeyPair', { key_id: keyId, aad, key_pair_spec: 'ECC_NIST_P256' }, requestId);
    expect(pair).toMatchObject({ key_id: keyId, key_version: 1, key_pair_spec: 'ECC_NIST_P256' });
    const priv = await privatePem(Buffer.from(pair.private_key_plaintext));
    const { stdout } = await run('openssl', ['pkey', '-in', priv, '-text', '-noout']);
    expect(stdout).toMatch(/prime256v1|P-256/);
    const pub = join(dir, 'p256.pub');
    await writeFile(pub, pair.public_key_pem);
    await writeFile(join(dir, 'msg'), 'payload 42');
    await run('openssl', ['dgst', '-sha256', '-sign', priv, '-out', join(dir, 'msg.sig'), join(dir, 'msg')]);
    const signature = await readFile(join(dir, 'msg.sig'));
    expect(await opensslVerifies(dir, pub, Buffer.from('payload 42'), signature)).toBe(true);
    expect(await opensslVerifies(dir, pub, Buffer.from('payload 43'), signature)).toBe(false);

    const opened = await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: pair.private_key_ciphertext, aad });
    expect(Buffer.from(opened.plaintext).equals(Buffer.from(pair.private_key_plaintext))).toBe(true);
    expect(await refused(app.call('Decrypt', { ciphertext: pair.private_key_ciphertext, aad: Buffer.from('owner=other') }))).toMatchObject({ errorCode: 'INVALID_CIPHERTEXT' });

    const [row] = await auditRows(kms.db, requestId);
    expect(row).toMatchObject({ operation: 'GenerateDataKeyPair', outcome: 'SUCCESS', key_id: keyId });
    expect(row.details).toMatchObject({ keyPairSpec: 'ECC_NIST_P256', withoutPlaintext: false });
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(Buffer.from(pair.private_key_plaintext).toString('base64'));
    expect(stored).not.toContain(Buffer.from(pair.private_key_plaintext).toString('hex'));
  }, 60_000);

  it('RSA_3072 without_plaintext: no private key in the answer; what openssl encrypts to the public key decrypts with the private key Decrypt opens', async () => {
    const pair = await app.call<DataKeyPairAnswer>('GenerateDataKeyPair', { key_id: keyId, key_pair_spec: 'RSA_3072', without_plaintext: true });
    expect(Buffer.from(pair.private_key_plaintext).length).toBe(0);
    const pub = join(dir, 'rsa.pub');
    await writeFile(pub, pair.public_key_pem);
    const { stdout } = await run('openssl', ['pkey', '-pubin', '-in', pub, '-text_pub', '-noout']);
    expect(stdout).toMatch(/3072 bit/);
    const secret = randomBytes(32);
    await writeFile(join(dir, 'secret'), secret);
    const oaep = ['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256'];
    await run('openssl', ['pkeyutl', '-encrypt', '-pubin', '-inkey', pub, '-in', join(dir, 'secret'), '-out', join(dir, 'secret.enc'), ...oaep]);

    const opened = await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: pair.private_key_ciphertext });
    const priv = await privatePem(Buffer.from(opened.plaintext));
    await run('openssl', ['pkeyutl', '-decrypt', '-inkey', priv, '-in', join(dir, 'secret.enc'), '-out', join(dir, 'secret.dec'), ...oaep]);
    expect((await readFile(join(dir, 'secret.dec'))).equals(secret)).toBe(true);
  }, 60_000);

  /** `openssl asn1parse` of DER: the structure as openssl reads it (it prints OIDs it does not know as numbers). */
  async function asn1parse(der: Buffer): Promise<string> {
    const file = join(dir, `${randomUUID()}.der`);
    await writeFile(file, der);
    return (await run('openssl', ['asn1parse', '-inform', 'DER', '-in', file])).stdout;
  }

  it('ML_KEM_768_X25519 (X-Wing): a data key encapsulated outside the KMS to the public key alone is decapsulated with the private key handed out or unsealed by Decrypt; tampering is refused; audited without the seed', async () => {
    const aad = Buffer.from('tenant=acme;hybrid');
    const requestId = randomUUID();
    const pair = await app.call<DataKeyPairAnswer>('GenerateDataKeyPair', { key_id: keyId, aad, key_pair_spec: 'ML_KEM_768_X25519' }, requestId);
    expect(pair).toMatchObject({ key_id: keyId, key_version: 1, key_pair_spec: 'ML_KEM_768_X25519' });
    const spki = Buffer.from(pair.public_key);
    const pkcs8 = Buffer.from(pair.private_key_plaintext);

    // The encodings as openssl reads them: SPKI and PKCS#8 under id-XWing (1.3.6.1.4.1.62253.25722).
    const spkiDump = await asn1parse(spki);
    expect(spkiDump).toContain('OBJECT            :1.3.6.1.4.1.62253.25722');
    expect(spkiDump).toMatch(/BIT STRING/);
    expect(spki.length).toBe(24 + 1216); // SEQUENCE, AlgorithmIdentifier (the 11-byte OID), BIT STRING header
    const pkcs8Dump = await asn1parse(pkcs8);
    expect(pkcs8Dump).toContain('OBJECT            :1.3.6.1.4.1.62253.25722');
    expect(pkcs8Dump).toMatch(/l= {2}32 prim: OCTET STRING/);
    expect(pair.public_key_pem).toContain('-----BEGIN PUBLIC KEY-----');

    // Outside the KMS, with @noble/post-quantum: the sender has only the public key.
    const publicKey = spki.subarray(spki.length - 1216);
    const { cipherText, sharedSecret } = ml_kem768_x25519.encapsulate(publicKey);
    expect(cipherText.length).toBe(1120); // ML-KEM-768 ciphertext (1088) || X25519 ephemeral key (32)
    const seed = pkcs8.subarray(pkcs8.length - 32);
    expect(Buffer.from(ml_kem768_x25519.keygen(seed).publicKey).equals(publicKey)).toBe(true);
    expect(Buffer.from(ml_kem768_x25519.decapsulate(cipherText, seed)).equals(Buffer.from(sharedSecret))).toBe(true);

    // The private key sealed under the KMS key: Decrypt with the same aad gives the same PKCS#8, which decapsulates too.
    const opened = await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: pair.private_key_ciphertext, aad });
    expect(Buffer.from(opened.plaintext).equals(pkcs8)).toBe(true);
    const unsealedSeed = Buffer.from(opened.plaintext).subarray(-32);
    expect(Buffer.from(ml_kem768_x25519.decapsulate(cipherText, unsealedSeed)).equals(Buffer.from(sharedSecret))).toBe(true);

    // A tampered sealed private key is refused; a tampered encapsulation yields an unrelated secret (X-Wing's implicit rejection).
    const tampered = Buffer.from(pair.private_key_ciphertext);
    tampered[tampered.length - 40] ^= 0x01;
    expect(await refused(app.call('Decrypt', { ciphertext: tampered, aad }))).toMatchObject({ errorCode: 'INVALID_CIPHERTEXT', field: 'ciphertext' });
    expect(await refused(app.call('Decrypt', { ciphertext: pair.private_key_ciphertext, aad: Buffer.from('another tenant') }))).toMatchObject({ errorCode: 'INVALID_CIPHERTEXT' });
    for (const at of [0, 1100]) {
      const altered = Uint8Array.from(cipherText);
      altered[at] ^= 0x01;
      expect(Buffer.from(ml_kem768_x25519.decapsulate(altered, seed)).equals(Buffer.from(sharedSecret))).toBe(false);
    }

    // Audited with the spec and the public key's digest, never the seed; no event holds it either.
    const [row] = await auditRows(kms.db, requestId);
    expect(row).toMatchObject({ operation: 'GenerateDataKeyPair', outcome: 'SUCCESS', key_id: keyId });
    expect(row.details).toMatchObject({ keyPairSpec: 'ML_KEM_768_X25519', withoutPlaintext: false, publicKeySha256: createHash('sha256').update(spki).digest('hex') });
    const audit = JSON.stringify(await kms.db.query('SELECT details FROM audit_records'));
    const events = JSON.stringify(await streamEvents(kms.db, `key-${keyId}`)) + JSON.stringify(await kms.db.query('SELECT data, metadata FROM events'));
    for (const secret of [Buffer.from(seed), pkcs8, Buffer.from(sharedSecret)]) {
      for (const encoded of [secret.toString('hex'), secret.toString('base64'), secret.toString('base64url')]) {
        expect(audit).not.toContain(encoded);
        expect(events).not.toContain(encoded);
      }
    }

    // without_plaintext: the public key and the sealed private key only.
    const sealedOnly = await app.call<DataKeyPairAnswer>('GenerateDataKeyPair', { key_id: keyId, key_pair_spec: 'ML_KEM_768_X25519', without_plaintext: true });
    expect(Buffer.from(sealedOnly.private_key_plaintext).length).toBe(0);
    const later = await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: sealedOnly.private_key_ciphertext });
    const laterSeed = Buffer.from(later.plaintext).subarray(-32);
    expect(Buffer.from(ml_kem768_x25519.keygen(laterSeed).publicKey).equals(Buffer.from(sealedOnly.public_key).subarray(-1216))).toBe(true);
  }, 60_000);

  it('refuses an unspecified key pair spec naming key_pair_spec, and a caller without GENERATE_DATA_KEY', async () => {
    expect(await refused(app.call('GenerateDataKeyPair', { key_id: keyId }))).toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'key_pair_spec' });
    const stranger = await kms.register('dkp-stranger', 'WORKLOAD');
    expect(await refused(stranger.call('GenerateDataKeyPair', { key_id: keyId, key_pair_spec: 'ECC_NIST_P256' }))).toMatchObject({ errorCode: 'PERMISSION_DENIED' });
  }, 60_000);
});
