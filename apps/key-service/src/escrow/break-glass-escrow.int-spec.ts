/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { type ChangeContext, destructionDeclaration, escrowMaterialFrom, EscrowService, KeyCatalog, KeyLifecycleService, ManualClock } from '@kms/application';
import { escrowCeremonyEventCodec, escrowCeremonyStreamId, isKmsError, type KmsError } from '@kms/domain';
import {
  canonicalJson,
  declarationFile,
  ESCROW_ATTESTATION_KEY_FILE,
  generateCustodianKeys,
  openShare,
  reconstructionFile,
  sealingTranscriptFile,
  sealSubmission,
  signCanonicalEd25519,
  verifyEscrowEvidence,
  type CustodianPrivateKeys,
  type SealedPackage,
} from '@kms/evidence';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { createPkcs11Hsm } from '@kms/key-backend-pkcs11';
import { SOFTHSM_MODULE, softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { MasterKey, SoftwareKeyBackend } from '@kms/key-backend-software';
import {
  auditMigrations,
  createPgPool,
  dropSchema,
  escrowCeremonyKeyMigrations,
  keyMaterialMigrations,
  PostgresAuditFeed,
  PostgresCeremonyKeyStore,
  PostgresKeyMaterialStore,
  runMigrations,
  testDatabaseUrl,
  uniqueTestSchema,
} from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { ComplianceQueries, type EscrowView, EvidenceBundleBuilder, LedgerStore, ProjectionRunner, ProjectionStore, SoftwareAttestationSigner } from '@kms/audit-projector';
import { readModelTestSchema } from '@kms/audit-projector/testing';
import { readTar, verifyEvidenceBundle } from '@kms/ledger';
import { withOneCharChanged, wrapWithOpenssl } from '@kms/testing';
import { execFile } from 'node:child_process';
import { createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combine } from 'shamir-secret-sharing';
import type { Pool } from 'pg';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('escrow') };
const token = softHsmTestToken();
const hsm = createPkcs11Hsm({ modulePath: SOFTHSM_MODULE, token: { kind: 'label', label: token.label }, pin: { kind: 'file', path: token.userPinFile }, softhsm2Conf: token.confPath });
const clock = new ManualClock(new Date('2026-01-01T09:00:00Z'));
/** The key service's master key: a restarted service is configured with the same one. */
const masterKey = MasterKey.generate();

let pool: Pool;
let store: PostgresEventStore;
let software: SoftwareKeyBackend;
let lifecycle: KeyLifecycleService;
let escrow: EscrowService;
let catalog: KeyCatalog;

/** Every message of every error a test saw, scanned for secrets at the end. */
const errorsSeen: string[] = [];
/** Every share and every piece of material the test handled in clear. */
const secretsSeen: Buffer[] = [];

const CUSTODIANS = ['carol', 'dave', 'erin', 'frank', 'grace'];
const custodianKeys = new Map<string, CustodianPrivateKeys>();
// As the approval runner calls the service once bob approved alice's recorded request.
const admin: ChangeContext = { actor: 'alice', correlationId: 'c', approvers: ['bob'], approvalId: 'approval-of-bob' };
const scheduler: ChangeContext = { actor: 'rotation-scheduler', correlationId: 'c' };
/** Evidence files as the bundle holds them: canonical JSON, every byte signed. */
const files = new Map<string, Buffer>();

function keysOf(custodian: string): CustodianPrivateKeys {
  const keys = custodianKeys.get(custodian);
  if (!keys) throw new Error(`no keys for ${custodian}`);
  return keys;
}

async function refusal(p: Promise<unknown>): Promise<KmsError> {
  try {
    await p;
  } catch (e) {
    if (!isKmsError(e)) throw e;
    errorsSeen.push(e.message, JSON.stringify(e.facts ?? {}));
    return e;
  }
  throw new Error('expected a refusal');
}

function ctx(actor: string): ChangeContext {
  return { actor, correlationId: randomUUID() };
}

/** What a custodian does with their package: open it with their private key. */
function open(pkg: SealedPackage): Buffer {
  const share = openShare(keysOf(pkg.custodianId).encryptionPrivateKey, pkg.box, pkg);
  secretsSeen.push(Buffer.from(share));
  return share;
}

/** Every participant checks the recorded transcript and counter-signs it; the packages are fetched as each custodian does. */
async function counterSignAll(keyId: string, version: number): Promise<{ version: number; packages: SealedPackage[] }> {
  const { transcript } = await escrow.signedTranscript(keyId, version);
  for (const c of CUSTODIANS) await escrow.counterSign(keyId, version, c, signCanonicalEd25519(transcript, keysOf(c).signingPrivateKey), ctx(c));
  const signed = await escrow.signedTranscript(keyId, version);
  files.set(sealingTranscriptFile(transcript.ceremonyId), Buffer.from(canonicalJson(signed)));
  return { version, packages: await Promise.all(CUSTODIANS.map((c) => escrow.packageOf(keyId, version, c))) };
}

async function sealAndCounterSign(keyId: string): Promise<{ version: number; packages: SealedPackage[] }> {
  const sealed = await escrow.seal(keyId, admin);
  return counterSignAll(keyId, sealed.transcript.version);
}

/** The 30-day rotation as the scheduler runs it: the new version is sealed by the rotation itself. */
async function rotateAndCounterSign(keyId: string): Promise<{ version: number; packages: SealedPackage[] }> {
  const key = await lifecycle.rotateKey(keyId, 'SCHEDULED', scheduler);
  const { transcript } = await escrow.signedTranscript(keyId, key.primaryVersion);
  expect(transcript).toMatchObject({ version: key.primaryVersion, initiatedBy: 'rotation-scheduler' });
  return counterSignAll(keyId, key.primaryVersion);
}

