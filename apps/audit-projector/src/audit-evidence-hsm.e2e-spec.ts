/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { createHash, createPublicKey, generateKeyPairSync, randomUUID, sign, verify as verifySignature } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { AttestationSigner } from '@kms/application';
import type { KmsClient, KmsMessage, KmsMethod } from '@kms/contracts';
import { canonicalJsonBytes, type SignedKeyOriginStatement } from '@kms/evidence';
import type { BootstrapEnrolment } from '@kms/key-service-grpc';
import { readTar } from '@kms/ledger';
import type { HttpApp } from '@kms/platform';
import { cachedToken, type ConsolePeople, peopleRegistrar } from '@kms/testing';
import { status } from '@grpc/grpc-js';
import { softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { type ProjectorStack, startProjectorStack } from './projector-stack.e2e-helpers';

// An HSM key's evidence bundle end to end: the key service on a SoftHSM2 token creates and uses an
// HSM-protected key over gRPC, the projector (signing with the token's attestation key) exports the
// bundle over HTTP, and the offline verifier, a separate process given only the bundle and the
// attestation public key the KMS publishes, checks the origin statements.

const ROOT = resolve(__dirname, '../../..');

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => ok({ code, output }));
  });
}

const verifier = (...args: string[]) => run('scripts/verify-evidence-bundle.ts', args);

