/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { buildKeyOriginStatement, signKeyOriginStatement, verifySignedStatement, type SignedKeyOriginStatement } from '@kms/evidence';
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, randomUUID, verify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as pkcs11js from 'pkcs11js';
import { ATTESTATION_KEY_LABEL, Pkcs11AttestationSigner } from './pkcs11-attestation-signer';
import { createPkcs11Hsm } from './pkcs11-hsm';
import { findObjects } from './pkcs11-objects';
import { SOFTHSM_MODULE, softHsmTestToken } from './testing/softhsm-test-token';

const token = softHsmTestToken();
const hsm = createPkcs11Hsm({
  modulePath: SOFTHSM_MODULE,
  token: { kind: 'label', label: token.label },
  pin: { kind: 'file', path: token.userPinFile },
  softhsm2Conf: token.confPath,
});
const signer = hsm.attestationSigner;
const REPO = resolve(__dirname, '../../..');
const CLI = join(REPO, 'scripts/verify-origin-statement.ts');

afterAll(() => hsm.close());

/** Objects on the token with this label: [class, CKA_SENSITIVE, CKA_EXTRACTABLE] of each. */
function objectsLabelled(label: string): Promise<Array<{ objectClass: number; sensitive?: boolean; extractable?: boolean }>> {
  return hsm.pool.withSession('test', async (s) =>
    findObjects(s, [{ type: pkcs11js.CKA_LABEL, value: label }]).map((o) => {
      if (o.objectClass !== pkcs11js.CKO_PRIVATE_KEY) return { objectClass: o.objectClass };
      const [sensitive, extractable] = s.module.C_GetAttributeValue(s.handle, o.handle, [{ type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }]);
      return { objectClass: o.objectClass, sensitive: sensitive.value[0] === 1, extractable: extractable.value[0] === 1 };
    }),
  );
}

function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO, env: { ...process.env } }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('Pkcs11AttestationSigner on SoftHSM2', () => {
  it('creates the attestation key pair on first use: sensitive, not extractable, one pair however many ask at once', async () => {
    const fresh = new Pkcs11AttestationSigner(hsm.pool, 'kms-attestation-concurrent');
    const fingerprints = await Promise.all(Array.from({ length: 8 }, () => fresh.keyFingerprint()));
    expect(new Set(fingerprints).size).toBe(1);
    await Promise.all(Array.from({ length: 8 }, () => fresh.sign(Buffer.from('x'))));
    const objects = await objectsLabelled('kms-attestation-concurrent');
    expect(objects.map((o) => o.objectClass).sort()).toEqual([pkcs11js.CKO_PUBLIC_KEY, pkcs11js.CKO_PRIVATE_KEY].sort());
    expect(objects.find((o) => o.objectClass === pkcs11js.CKO_PRIVATE_KEY)).toMatchObject({ sensitive: true, extractable: false });
  });

  it(`uses the pair labelled ${ATTESTATION_KEY_LABEL} that exists, rather than making another`, async () => {
    const first = await signer.keyFingerprint();
    const again = await new Pkcs11AttestationSigner(hsm.pool).keyFingerprint();
    expect(again).toBe(first);
    expect(await objectsLabelled(ATTESTATION_KEY_LABEL)).toHaveLength(2);
  });

  it('publishes a P-256 PEM whose fingerprint is keyFingerprint, and signs DER ECDSA/SHA-256 that node:crypto verifies', async () => {
    const pem = await signer.publicKeyPem();
    const key = createPublicKey(pem);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(createHash('sha256').update(key.export({ format: 'der', type: 'spki' })).digest('hex')).toBe(await signer.keyFingerprint());
    const data = Buffer.from('checkpoint 42');
    const signature = await signer.sign(data);
    expect(signature[0]).toBe(0x30);
    expect(verify('sha256', data, key, signature)).toBe(true);
    expect(verify('sha256', Buffer.from('checkpoint 43'), key, signature)).toBe(false);
  });

  describe('key-origin statement of an HSM version', () => {
    let signed: SignedKeyOriginStatement;
    let pem: string;
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kms-origin-statement-'));
      const keyId = randomUUID();
      const created = await hsm.keyBackend.createVersion({ keyId, version: 1, algorithm: 'ECDSA_P256_SHA256' });
      const spki = await hsm.keyBackend.getPublicKey({ keyId, version: 1, algorithm: 'ECDSA_P256_SHA256', materialRef: created.materialRef });
      if (!created.origin) throw new Error('no origin');
      const statement = buildKeyOriginStatement({
        keyId,
        version: 1,
        algorithm: 'ECDSA_P256_SHA256',
        protectionLevel: 'HSM',
        createdAt: new Date('2026-03-01T09:00:00Z'),
        issuedAt: new Date('2026-03-01T09:00:01Z'),
        publicKeySpkiBase64: spki.toString('base64'),
        keyFingerprint: created.publicKeyFingerprint,
        origin: created.origin,
        attestationKeyFingerprint: await signer.keyFingerprint(),
      });
      signed = await signKeyOriginStatement(statement, signer);
      pem = await signer.publicKeyPem();
      await writeFile(join(dir, 'attestation.pem'), pem);
      await writeFile(join(dir, 'statement.json'), JSON.stringify(signed, null, 2));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('verifies with libs/evidence and the attestation public key alone; a changed field or signature byte does not', () => {
      expect(verifySignedStatement(JSON.stringify(signed.statement), signed.signature, pem).valid).toBe(true);
      const tampered = { ...signed.statement, origin: { ...signed.statement.origin, attributes: { ...signed.statement.origin.attributes, local: false } } };
      expect(verifySignedStatement(tampered, signed.signature, pem).valid).toBe(false);
      const signature = Buffer.from(signed.signature, 'base64');
      signature[signature.length - 1] ^= 0x01;
      expect(verifySignedStatement(signed.statement, signature.toString('base64'), pem).valid).toBe(false);
    });

    it('the offline CLI says VALID with the module and attributes, and exits 0', async () => {
      const { code, stdout } = await runCli(join(dir, 'statement.json'), join(dir, 'attestation.pem'));
      const m = signed.statement.origin.module;
      expect(stdout).toBe(
        `VALID: key ${signed.statement.keyId} version 1 generated on SoftHSM project SoftHSM v2 serial ${m.serialNumber}, ` +
          'attributes local=true, never-extractable=true, sensitive=true, extractable=false\n',
      );
      expect(code).toBe(0);
    });

    it('the CLI refuses a tampered statement and a tampered signature with the reason, exit 1', async () => {
      const tampered = JSON.parse(JSON.stringify(signed)) as SignedKeyOriginStatement;
      tampered.statement.origin.module.serialNumber = 'ffffffffffffffff';
      await writeFile(join(dir, 'tampered.json'), JSON.stringify(tampered));
      const statementRun = await runCli(join(dir, 'tampered.json'), join(dir, 'attestation.pem'));
      expect(statementRun).toEqual({ code: 1, stdout: '', stderr: 'INVALID: the signature does not match the statement: it was altered or signed by another key\n' });

      const signature = Buffer.from(signed.signature, 'base64');
      signature[8] ^= 0x01;
      await writeFile(join(dir, 'bad-signature.json'), JSON.stringify({ ...signed, signature: signature.toString('base64') }));
      const signatureRun = await runCli(join(dir, 'bad-signature.json'), join(dir, 'attestation.pem'));
      expect(signatureRun.code).toBe(1);
      expect(signatureRun.stderr).toMatch(/^INVALID: /);
    });
  });
});