async function declare(pkg: SealedPackage): Promise<void> {
  const declaration = destructionDeclaration({
    ceremonyId: pkg.ceremonyId,
    keyId: pkg.keyId,
    version: pkg.version,
    custodianId: pkg.custodianId,
    packageFingerprint: pkg.packageFingerprint,
    declaredAt: clock.now().toISOString(),
  });
  const signed = { declaration, signature: signCanonicalEd25519(declaration, keysOf(pkg.custodianId).signingPrivateKey) };
  await escrow.declareDestroyed(signed, ctx(pkg.custodianId));
  files.set(declarationFile(pkg.ceremonyId, pkg.custodianId), Buffer.from(canonicalJson(signed)));
}

async function createBreakGlassKey(name: string): Promise<string> {
  const key = await lifecycle.createKey(
    { tenant: 'acme', name, purpose: 'BREAK_GLASS', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: {}, owner: 'sre' },
    admin,
  );
  await escrow.setEscrowPolicy({ keyId: key.keyId, threshold: 3, custodians: CUSTODIANS, witness: 'wendy', declarationWindowHours: 48 }, admin);
  return key.keyId;
}

async function material(keyId: string, version: number): Promise<Buffer> {
  const v = (await catalog.get(keyId)).key.versions.find((x) => x.version === version);
  if (!v) throw new Error(`no version ${version}`);
  const m = await software.exportForEscrow({ keyId, version, algorithm: v.algorithm, materialRef: v.materialRef });
  secretsSeen.push(Buffer.from(m));
  return m;
}

beforeAll(async () => {
  await runMigrations(target, [...eventStoreMigrations, ...keyMaterialMigrations, ...auditMigrations, ...escrowCeremonyKeyMigrations]);
  pool = createPgPool(target, { max: 4, application_name: 'kms-escrow-int' });
  store = new PostgresEventStore(pool);
  software = new SoftwareKeyBackend({ store: new PostgresKeyMaterialStore(pool), masterKey, ceremonyKeys: new PostgresCeremonyKeyStore(pool), now: () => clock.now() });
  catalog = new KeyCatalog(store);
  await catalog.start(store);
  lifecycle = new KeyLifecycleService(store, catalog, { SOFTWARE: software, HSM: hsm.keyBackend }, clock);
  escrow = new EscrowService({ store, clock, attestation: hsm.attestationSigner, material: escrowMaterialFrom({ SOFTWARE: software, HSM: hsm.keyBackend }, software), versions: lifecycle });
  lifecycle.useNewVersionHook(escrow);
  for (const c of CUSTODIANS) {
    const keys = generateCustodianKeys();
    custodianKeys.set(c, keys.privateKeys);
    await escrow.enrolCustodian({ identityId: c, ...keys.publicKeys }, admin);
  }
  files.set(ESCROW_ATTESTATION_KEY_FILE, Buffer.from(await hsm.attestationSigner.publicKeyPem()));
});

afterAll(async () => {
  await catalog.stop();
  await store.close();
  await pool.end();
  await dropSchema(target);
  await hsm.close();
});

describe('custodians and escrow policy', () => {
  it('refuses to enrol a custodian without a second person, and a key that is not an X25519 key', async () => {
    const keys = generateCustodianKeys();
    expect(await refusal(escrow.enrolCustodian({ identityId: 'mallory', ...keys.publicKeys }, ctx('alice')))).toMatchObject({ code: 'APPROVAL_REQUIRED' });
    expect(await refusal(escrow.enrolCustodian({ identityId: 'mallory', encryptionPublicKey: keys.publicKeys.signingPublicKey, signingPublicKey: keys.publicKeys.signingPublicKey }, admin))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'encryption_public_key',
    });
    expect(await refusal(escrow.enrolCustodian({ identityId: 'carol', ...keys.publicKeys }, admin))).toMatchObject({ code: 'ILLEGAL_TRANSITION', field: 'identity_id' });
  });

  it('keeps k >= 2 and n >= k, names the field, and refuses a witness who holds a share', async () => {
    const key = await lifecycle.createKey({ tenant: 'acme', name: 'policy-checks', purpose: 'BREAK_GLASS', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: {}, owner: 'sre' }, admin);
    expect(await refusal(escrow.setEscrowPolicy({ keyId: key.keyId, threshold: 1, custodians: CUSTODIANS, witness: 'wendy' }, admin))).toMatchObject({ field: 'threshold' });
    expect(await refusal(escrow.setEscrowPolicy({ keyId: key.keyId, threshold: 3, custodians: ['carol', 'dave'], witness: 'wendy' }, admin))).toMatchObject({ field: 'custodians' });
    expect(await refusal(escrow.setEscrowPolicy({ keyId: key.keyId, threshold: 3, custodians: CUSTODIANS, witness: 'carol' }, admin))).toMatchObject({ field: 'witness' });
    expect(await refusal(escrow.setEscrowPolicy({ keyId: key.keyId, threshold: 3, custodians: [...CUSTODIANS, 'nobody'], witness: 'wendy' }, admin))).toMatchObject({ field: 'custodians' });
  });
});

/** The key of the 3-of-5 story below, whose evidence bundle is checked at the end. */
let resealedKeyId: string;
/** The HSM break-glass key, resealed once with all declarations in. */
let hsmEscrowedKeyId: string;
/** The key whose fifth declaration never came. */
let overdueKeyId: string;