/** Write a bundle's files into a directory, as an auditor who unpacked it would have them. */
function unpack(files: Map<string, Buffer>, dir: string): void {
  for (const [path, content] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

describe('HSM key evidence bundle end to end (SoftHSM2): gRPC → projector → HTTP export → offline verifier', () => {
  let stack: ProjectorStack;
  let projector: HttpApp;
  let client: KmsClient;
  let attestation: AttestationSigner;
  let work: string;
  let bootstrap: BootstrapEnrolment;
  /** People sign in with their security key and TOTP (real time); a token is kept while it is fresh. */
  let people: ConsolePeople;
  let linkFor: ((identityId: string) => Promise<string>) | undefined;
  const personTokens = new Map<string, () => Promise<string>>();

  const token = async (clientId: string, secret: string, human: boolean): Promise<string> => {
    if (!human) return (await client.call<{ access_token: string }>('IssueToken', { client_id: clientId, client_secret: secret })).access_token;
    let cached = personTokens.get(clientId);
    if (!cached) personTokens.set(clientId, (cached = cachedToken(() => new Date(), async () => (await people.signIn(clientId)).accessToken)));
    return cached();
  };
  const call = <T extends KmsMessage = KmsMessage>(method: KmsMethod, body: KmsMessage, t: string) => client.call<T>(method, body, { token: t, requestId: randomUUID() });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kms-hsm-evidence-'));
    const hsmToken = softHsmTestToken();
    stack = await startProjectorStack({
      schemaPrefix: 'ap_hsm_e2e',
      origin: 'kms.hsm.e2e/ledger',
      env: { KMS_HSM_ENABLED: '1', KMS_HSM_PIN_FILE: hsmToken.userPinFile, SOFTHSM2_CONF: hsmToken.confPath },
      // The production wiring with an HSM: checkpoints, manifests and origin statements signed by kms-attestation-v1 on the token.
      signer: (service) => {
        if (!service.runtime.deps.attestation) throw new Error('the key service has no HSM attestation key');
        attestation = service.runtime.deps.attestation;
        return attestation;
      },
      people: {
        // A person's enrolment link takes two people: the registrars of the test (see peopleRegistrar).
        linkFor: (identityId) => {
          if (!linkFor) throw new Error('no people registrar yet');
          return linkFor(identityId);
        },
      },
    });
    ({ projector, client, bootstrap, people } = stack);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('exports a bundle whose HSM origin statements the verifier accepts; one altered byte or a re-signed statement is refused, naming the file', async () => {
    const admin = await token(bootstrap.identityId, '', true);
    const app = await call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: 'signing-service', kind: 'WORKLOAD', roles: [] }, admin);
    // People take two people to register; bob (who approves the admin's rotation) is made by neither the admin nor with its approval.
    type Credential = { client_id: string; client_secret: string };
    const registerPerson = peopleRegistrar<Credential>({
      admin: { client_id: bootstrap.identityId, client_secret: '' },
      call: async (who, method, body) => call(method as KmsMethod, body as KmsMessage, await token(who.client_id, who.client_secret, true)),
      person: (client_id, _name, client_secret) => ({ client_id, client_secret }),
    });
    linkFor = registerPerson.linkFor;
    const auditor = await registerPerson('carol-auditor', ['compliance-officer']);
    const bob = await registerPerson('bob-keyadmin', ['key-admin']);
    const bobToken = await token(bob.client_id, bob.client_secret, true);
    const key = await call<{ key_id: string; protection_level: string }>(
      'CreateKey',
      {
        tenant: 'acme',
        name: 'tenant-root',
        purpose: 'ROOT_TENANT',
        algorithm: 'ECDSA_P256_SHA256',
        protection_level: 'HSM',
        policy: { grants: { [app.client_id]: { permissions: ['SIGN', 'VERIFY'] } } },
      },
      admin,
    );
    expect(key.protection_level).toBe('HSM');
    const appToken = await token(app.client_id, app.client_secret, false);

    // Used on the token, rotated (a second HSM version), used again.
    const message = Buffer.from('quarterly statement');
    const sig1 = await call<{ signature: Buffer }>('Sign', { key_id: key.key_id, message }, appToken);
    // Rotating a root key takes a change ticket and a second person: the approval becomes part of the evidence.
    await expect(call('RotateKey', { key_id: key.key_id, context: { change_ticket: 'CHG-4242', reason: 'annual rotation' } }, admin)).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
    const pending = await call<{ requests: Array<{ approval_id: string; target_id: string }> }>('ListApprovalRequests', { status: 'PENDING' }, bobToken);
    const approval = pending.requests.find((r) => r.target_id === key.key_id);
    if (!approval) throw new Error(`no pending rotation approval for ${key.key_id}: ${JSON.stringify(pending)}`);
    expect((await call<{ status: string }>('ApproveRequest', { approval_id: approval.approval_id }, bobToken)).status).toBe('EXECUTED');
    const sig2 = await call<{ signature: Buffer; key_version: number }>('Sign', { key_id: key.key_id, message }, appToken);
    expect(sig2.key_version).toBe(2);
    const pub = await call<{ pem: string }>('GetPublicKey', { key_id: key.key_id }, appToken);
    expect(verifySignature('sha256', message, pub.pem, sig2.signature)).toBe(true);
    expect((await call<{ valid: boolean }>('Verify', { key_id: key.key_id, key_version: 1, message, signature: sig1.signature }, appToken)).valid).toBe(true);

    // The attestation public key as the KMS publishes it (with every origin statement it signs).
    const published = await call<{ attestation_public_key_pem: string; attestation_key_fingerprint: string }>('GetKeyOriginStatement', { key_id: key.key_id }, appToken);
    expect(published.attestation_public_key_pem).toBe(await attestation.publicKeyPem());
    const pemPath = join(work, 'attestation-public-key.pem');
    writeFileSync(pemPath, published.attestation_public_key_pem);

    // Wait until the projection holds both versions and the four audited crypto calls.
    const officer = await token(auditor.client_id, auditor.client_secret, true);
    const get = (path: string) => fetch(`${projector.url}${path}`, { headers: { authorization: `Bearer ${officer}` } });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const history = (await (await get(`/v1/keys/${key.key_id}/history`)).json()) as { versions?: Array<{ origin: unknown }> };
      const uses = (await (await get(`/v1/audit-records?keyId=${key.key_id}&outcome=SUCCESS&operation=Sign`)).json()) as { items: unknown[] };
      if (history.versions?.length === 2 && uses.items.length === 2) {
        expect(history.versions.every((v) => v.origin !== null)).toBe(true);
        break;
      }
      if (Date.now() > deadline) throw new Error(`projection did not catch up: ${JSON.stringify(history)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // Exported over HTTP by the documented script, as an auditor would.
    const bundlePath = join(work, 'bundle.tar');
    const exported = await run('scripts/export-evidence.ts', [key.key_id, '--url', projector.url, '--out', bundlePath], { KMS_TOKEN: officer });
    expect(exported.output).toContain(`wrote ${bundlePath}`);
    expect(exported.code).toBe(0);
    const files = readTar(readFileSync(bundlePath));
    expect([...files.keys()].filter((p) => p.startsWith('origin-statements/')).sort()).toEqual(['origin-statements/v1.json', 'origin-statements/v2.json']);
    const v1 = JSON.parse((files.get('origin-statements/v1.json') as Buffer).toString()) as SignedKeyOriginStatement;
    expect(v1.statement).toMatchObject({
      keyId: key.key_id,
      version: 1,
      protectionLevel: 'HSM',
      origin: { attributes: { local: true, neverExtractable: true, sensitive: true, extractable: false }, module: { tokenLabel: 'kms' } },
      attestationKeyFingerprint: published.attestation_key_fingerprint,
    });
    // The second person's approval of the root key rotation is part of the evidence.
    expect(JSON.parse((files.get('approvals.json') as Buffer).toString())).toEqual([
      {
        status: 'Executed',
        approval: expect.objectContaining({ operation: 'RotateRootTenantKey', targetId: key.key_id, requester: bootstrap.identityId, approver: bob.client_id, changeTicket: 'CHG-4242' }),
      },
    ]);
    // Signed on the HSM by the published attestation key (checked here independently of the verifier).
    expect(verifySignature('sha256', canonicalJsonBytes(v1.statement), { key: published.attestation_public_key_pem, dsaEncoding: 'der' }, Buffer.from(v1.signature, 'base64'))).toBe(true);

    const ok = await verifier(bundlePath, pemPath);
    expect(ok.output).toMatch(/^OK {3}origin-statements\/v1\.json: signed origin statement: generated on SoftHSM/m);
    expect(ok.output).toMatch(/^OK {3}origin-statements\/v2\.json: signed origin statement: generated on SoftHSM/m);
    expect(ok.output).toContain('key-record.json: reproduced exactly by folding');
    expect(ok.output).toContain('VERIFIED: every check passed');
    expect(ok.code).toBe(0);

    // One byte of one origin statement changed ("kms" → "Kms" in the token label).
    const altered = join(work, 'altered');
    unpack(files, altered);
    const target = join(altered, 'origin-statements/v1.json');
    const bytes = readFileSync(target);
    const at = bytes.indexOf('"tokenLabel": "kms"') + '"tokenLabel": "'.length;
    expect(at).toBeGreaterThan(20);
    bytes[at] ^= 0x20;
    writeFileSync(target, bytes);
    const bad = await verifier(altered, pemPath);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('FAIL origin-statements/v1.json: SHA-256 does not match the manifest');
    expect(bad.output).toContain('FAIL origin-statements/v1.json: the signature does not match the statement');
    expect(bad.output).toMatch(/^OK {3}origin-statements\/v2\.json/m);
    expect(bad.output).toContain('NOT VERIFIED: failing file(s): origin-statements/v1.json\n');

    // A forger with a key of their own re-signs v1's statement, naming their key as the attestation key.
    const forger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forgerSpki = forger.publicKey.export({ format: 'der', type: 'spki' });
    const forgedStatement = { ...v1.statement, attestationKeyFingerprint: createHash('sha256').update(forgerSpki).digest('hex') };
    const forgedFile = Buffer.from(
      `${JSON.stringify({ statement: forgedStatement, signature: sign('sha256', canonicalJsonBytes(forgedStatement), { key: forger.privateKey, dsaEncoding: 'der' }).toString('base64') }, null, 2)}\n`,
    );
    // (a) only the statement is swapped: refused, naming it.
    const swapped = join(work, 'forged-statement');
    unpack(files, swapped);
    writeFileSync(join(swapped, 'origin-statements/v1.json'), forgedFile);
    const forged = await verifier(swapped, pemPath);
    expect(forged.code).toBe(1);
    expect(forged.output).toMatch(/^FAIL origin-statements\/v1\.json: the statement names attestation key [0-9a-f]{64}, but the given public key is [0-9a-f]{64}/m);
    expect(forged.output).toContain('NOT VERIFIED: failing file(s): origin-statements/v1.json\n');

    // (b) the forger also rewrites the manifest for it, re-signs the manifest and ships their key as attestation-key.pem.
    const rewritten = new Map(files);
    rewritten.set('origin-statements/v1.json', forgedFile);
    rewritten.set('attestation-key.pem', Buffer.from(forger.publicKey.export({ format: 'pem', type: 'spki' }).toString()));
    const manifest = JSON.parse((files.get('manifest.json') as Buffer).toString()) as { attestationKeyFingerprint: string; files: Array<{ path: string; sha256: string; bytes: number }> };
    manifest.attestationKeyFingerprint = forgedStatement.attestationKeyFingerprint;
    for (const entry of manifest.files) {
      const content = rewritten.get(entry.path) as Buffer;
      entry.sha256 = createHash('sha256').update(content).digest('hex');
      entry.bytes = content.length;
    }
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    rewritten.set('manifest.json', manifestBytes);
    rewritten.set('manifest.sig', Buffer.from(`${sign('sha256', manifestBytes, { key: forger.privateKey, dsaEncoding: 'der' }).toString('base64')}\n`));
    const wholesale = join(work, 'forged-bundle');
    unpack(rewritten, wholesale);
    const refused = await verifier(wholesale, pemPath);
    expect(refused.code).toBe(1);
    // Nothing in an unsigned bundle can be trusted, so the verifier stops at the manifest.
    expect(refused.output).toContain('FAIL manifest.json: the manifest signature (manifest.sig) does not verify with the attestation public key');
    expect(refused.output).toContain('NOT VERIFIED: failing file(s): manifest.json\n');
    // Verifying with the key shipped inside the forged bundle instead of the published one does not rescue it:
    // the checkpoints and the other version's statement were signed on the HSM.
    const shipped = join(work, 'shipped-key.pem');
    writeFileSync(shipped, rewritten.get('attestation-key.pem') as Buffer);
    const withShippedKey = await verifier(wholesale, shipped);
    expect(withShippedKey.code).toBe(1);
    expect(withShippedKey.output).toContain('FAIL checkpoints/events.checkpoint');
    expect(withShippedKey.output).toMatch(/^FAIL origin-statements\/v2\.json/m);
    expect(createPublicKey(published.attestation_public_key_pem).export({ format: 'der', type: 'spki' }).equals(forgerSpki)).toBe(false);
  }, 120_000);
});
