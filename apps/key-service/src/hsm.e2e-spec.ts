/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { execFile } from 'node:child_process';
import { randomUUID, verify as verifySignature } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SOFTHSM_MODULE, softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const run = promisify(execFile);
const DAY = 24 * 60 * 60 * 1000;

/** What OpenSC's pkcs11-tool sees on the token: the operator's independent view. */
async function pkcs11Tool(args: string[]): Promise<{ ok: boolean; out: string }> {
  const token = softHsmTestToken();
  try {
    const { stdout, stderr } = await run('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', token.label, '--login', '--pin', token.pin(), ...args], {
      env: { ...process.env, SOFTHSM2_CONF: token.confPath },
    });
    return { ok: true, out: stdout + stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('HSM-backed keys through gRPC (SoftHSM2)', () => {
  let kms: KeyServiceUnderTest;
  let app: Actor;
  let dir: string;

  beforeAll(async () => {
    const token = softHsmTestToken();
    kms = await startKeyServiceUnderTest('e2e_hsm', { KMS_HSM_ENABLED: '1', KMS_HSM_PIN_FILE: token.userPinFile, SOFTHSM2_CONF: token.confPath });
    app = await kms.register('hsm-app', 'WORKLOAD');
    dir = await mkdtemp(join(tmpdir(), 'kms-origin-'));
  }, 60_000);
  afterAll(async () => {
    await kms?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const createHsmKey = async (name: string, algorithm: string) =>
    (
      await kms.admin.call<{ key_id: string; protection_level: string; versions: Array<{ public_key_fingerprint: string }> }>('CreateKey', {
        name,
        purpose: 'ROOT_TENANT',
        algorithm,
        protection_level: 'HSM',
        policy: { grants: { [app.identityId]: { permissions: ['ENCRYPT', 'DECRYPT', 'SIGN', 'VERIFY', 'ADMINISTER'] } } },
      })
    );

  /** Save a statement as an auditor would receive it and run the documented offline verifier. */
  async function verifyOffline(statement: { statement_json: string; signature: string; attestation_public_key_pem: string }, tamper?: (s: Record<string, unknown>) => void) {
    const parsed = JSON.parse(statement.statement_json) as Record<string, unknown>;
    tamper?.(parsed);
    const file = join(dir, `${randomUUID()}.json`);
    const pem = join(dir, 'attestation.pem');
    await writeFile(file, JSON.stringify({ statement: parsed, signature: statement.signature }, null, 2));
    await writeFile(pem, statement.attestation_public_key_pem);
    try {
      const { stdout } = await run('node', ['--import', 'tsx', 'scripts/verify-origin-statement.ts', file, pem]);
      return { exit: 0, out: stdout };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { exit: err.code ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    }
  }

  it('creates, uses and rotates HSM AES and ECDSA keys; the token holds them, refuses their values, and destroys them', async () => {
    const aes = await createHsmKey('hsm-aes', 'AES_256_GCM');
    const ec = await createHsmKey('hsm-ec', 'ECDSA_P256_SHA256');
    expect(aes.protection_level).toBe('HSM');

    // Used through gRPC exactly like software keys.
    const aad = Buffer.from('hsm-aad');
    const enc1 = await app.call<{ ciphertext: Buffer; key_version: number }>('Encrypt', { key_id: aes.key_id, plaintext: Buffer.from('inside the module'), aad });
    const message = Buffer.from('regulatory proof token');
    const sig1 = await app.call<{ signature: Buffer }>('Sign', { key_id: ec.key_id, message });
    const pub1 = await app.call<{ pem: string }>('GetPublicKey', { key_id: ec.key_id });
    expect(verifySignature('sha256', message, pub1.pem, sig1.signature)).toBe(true);

    // Rotate both; old versions still work.
    expect((await app.call<{ primary_version: number }>('RotateKey', { key_id: aes.key_id })).primary_version).toBe(2);
    expect((await app.call<{ primary_version: number }>('RotateKey', { key_id: ec.key_id })).primary_version).toBe(2);
    const enc2 = await app.call<{ key_version: number }>('Encrypt', { key_id: aes.key_id, plaintext: Buffer.from('v2'), aad });
    expect(enc2.key_version).toBe(2);
    expect((await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: enc1.ciphertext, aad })).plaintext.toString()).toBe('inside the module');
    expect((await app.call<{ valid: boolean }>('Verify', { key_id: ec.key_id, key_version: 1, message, signature: sig1.signature })).valid).toBe(true);

    // pkcs11-tool shows the objects, labelled by key and version, and refuses to read their values.
    const listing = await pkcs11Tool(['--list-objects']);
    expect(listing.ok).toBe(true);
    for (const label of [`kms:${aes.key_id}:v1`, `kms:${aes.key_id}:v2`, `kms:${ec.key_id}:v1`, `kms:${ec.key_id}:v2`]) {
      expect(listing.out).toContain(label);
    }
    const readSecret = await pkcs11Tool(['--read-object', '--type', 'secrkey', '--label', `kms:${aes.key_id}:v1`]);
    expect(readSecret.ok).toBe(false);
    expect(readSecret.out).toMatch(/CKR_ATTRIBUTE_SENSITIVE/);
    // pkcs11-tool cannot even try to read private keys; the token says why it could not anyway.
    const privateBlocks = listing.out.split(/\n(?=\S)/).filter((b) => b.startsWith('Private Key Object') || b.startsWith('Secret Key Object'));
    expect(privateBlocks.length).toBeGreaterThanOrEqual(4);
    for (const block of privateBlocks) expect(block).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);

    // Destroying a version removes its object from the token and the event says so.
    await app.call('ScheduleKeyVersionDestruction', { key_id: aes.key_id, key_version: 1, destroy_after_days: 1 });
    kms.clock.advance(DAY + 1000);
    expect((await kms.destroyAsScheduler(aes.key_id, 1)).outcome.status).toBe('done');
    const after = await pkcs11Tool(['--list-objects']);
    expect(after.out).not.toContain(`kms:${aes.key_id}:v1`);
    expect(after.out).toContain(`kms:${aes.key_id}:v2`);
    const destroyed = await kms.db.query<{ data: { hsmObjectDestroyed?: boolean } }>(
      `SELECT data FROM events WHERE stream_id = $1 AND type = 'KeyVersionDestroyed'`,
      [`key-${aes.key_id}`],
    );
    expect(destroyed.rows[0].data.hsmObjectDestroyed).toBe(true);

    // The protection level and the origin read back from the module are in the version's event.
    const created = await kms.db.query<{ data: { protectionLevel: string; origin?: { attributes: Record<string, boolean> } } }>(
      `SELECT data FROM events WHERE stream_id = $1 AND type = 'KeyVersionCreated' ORDER BY stream_version`,
      [`key-${ec.key_id}`],
    );
    expect(created.rows[0].data.protectionLevel).toBe('HSM');
    expect(created.rows[0].data.origin?.attributes).toEqual({ local: true, neverExtractable: true, sensitive: true, extractable: false });
  }, 120_000);

  it('signs key-origin statements that verify offline; a tampered one fails', async () => {
    const ec = await createHsmKey('hsm-origin', 'ECDSA_P256_SHA256');
    const statement = await app.call<{ statement_json: string; signature: string; attestation_public_key_pem: string }>('GetKeyOriginStatement', {
      key_id: ec.key_id,
    });
    const body = JSON.parse(statement.statement_json) as { keyId: string; version: number; origin: { attributes: { local: boolean } } };
    expect(body).toMatchObject({ keyId: ec.key_id, version: 1, origin: { attributes: { local: true } } });

    const good = await verifyOffline(statement);
    expect(good).toMatchObject({ exit: 0 });
    expect(good.out).toMatch(/VALID/);
    const tampered = await verifyOffline(statement, (s) => {
      (s['origin'] as { attributes: { local: boolean } }).attributes.local = false;
    });
    expect(tampered.exit).toBe(1);
    expect(tampered.out).toMatch(/INVALID/);

    // Software keys have no origin evidence: refused with FAILED_PRECONDITION.
    const sw = await kms.admin.call<{ key_id: string }>('CreateKey', {
      name: 'sw-no-origin',
      purpose: 'SERVICE_ENVELOPE',
      algorithm: 'AES_256_GCM',
      policy: { grants: { [app.identityId]: { permissions: ['VERIFY'] } } },
    });
    await expect(app.call('GetKeyOriginStatement', { key_id: sw.key_id })).rejects.toMatchObject({ errorCode: 'NO_ORIGIN_EVIDENCE' });
  }, 60_000);
});