describe('a 3-of-5 break-glass key, sealed, drilled, unsealed and resealed at day 30', () => {
  let keyId: string;
  let v1: { version: number; packages: SealedPackage[] };

  beforeAll(async () => {
    keyId = await createBreakGlassKey('db-break-glass');
    resealedKeyId = keyId;
    v1 = await sealAndCounterSign(keyId);
  });

  it('seals 5 packages with threshold 3, each openable only by its custodian, signed by the attestation key and all participants', async () => {
    const status = await escrow.status(keyId, v1.version);
    expect(status).toMatchObject({ status: 'SEALED', threshold: 3, shareCount: 5, custodians: CUSTODIANS, counterSigned: CUSTODIANS });
    expect(v1.packages.map((p) => p.custodianId)).toEqual(CUSTODIANS);
    const [carol, dave] = v1.packages;
    expect(() => openShare(keysOf('dave').encryptionPrivateKey, carol.box, carol)).toThrow(/authentication failed/);
    expect(() => openShare(keysOf('dave').encryptionPrivateKey, dave.box, { ...dave, shareIndex: 1 })).toThrow(/authentication failed/);
    const { events } = await store.readStream(escrowCeremonyStreamId(keyId, v1.version));
    expect(events.map((e) => e.type)).toEqual([
      'SealingCeremonyOpened',
      ...CUSTODIANS.map(() => 'SharePackageSealed'),
      'SealingTranscriptSigned',
      ...CUSTODIANS.map(() => 'SealingTranscriptCounterSigned'),
    ]);
    expect(verifyEscrowEvidence(files)).toMatchObject({ valid: true, ceremonies: 1 });
  });

  it('refuses a counter-signature that is not the participant’s', async () => {
    const { transcript } = await escrow.signedTranscript(keyId, v1.version);
    expect(await refusal(escrow.counterSign(keyId, v1.version, 'carol', signCanonicalEd25519(transcript, keysOf('dave').signingPrivateKey), ctx('carol')))).toMatchObject({ field: 'signature' });
  });

  it('a drill: 2 shares are not enough, a swapped share is named and refused, 3 valid shares recombine to the sealed fingerprint without enabling use', async () => {
    const drill = await escrow.openReconstruction(keyId, v1.version, 'DRILL', ctx('alice'));
    const submit = (pkg: SealedPackage, share = open(pkg)) =>
      escrow.submitShare(drill.reconstructionId, pkg.custodianId, sealSubmission(drill.ceremonyPublicKey, share, { reconstructionId: drill.reconstructionId, custodianId: pkg.custodianId }), ctx(pkg.custodianId));
    const [carol, dave, erin, frank] = v1.packages;
    await submit(carol);
    await submit(dave);
    expect(await refusal(escrow.completeReconstruction(drill.reconstructionId, ctx('alice')))).toMatchObject({ code: 'ILLEGAL_TRANSITION', message: expect.stringContaining('2 of 3') });
    // Frank hands in Erin's share as his own: the library would recombine a wrong key silently.
    const swapped = await refusal(submit(frank, open(erin)));
    expect(swapped).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'share', facts: { custodian: 'frank' }, message: expect.stringContaining('frank') });
    await submit(erin);
    const { transcript } = await escrow.completeReconstruction(drill.reconstructionId, ctx('alice'));
    expect(transcript).toMatchObject({ purpose: 'DRILL', verified: true, usableUntil: null, refused: [{ custodianId: 'frank', shareIndex: 4 }] });
    expect(transcript.accepted.map((a) => a.custodianId)).toEqual(['carol', 'dave', 'erin']);
    expect(await escrow.usable(keyId, v1.version)).toBe(false);
    expect((await escrow.status(keyId, v1.version)).lastDrillAt).toBe(clock.now().toISOString());
    const signed = (await store.readStream(escrowCeremonyStreamId(keyId, v1.version))).events
      .map((e) => escrowCeremonyEventCodec.parse(e))
      .find((e) => e.type === 'ReconstructionCompleted');
    if (signed?.type !== 'ReconstructionCompleted') throw new Error('no reconstruction recorded');
    files.set(reconstructionFile(transcript.ceremonyId, transcript.reconstructionId), Buffer.from(canonicalJson({ transcript: signed.data.transcript, attestationSignature: signed.data.attestationSignature })));
    expect(verifyEscrowEvidence(files)).toMatchObject({ valid: true, reconstructions: 1 });
  });

  it('a corrupted share (one byte changed) is named and refused', async () => {
    const drill = await escrow.openReconstruction(keyId, v1.version, 'DRILL', ctx('alice'));
    const grace = v1.packages[4];
    const share = open(grace);
    share[share.length >> 1] ^= 0x01;
    const e = await refusal(escrow.submitShare(drill.reconstructionId, 'grace', sealSubmission(drill.ceremonyPublicKey, share, { reconstructionId: drill.reconstructionId, custodianId: 'grace' }), ctx('grace')));
    expect(e).toMatchObject({ field: 'share', facts: { custodian: 'grace' } });
  });

  it('an emergency unseal needs a second person and enables use for a bounded window only', async () => {
    expect(await refusal(escrow.openReconstruction(keyId, v1.version, 'UNSEAL', ctx('alice')))).toMatchObject({ code: 'APPROVAL_REQUIRED' });
    const unseal = await escrow.openReconstruction(keyId, v1.version, 'UNSEAL', admin);
    for (const pkg of v1.packages.slice(2)) {
      await escrow.submitShare(unseal.reconstructionId, pkg.custodianId, sealSubmission(unseal.ceremonyPublicKey, open(pkg), { reconstructionId: unseal.reconstructionId, custodianId: pkg.custodianId }), ctx(pkg.custodianId));
    }
    const { transcript } = await escrow.completeReconstruction(unseal.reconstructionId, admin);
    expect(transcript).toMatchObject({ purpose: 'UNSEAL', verified: true, approvers: ['bob'], usableUntil: new Date(clock.now().getTime() + HOUR_MS).toISOString() });
    expect(await escrow.usable(keyId, v1.version)).toBe(true);
    clock.advance(HOUR_MS + 1);
    expect(await escrow.usable(keyId, v1.version)).toBe(false);
  });

  it('reseal at day 30: the rotation seals the new version itself; all five declarations destroy the old version through its lifecycle', async () => {
    const oldMaterial = await material(keyId, v1.version);
    clock.advance(30 * DAY_MS);
    const v2 = await rotateAndCounterSign(keyId);
    expect(v2.version).toBe(2);
    expect((await escrow.signedTranscript(keyId, 2)).transcript.previousCeremonyId).toBe(v1.packages[0].ceremonyId);
    expect(await escrow.status(keyId, 2)).toMatchObject({ status: 'SEALED', threshold: 3, shareCount: 5, counterSigned: CUSTODIANS });
    expect(await escrow.status(keyId, v1.version)).toMatchObject({ status: 'SUPERSEDED', pendingDeclarations: CUSTODIANS, declareBy: new Date(clock.now().getTime() + 48 * HOUR_MS).toISOString() });
    expect(await refusal(escrow.settleDeclarations(keyId, v1.version, scheduler))).toMatchObject({ code: 'CONFIRMATIONS_NOT_OVERDUE' });
    for (const pkg of v1.packages) await declare(pkg);
    const settled = await escrow.settleDeclarations(keyId, v1.version, scheduler);
    expect(settled).toMatchObject({ status: 'DESTROYED', pendingDeclarations: [] });
    const v = (await catalog.get(keyId)).key.versions[0];
    expect(v).toMatchObject({ version: 1, state: 'DESTROYED', destroyedAt: clock.now().toISOString() });
    expect(await refusal(software.exportForEscrow({ keyId, version: 1, algorithm: v.algorithm, materialRef: v.materialRef }))).toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringContaining('missing') });
    // On the key's own stream, naming the ceremony; and on the ceremony's stream, naming the declarations' ceremony.
    const keyEvents = (await store.readStream(`key-${keyId}`)).events;
    expect(keyEvents.filter((e) => e.type === 'KeyVersionDestroyed').map((e) => e.data)).toEqual([
      expect.objectContaining({ version: 1, materialDestroyed: true, escrowCeremonyId: v1.packages[0].ceremonyId }),
    ]);
    const ceremonyEvents = (await store.readStream(escrowCeremonyStreamId(keyId, 1))).events.map((e) => e.type);
    expect(ceremonyEvents.filter((t) => t === 'PackageDestructionDeclared')).toHaveLength(5);
    expect(ceremonyEvents.at(-1)).toBe('EscrowedVersionDestroyed');
    expect(oldMaterial).toHaveLength(32);
    expect(verifyEscrowEvidence(files)).toMatchObject({ valid: true, ceremonies: 2, declarations: 5 });
  });
});

describe('a reseal with one declaration missing', () => {
  it('raises EscrowDeclarationOverdue after the window and destroys nothing', async () => {
    const keyId = await createBreakGlassKey('payments-break-glass');
    overdueKeyId = keyId;
    const v1 = await sealAndCounterSign(keyId);
    clock.advance(30 * DAY_MS);
    await rotateAndCounterSign(keyId);
    for (const pkg of v1.packages.slice(0, 4)) await declare(pkg);
    clock.advance(48 * HOUR_MS + 1);
    const settled = await escrow.settleDeclarations(keyId, v1.version, scheduler);
    expect(settled).toMatchObject({ status: 'SUPERSEDED', pendingDeclarations: ['grace'] });
    const types = (await store.readStream(escrowCeremonyStreamId(keyId, v1.version))).events.map((e) => e.type);
    expect(types.filter((t) => t === 'EscrowDeclarationOverdue')).toHaveLength(1);
    expect(types).not.toContain('EscrowedVersionDestroyed');
    expect(await material(keyId, v1.version)).toHaveLength(32);
    expect((await catalog.get(keyId)).key.versions[0].state).toBe('ENABLED');
    // The alert is raised once, however often the scheduler settles.
    await escrow.settleDeclarations(keyId, v1.version, scheduler);
    expect((await store.readStream(escrowCeremonyStreamId(keyId, v1.version))).events.filter((e) => e.type === 'EscrowDeclarationOverdue')).toHaveLength(1);
  });
});

describe('a new version of an escrowed key', () => {
  it('is not usable in clear until sealed', async () => {
    const keyId = await createBreakGlassKey('ops-break-glass');
    // Version 1 existed before the policy: an ordinary key until its ceremony.
    await escrow.assertUsable(keyId, 1);
    await sealAndCounterSign(keyId);
    expect(await refusal(escrow.assertUsable(keyId, 1))).toMatchObject({ code: 'KEY_SEALED', field: 'key_id' });
    // A version introduced without the escrow hook (as if its ceremony had not run): fail closed.
    const bare = new KeyLifecycleService(store, catalog, { SOFTWARE: software, HSM: hsm.keyBackend }, clock);
    const rotated = await bare.rotateKey(keyId, 'MANUAL', admin);
    expect(rotated.primaryVersion).toBe(2);
    expect(await refusal(escrow.assertUsable(keyId, 2))).toMatchObject({ code: 'KEY_SEALED', message: expect.stringContaining('not sealed yet') });
    await escrow.seal(keyId, admin, 2);
    expect(await refusal(escrow.assertUsable(keyId, 2))).toMatchObject({ code: 'KEY_SEALED', message: expect.stringContaining('sealed in escrow') });
  });
});

/** The labels of every object on this file's token (keys and data objects), as OpenSC pkcs11-tool lists them. */
function tokenLabels(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'pkcs11-tool',
      ['--module', SOFTHSM_MODULE, '--token-label', token.label, '--login', '--pin', token.pin(), '--list-objects'],
      { env: { ...process.env, SOFTHSM2_CONF: token.confPath } },
      (error, stdout) => (error ? reject(error) : resolve([...stdout.matchAll(/^\s*label:\s*'?(.*?)'?\s*$/gm)].map((m) => m[1]))),
    );
  });
}

describe('an HSM break-glass key (SoftHSM2)', () => {
  it('is made from the module RNG as a sensitive, never-extractable object; its transfer copy is consumed by the sealing ceremony; the shares recombine to the key the HSM uses; all five declarations destroy the old object', async () => {
    const created = await lifecycle.createKey({ tenant: 'acme', name: 'hsm-break-glass', purpose: 'BREAK_GLASS', algorithm: 'AES_256_GCM', protectionLevel: 'HSM', labels: {}, owner: 'sre' }, admin);
    const keyId = created.keyId;
    hsmEscrowedKeyId = keyId;
    const v1 = created.versions[0];
    // Not generated by the module (CKA_LOCAL false), but never readable or extractable; the origin says it was made for escrow.
    expect(v1.origin).toMatchObject({ madeForEscrow: true, attributes: { local: false, sensitive: true, extractable: false } });
    expect(await tokenLabels()).toEqual(expect.arrayContaining([`kms:${keyId}:v1`, `kms-escrow:${keyId}:v1`]));
    const handle = { keyId, version: 1, algorithm: v1.algorithm, materialRef: v1.materialRef };
    // Ciphertext made inside the HSM before the ceremony, to be opened later with the recombined shares.
    const aad = Buffer.from('break-glass');
    const sealedByHsm = await hsm.keyBackend.encrypt(handle, Buffer.from('the HSM key itself'), aad);

    await escrow.setEscrowPolicy({ keyId, threshold: 3, custodians: CUSTODIANS, witness: 'wendy', declarationWindowHours: 48 }, admin);
    const sealed = await escrow.seal(keyId, admin);
    expect(sealed.transcript).toMatchObject({ version: 1, protectionLevel: 'HSM', threshold: 3, shareCount: 5 });
    const { packages } = await counterSignAll(keyId, 1);
    // The transfer copy is gone once the ceremony is recorded; the key object stays.
    const labels = await tokenLabels();
    expect(labels).toContain(`kms:${keyId}:v1`);
    expect(labels).not.toContain(`kms-escrow:${keyId}:v1`);
    expect(await refusal(hsm.keyBackend.exportForEscrow?.(handle) ?? Promise.resolve())).toMatchObject({ code: 'ILLEGAL_TRANSITION', field: 'key_version' });
    expect(await refusal(escrow.assertUsable(keyId, 1))).toMatchObject({ code: 'KEY_SEALED' });

    // Any 3 of the 5 shares are the HSM's key: they open what the HSM sealed.
    const shares = packages.slice(1, 4).map((p) => new Uint8Array(open(p)));
    const recombined = Buffer.from(await combine(shares));
    secretsSeen.push(Buffer.from(recombined));
    const decipher = createDecipheriv('aes-256-gcm', recombined, sealedByHsm.subarray(0, 12));
    decipher.setAAD(aad);
    decipher.setAuthTag(sealedByHsm.subarray(sealedByHsm.length - 16));
    expect(Buffer.concat([decipher.update(sealedByHsm.subarray(12, sealedByHsm.length - 16)), decipher.final()]).toString()).toBe('the HSM key itself');

    // An emergency unseal with 3 shares verifies against the sealed fingerprint and enables the HSM key.
    const unseal = await escrow.openReconstruction(keyId, 1, 'UNSEAL', admin);
    for (const pkg of packages.slice(0, 3)) {
      await escrow.submitShare(unseal.reconstructionId, pkg.custodianId, sealSubmission(unseal.ceremonyPublicKey, open(pkg), { reconstructionId: unseal.reconstructionId, custodianId: pkg.custodianId }), ctx(pkg.custodianId));
    }
    expect((await escrow.completeReconstruction(unseal.reconstructionId, admin)).transcript).toMatchObject({ purpose: 'UNSEAL', verified: true });
    await escrow.assertUsable(keyId, 1);
    expect(await hsm.keyBackend.decrypt(handle, sealedByHsm, aad)).toEqual(Buffer.from('the HSM key itself'));

    // Day 30: the rotation makes v2 the same way and seals it (its transfer copy consumed too).
    clock.advance(30 * DAY_MS);
    await lifecycle.rotateKey(keyId, 'SCHEDULED', scheduler);
    await counterSignAll(keyId, 2);
    expect(await escrow.status(keyId, 2)).toMatchObject({ status: 'SEALED', shareCount: 5 });
    const afterRotation = await tokenLabels();
    expect(afterRotation).toEqual(expect.arrayContaining([`kms:${keyId}:v1`, `kms:${keyId}:v2`]));
    expect(afterRotation.filter((l) => l.startsWith(`kms-escrow:${keyId}:`))).toEqual([]);
    for (const pkg of packages) await declare(pkg);
    await escrow.settleDeclarations(keyId, 1, scheduler);
    const ceremony = (await store.readStream(escrowCeremonyStreamId(keyId, 1))).events.map((e) => escrowCeremonyEventCodec.parse(e));
    expect(ceremony.at(-1)).toMatchObject({ type: 'EscrowedVersionDestroyed', data: expect.objectContaining({ hsmObjectDestroyed: true }) });
    const remaining = await tokenLabels();
    expect(remaining).not.toContain(`kms:${keyId}:v1`);
    expect(remaining).toContain(`kms:${keyId}:v2`);
    expect(await refusal(hsm.keyBackend.decrypt(handle, sealedByHsm, aad))).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('refuses an HSM break-glass key pair: its private key could not be split without leaving the module', async () => {
    const before = (await tokenLabels()).length;
    const e = await refusal(lifecycle.createKey({ tenant: 'acme', name: 'hsm-break-glass-pair', purpose: 'BREAK_GLASS', algorithm: 'ECDSA_P256_SHA256', protectionLevel: 'HSM', labels: {}, owner: 'sre' }, admin));
    expect(e).toMatchObject({ code: 'UNSUPPORTED_ALGORITHM', field: 'algorithm', message: expect.stringContaining('break-glass') });
    // Nothing left on the token: no object, no transfer copy.
    expect(await tokenLabels()).toHaveLength(before);
  });
});

/** Every row of every table of the schema, as text (bytea as \\x<hex>). */
async function dumpTables(): Promise<string> {
  const tables = await pool.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [target.schema]);
  let dump = '';
  for (const { table_name } of tables.rows) {
    const rows = await pool.query<{ row: string }>(`SELECT t::text AS row FROM "${target.schema}"."${table_name}" t`);
    dump += rows.rows.map((r) => r.row).join('\n');
  }
  return dump;
}

function expectNoneOf(secrets: Buffer[], haystack: string): void {
  for (const secret of secrets) {
    for (const encoding of ['hex', 'base64', 'base64url'] as const) expect(haystack.includes(secret.toString(encoding))).toBe(false);
    // Binary bytea columns appear as \x<hex>: a 16-byte run of any secret in hex is enough to be found.
    expect(haystack.includes(secret.subarray(0, 16).toString('hex'))).toBe(false);
  }
}

const submission = (drill: { reconstructionId: string; ceremonyPublicKey: string }, pkg: SealedPackage) =>
  sealSubmission(drill.ceremonyPublicKey, open(pkg), { reconstructionId: drill.reconstructionId, custodianId: pkg.custodianId });
const keptRows = async (reconstructionId: string) => (await pool.query('SELECT 1 FROM escrow_ceremony_keys WHERE reconstruction_id = $1', [reconstructionId])).rowCount;

describe('an open reconstruction and a restart of the key service', () => {
  /** A key service started again on the same database and master key: nothing of the old process's memory. */
  function restartedEscrow(): { escrow: EscrowService; software: SoftwareKeyBackend } {
    const backend = new SoftwareKeyBackend({ store: new PostgresKeyMaterialStore(pool), masterKey, ceremonyKeys: new PostgresCeremonyKeyStore(pool), now: () => clock.now() });
    const restartedLifecycle = new KeyLifecycleService(store, catalog, { SOFTWARE: backend, HSM: hsm.keyBackend }, clock);
    const service = new EscrowService({ store, clock, attestation: hsm.attestationSigner, material: escrowMaterialFrom({ SOFTWARE: backend, HSM: hsm.keyBackend }, backend), versions: restartedLifecycle });
    restartedLifecycle.useNewVersionHook(service);
    return { escrow: service, software: backend };
  }

  it('survives it: one share before, the rest after, and the drill completes with a transcript the offline verifier accepts; the ceremony key is never in clear', async () => {
    const keyId = await createBreakGlassKey('restart-break-glass');
    const { packages } = await sealAndCounterSign(keyId);
    const [carol, dave, erin] = packages;
    const drill = await escrow.openReconstruction(keyId, 1, 'DRILL', ctx('alice'));
    expect(await escrow.submitShare(drill.reconstructionId, 'carol', submission(drill, carol), ctx('carol'))).toEqual({ accepted: 1, threshold: 3 });

    const restarted = restartedEscrow();
    const { restored, discarded } = await restarted.escrow.restoreReconstructions();
    expect(restored).toContainEqual({ reconstructionId: drill.reconstructionId, keyId, version: 1, accepted: 1 });
    expect(discarded).not.toContain(drill.reconstructionId);
    expect(await restarted.escrow.openReconstructionsOf(keyId, 1)).toEqual([{ reconstructionId: drill.reconstructionId, ceremonyPublicKey: drill.ceremonyPublicKey, purpose: 'DRILL', expiresAt: drill.expiresAt }]);

    // The ceremony private key as the restarted service unwraps it: in no table, in no encoding.
    const ceremonyKey = await restarted.software.escrowCeremonyKey(drill.reconstructionId);
    if (!ceremonyKey) throw new Error('the restarted service has no ceremony key');
    const pkcs8 = ceremonyKey.privateKey.export({ format: 'der', type: 'pkcs8' });
    const raw = Buffer.from(String(ceremonyKey.privateKey.export({ format: 'jwk' }).d), 'base64url');
    expect(raw).toHaveLength(32);
    secretsSeen.push(pkcs8, raw);
    expect(await keptRows(drill.reconstructionId)).toBe(1);
    const dump = await dumpTables();
    expect(dump).toContain(drill.reconstructionId);
    expectNoneOf([pkcs8, raw], dump);

    // Carol's accepted submission came back from the events: two more shares are enough.
    await restarted.escrow.submitShare(drill.reconstructionId, 'dave', submission(drill, dave), ctx('dave'));
    expect(await restarted.escrow.submitShare(drill.reconstructionId, 'erin', submission(drill, erin), ctx('erin'))).toEqual({ accepted: 3, threshold: 3 });
    const { transcript } = await restarted.escrow.completeReconstruction(drill.reconstructionId, ctx('alice'));
    expect(transcript).toMatchObject({ purpose: 'DRILL', verified: true, requestedBy: 'alice' });
    expect(transcript.accepted.map((a) => a.custodianId)).toEqual(['carol', 'dave', 'erin']);
    const signed = (await store.readStream(escrowCeremonyStreamId(keyId, 1))).events
      .map((e) => escrowCeremonyEventCodec.parse(e))
      .find((e) => e.type === 'ReconstructionCompleted' && e.data.reconstructionId === drill.reconstructionId);
    if (signed?.type !== 'ReconstructionCompleted') throw new Error('no reconstruction recorded');
    files.set(reconstructionFile(transcript.ceremonyId, transcript.reconstructionId), Buffer.from(canonicalJson({ transcript: signed.data.transcript, attestationSignature: signed.data.attestationSignature })));
    expect(verifyEscrowEvidence(files)).toMatchObject({ valid: true, problems: [] });
    // Completed: the ceremony key is deleted, so the submissions recorded in the events no longer open.
    expect(await keptRows(drill.reconstructionId)).toBe(0);
    expect(await escrow.openReconstructionsOf(keyId, 1)).toEqual([]);
    expect(await refusal(escrow.submitShare(drill.reconstructionId, 'frank', submission(drill, packages[3]), ctx('frank')))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'reconstruction_id' });
  });

  it('an expired reconstruction is not restored: its ceremony key is deleted at start and shares are refused', async () => {
    const keyId = await createBreakGlassKey('expiring-break-glass');
    const { packages } = await sealAndCounterSign(keyId);
    const drill = await escrow.openReconstruction(keyId, 1, 'DRILL', ctx('alice'));
    await escrow.submitShare(drill.reconstructionId, 'carol', submission(drill, packages[0]), ctx('carol'));
    clock.advance(HOUR_MS + 1);
    const restarted = restartedEscrow();
    const { restored, discarded } = await restarted.escrow.restoreReconstructions();
    expect(discarded).toContain(drill.reconstructionId);
    expect(restored.map((r) => r.reconstructionId)).not.toContain(drill.reconstructionId);
    expect(await keptRows(drill.reconstructionId)).toBe(0);
    expect(await restarted.escrow.openReconstructionsOf(keyId, 1)).toEqual([]);
    expect(await refusal(restarted.escrow.submitShare(drill.reconstructionId, 'dave', submission(drill, packages[1]), ctx('dave')))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'reconstruction_id',
      message: expect.stringContaining('no open reconstruction'),
    });
    expect(await refusal(restarted.escrow.completeReconstruction(drill.reconstructionId, ctx('alice')))).toMatchObject({ field: 'reconstruction_id' });
  });
});

describe('the ceremony keys of expired reconstructions, while the service runs', () => {
  it('are swept when their window passes (the key service runs this on its timer), and only those', async () => {
    const keyId = await createBreakGlassKey('sweeping-break-glass');
    const { packages } = await sealAndCounterSign(keyId);
    const early = await escrow.openReconstruction(keyId, 1, 'DRILL', ctx('alice'));
    await escrow.submitShare(early.reconstructionId, 'carol', submission(early, packages[0]), ctx('carol'));
    clock.advance(30 * 60 * 1000);
    const late = await escrow.openReconstruction(keyId, 1, 'DRILL', ctx('alice'));
    expect(await escrow.hasExpiredCeremonyKeys()).toBe(false);
    expect(await escrow.sweepExpiredCeremonyKeys()).toEqual([]);
    clock.advance(30 * 60 * 1000 + 1);
    expect(await escrow.hasExpiredCeremonyKeys()).toBe(true);
    expect(await escrow.sweepExpiredCeremonyKeys()).toEqual([early.reconstructionId]);
    expect(await keptRows(early.reconstructionId)).toBe(0);
    expect(await keptRows(late.reconstructionId)).toBe(1);
    expect(await escrow.hasExpiredCeremonyKeys()).toBe(false);
    // The swept one's recorded submission can no longer be opened: it refuses more shares.
    expect(await refusal(escrow.submitShare(early.reconstructionId, 'dave', submission(early, packages[1]), ctx('dave')))).toMatchObject({ field: 'reconstruction_id' });
    // The later one still works.
    for (const pkg of packages.slice(0, 3)) await escrow.submitShare(late.reconstructionId, pkg.custodianId, submission(late, pkg), ctx(pkg.custodianId));
    expect((await escrow.completeReconstruction(late.reconstructionId, ctx('alice'))).transcript).toMatchObject({ verified: true });
  });
});

describe('the key evidence bundle', () => {
  it('carries the escrow documents of a break-glass key, and the offline bundle verifier checks them, naming an altered one', async () => {
    // The audit projector's own pieces: it projects this store into its ledger and builds the bundle.
    const signer = SoftwareAttestationSigner.generate();
    const now = { now: () => clock.now() };
    // Beside the escrowed ones, an HSM version imported by its customer (BYOK): its statement must say imported too.
    const byok = await lifecycle.createKey({ tenant: 'acme', name: 'byok-hsm', purpose: 'DATA_PROTECTION', algorithm: 'AES_256_GCM', protectionLevel: 'HSM', labels: {}, owner: 'sre' }, admin);
    const params = await lifecycle.importParameters(byok.keyId);
    const wrapDir = await mkdtemp(join(tmpdir(), 'kms-escrow-byok-'));
    try {
      const wrapped = await wrapWithOpenssl(wrapDir, params.wrappingPublicKeySpki, randomBytes(32), params.wrappingAlgorithm.includes('SHA1') ? 'sha1' : 'sha256');
      await lifecycle.importKeyVersion(byok.keyId, { importToken: params.importToken, wrappedMaterial: wrapped }, admin);
    } finally {
      await rm(wrapDir, { recursive: true, force: true });
    }
    const readModel = await readModelTestSchema('escrow_rm');
    const ledger = new LedgerStore(readModel.dataSource, 'kms.test/ledger', signer, now);
    const runner = new ProjectionRunner(new ProjectionStore(readModel.dataSource), store, new PostgresAuditFeed(pool, testAuditSealer()), ledger, now, undefined, {
      checkpointIntervalMs: 0,
      pollIntervalMs: 20,
      retryDelayMs: 50,
    });
    runner.start();
    try {
      const head = BigInt((await pool.query<{ h: string }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0');
      await runner.waitFor({ events: head }, 20_000);
      const bundle = readTar((await new EvidenceBundleBuilder(readModel.dataSource, ledger, signer, now).build(resealedKeyId)).tar);
      const escrowPaths = [...bundle.keys()].filter((p) => p.startsWith('escrow/'));
      expect(escrowPaths).toContain(ESCROW_ATTESTATION_KEY_FILE);
      expect(escrowPaths.filter((p) => p.endsWith('/sealing-transcript.json'))).toHaveLength(2);
      expect(escrowPaths.filter((p) => p.includes('/declarations/'))).toHaveLength(5);
      // The drill and the emergency unseal.
      expect(escrowPaths.filter((p) => p.includes('/reconstructions/'))).toHaveLength(2);
      // Byte for byte the documents the KMS signed and the custodians handed in (as the test kept them).
      const kept = escrowPaths.filter((p) => files.has(p) && p !== ESCROW_ATTESTATION_KEY_FILE);
      expect(kept.length).toBeGreaterThanOrEqual(8);
      for (const p of kept) expect({ p, bytes: bundle.get(p)?.toString('utf8') }).toEqual({ p, bytes: files.get(p)?.toString('utf8') });
      // The key record shows version 1 destroyed by its escrow.
      expect(JSON.parse(String(bundle.get('key-record.json'))).versions[0]).toMatchObject({ version: 1, state: 'DESTROYED' });

      const verified = verifyEvidenceBundle(bundle, await signer.publicKeyPem());
      expect(verified.failedFiles).toEqual([]);
      expect(verified.findings).toContainEqual(expect.objectContaining({ ok: true, file: 'escrow/', message: expect.stringContaining('2 sealing ceremony transcript(s), 5 destruction declaration(s) and 2 reconstruction transcript(s)') }));
      // One character of a declaration changed (and the manifest re-signed by a forger cannot be): named.
      const declaration = escrowPaths.find((p) => p.includes('/declarations/')) as string;
      const altered = new Map(bundle);
      altered.set(declaration, Buffer.from(withOneCharChanged(String(bundle.get(declaration)), Math.floor(String(bundle.get(declaration)).length / 2))));
      const failed = verifyEvidenceBundle(altered, await signer.publicKeyPem());
      expect(failed.ok).toBe(false);
      expect(failed.failedFiles).toContain(declaration);

      // The HSM break-glass key: its origin statements say "made for escrow", which the verifier accepts as such (not as generated).
      const hsmBundle = readTar((await new EvidenceBundleBuilder(readModel.dataSource, ledger, signer, now).build(hsmEscrowedKeyId)).tar);
      const hsmVerified = verifyEvidenceBundle(hsmBundle, await signer.publicKeyPem());
      expect(hsmVerified.failedFiles).toEqual([]);
      for (const v of [1, 2]) {
        expect(hsmVerified.findings).toContainEqual(expect.objectContaining({ ok: true, file: `origin-statements/v${v}.json`, message: expect.stringContaining('made for break-glass escrow') }));
      }
      const byokVerified = verifyEvidenceBundle(readTar((await new EvidenceBundleBuilder(readModel.dataSource, ledger, signer, now).build(byok.keyId)).tar), await signer.publicKeyPem());
      expect(byokVerified.failedFiles).toEqual([]);
      expect(byokVerified.findings).toContainEqual(expect.objectContaining({ ok: true, file: 'origin-statements/v2.json', message: expect.stringContaining('imported (brought by the customer)') }));
      // A statement that drops the flag no longer matches the key record (whatever signs it).
      const statement = JSON.parse(String(hsmBundle.get('origin-statements/v2.json'))) as { statement: { origin: Record<string, unknown> } };
      delete statement.statement.origin['madeForEscrow'];
      const stripped = new Map(hsmBundle);
      stripped.set('origin-statements/v2.json', Buffer.from(JSON.stringify(statement)));
      expect(verifyEvidenceBundle(stripped, await signer.publicKeyPem()).failedFiles).toContain('origin-statements/v2.json');

      // The compliance API: each break-glass key's seal, custodians, last drill and pending declarations.
      const compliance = new ComplianceQueries(readModel.dataSource, now);
      const views = new Map((await compliance.escrow()).map((v) => [v.key_id, v]));
      const resealed = views.get(resealedKeyId) as EscrowView;
      expect(resealed).toMatchObject({
        primary_version: 2,
        current_seal: { version: 2, status: 'SEALED', threshold: 3, share_count: 5, custodians: CUSTODIANS, counter_signed: CUSTODIANS },
        pending_declarations: [],
      });
      // The later stories moved the clock on by 32 days: version 2 is due for its reseal, and its only drill was of version 1.
      expect(resealed.findings).toEqual(['sealed more than 30 days ago', 'no recovery drill in the last 30 days']);
      expect(views.get(overdueKeyId)).toMatchObject({ pending_declarations: [{ version: 1, custodians: ['grace'], overdue: true }] });
      expect(views.get(overdueKeyId)?.findings).toContainEqual(expect.stringContaining('declarations for version 1 overdue from grace'));
      const control = ((await compliance.controls({ events: 1, audit: 0, eventsCheckpoint: 1, auditCheckpoint: 0 })) as Array<{ id: string; status: string; evidence: string[] }>).find((c) => c.id === 'KMS-ESC-01');
      expect(control).toMatchObject({ status: 'FAIL', evidence: expect.arrayContaining(['/v1/escrow', `/v1/evidence/keys/${overdueKeyId}`, `/v1/evidence/keys/${resealedKeyId}`]) });

      // A drill of the current version clears the drill finding.
      const v2 = await Promise.all(CUSTODIANS.slice(0, 3).map((c) => escrow.packageOf(resealedKeyId, 2, c)));
      const drill = await escrow.openReconstruction(resealedKeyId, 2, 'DRILL', ctx('alice'));
      for (const pkg of v2) {
        await escrow.submitShare(drill.reconstructionId, pkg.custodianId, sealSubmission(drill.ceremonyPublicKey, open(pkg), { reconstructionId: drill.reconstructionId, custodianId: pkg.custodianId }), ctx(pkg.custodianId));
      }
      await escrow.completeReconstruction(drill.reconstructionId, ctx('alice'));
      const after = BigInt((await pool.query<{ h: string }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0');
      await runner.waitFor({ events: after }, 20_000);
      const drilled = (await compliance.escrow()).find((v) => v.key_id === resealedKeyId);
      expect(drilled).toMatchObject({ last_drill_at: clock.now().toISOString(), findings: ['sealed more than 30 days ago'] });
    } finally {
      await runner.stop();
      await readModel.drop();
    }
  }, 60_000);
});

describe('the offline verifier', () => {
  it('fails naming the file when any transcript or declaration is altered', () => {
    expect(verifyEscrowEvidence(files).valid).toBe(true);
    const documents = [...files.keys()].filter((f) => f !== ESCROW_ATTESTATION_KEY_FILE);
    expect(documents.length).toBeGreaterThan(10);
    for (const file of documents) {
      const text = String(files.get(file));
      for (const at of [Math.floor(text.length / 4), Math.floor(text.length / 2), Math.floor((3 * text.length) / 4)]) {
        const altered = new Map(files);
        altered.set(file, Buffer.from(withOneCharChanged(text, at)));
        const result = verifyEscrowEvidence(altered);
        expect({ file, at, valid: result.valid }).toEqual({ file, at, valid: false });
        expect(result.problems.map((p) => p.file)).toContain(file);
      }
    }
  });
});

describe('secrecy', () => {
  it('no share and no break-glass material appears in any table or error', async () => {
    expect(secretsSeen.length).toBeGreaterThanOrEqual(10);
    const dump = await dumpTables();
    expect(dump).toContain('SharePackageSealed');
    // Accepted submissions are recorded encrypted to their ceremony key, which is gone once completed.
    expect(dump).toContain('ShareSubmissionAccepted');
    expectNoneOf(secretsSeen, dump + errorsSeen.join('\n'));
  });
});
