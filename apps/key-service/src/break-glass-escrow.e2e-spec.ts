/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { randomUUID } from 'node:crypto';
import { destructionDeclaration } from '@kms/application';
import { softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { generateCustodianKeys, openShare, sealSubmission, signCanonicalEd25519, type CustodianPrivateKeys, type SealedPackage, type SealingTranscript } from '@kms/evidence';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';
import { auditRows, refused, streamEvents } from './access-control.e2e-helpers';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const TICKET = { change_ticket: 'CHG-ESCROW' };

type Status = { status: string; custodians: string[]; counter_signed: string[]; pending_declarations: string[]; declare_by: string; last_drill_time: string; usable_until: string; open_reconstructions: Array<{ reconstruction_id: string; ceremony_public_key: string; purpose: string }> };
type Seal = { transcript_json: string; attestation_signature: string; packages: Array<{ custodian_id: string; package_json: string }> };


/** One person asks (answered APPROVAL_REQUIRED, nothing done), a second approves: the change runs then. */
async function byTwoPeople(asker: Actor, approver: Actor, method: Parameters<Actor['call']>[0], request: Record<string, unknown>): Promise<{ status: string; operation: string }> {
  const asked = await refused(asker.call(method, request));
  expect(asked.errorCode).toBe('APPROVAL_REQUIRED');
  const approvalId = /request ([0-9a-f-]{36}) was created/.exec(asked.details)?.[1];
  if (!approvalId) throw new Error(`no approval id in: ${asked.details}`);
  // The asker may not approve their own request.
  expect((await refused(asker.call('ApproveRequest', { approval_id: approvalId, context: TICKET }))).errorCode).toBe('SELF_APPROVAL');
  return approver.call('ApproveRequest', { approval_id: approvalId, context: TICKET });
}

/**
 * Break-glass escrow over gRPC with people enrolled with real FIDO2 + TOTP (docs/break-glass.md):
 * custodian enrolment, escrow policy and emergency unseal take two people; custodians act as
 * themselves; the transcript is signed by the HSM attestation key (SoftHSM2).
 */
describe('break-glass escrow over gRPC, with two people for enrolment, policy and unseal (issue 18)', () => {
  let kms: KeyServiceUnderTest;
  let erin: Actor;
  let frank: Actor;
  /** A workload with grants on the break-glass key: its use is what an unseal enables. */
  let app: Actor;
  let ciphertextBeforeSealing: Buffer;
  const custodians: Array<{ actor: Actor; keys: CustodianPrivateKeys }> = [];
  let keyId: string;
  let transcript: SealingTranscript;
  const packages = new Map<string, SealedPackage>();

  const custodianNamed = (identityId: string) => {
    const c = custodians.find((x) => x.actor.identityId === identityId);
    if (!c) throw new Error(`no custodian ${identityId}`);
    return c;
  };
  const packageOf = (custodianId: string): SealedPackage => {
    const p = packages.get(custodianId);
    if (!p) throw new Error(`no package for ${custodianId}`);
    return p;
  };
  const status = (version: number) => erin.call<Status>('GetEscrowStatus', { key_id: keyId, key_version: version });
  /** A custodian opens their package and submits the share, encrypted to the ceremony key. */
  const submit = (custodian: Actor, reconstruction: { reconstruction_id: string; ceremony_public_key: string }, pkg: SealedPackage) => {
    const share = openShare(custodianNamed(custodian.identityId).keys.encryptionPrivateKey, pkg.box, pkg);
    const submission = sealSubmission(reconstruction.ceremony_public_key, share, { reconstructionId: reconstruction.reconstruction_id, custodianId: custodian.identityId });
    share.fill(0);
    return custodian.call<{ accepted: number; threshold: number }>('SubmitEscrowShare', { reconstruction_id: reconstruction.reconstruction_id, submission_json: JSON.stringify(submission) });
  };

  beforeAll(async () => {
    const token = softHsmTestToken();
    kms = await startKeyServiceUnderTest('e2e_escrow', { KMS_HSM_ENABLED: '1', KMS_HSM_PIN_FILE: token.userPinFile, SOFTHSM2_CONF: token.confPath });
    erin = await kms.register('erin.seceng', 'HUMAN', ['security-engineering', 'key-admin']);
    frank = await kms.register('frank.seceng', 'HUMAN', ['security-engineering', 'key-admin']);
    app = await kms.register('break-glass-app', 'WORKLOAD');
    for (const name of ['carol', 'dave', 'gina', 'hank', 'ivan']) {
      const actor = await kms.register(`${name}.custodian`, 'HUMAN', ['sre-oncall']);
      custodians.push({ actor, keys: generateCustodianKeys().privateKeys });
    }
  }, 240_000);
  afterAll(async () => {
    await kms?.stop();
  });

  it('enrols 5 custodians, each only once a second person approved (audited, nothing enrolled before)', async () => {
    for (const c of custodians) {
      const keys = generateCustodianKeys();
      c.keys = keys.privateKeys;
      const request = { identity_id: c.actor.identityId, ...{ encryption_public_key: keys.publicKeys.encryptionPublicKey, signing_public_key: keys.publicKeys.signingPublicKey }, context: TICKET };
      const requestId = randomUUID();
      const asked = await refused(erin.call('EnrolEscrowCustodian', request, requestId));
      expect(asked.errorCode).toBe('APPROVAL_REQUIRED');
      expect(await auditRows(kms.db, requestId)).toEqual([expect.objectContaining({ operation: 'EnrolEscrowCustodian', outcome: 'FAILURE', error_code: 'APPROVAL_REQUIRED', actor: erin.identityId })]);
      expect(await streamEvents(kms.db, `escrow-custodian-${c.actor.identityId}`)).toEqual([]);
      const approvalId = /request ([0-9a-f-]{36}) was created/.exec(asked.details)?.[1];
      const approved = await frank.call<{ status: string }>('ApproveRequest', { approval_id: approvalId, context: TICKET });
      expect(approved.status).toBe('EXECUTED');
      const events = await streamEvents(kms.db, `escrow-custodian-${c.actor.identityId}`);
      expect(events.map((e) => [e.type, e.metadata['actor'], e.metadata['approvers']])).toEqual([['CustodianEnrolled', erin.identityId, [frank.identityId]]]);
    }
    // A malformed key is refused before anyone is asked to approve, naming the field.
    const bad = await refused(erin.call('EnrolEscrowCustodian', { identity_id: custodians[0].actor.identityId, encryption_public_key: 'AAAA', signing_public_key: 'AAAA', context: TICKET }));
    expect({ code: bad.errorCode, field: bad.field }).toEqual({ code: 'INVALID_ARGUMENT', field: 'encryption_public_key' });
  });

  it('a 3-of-5 escrow policy takes two people; sealing gives each custodian a package only they open; every participant counter-signs', async () => {
    keyId = (
      await erin.call<{ key_id: string }>('CreateKey', {
        name: 'db-break-glass',
        purpose: 'BREAK_GLASS',
        algorithm: 'AES_256_GCM',
        policy: { grants: { [app.identityId]: { permissions: ['ENCRYPT', 'DECRYPT'] } } },
        context: TICKET,
      })
    ).key_id;
    // Before any ceremony the version is an ordinary key.
    ciphertextBeforeSealing = (await app.call<{ ciphertext: Buffer }>('Encrypt', { key_id: keyId, plaintext: Buffer.from('before sealing') })).ciphertext;
    const ids = custodians.map((c) => c.actor.identityId);
    // Sealing without a policy is refused.
    expect((await refused(erin.call('SealEscrow', { key_id: keyId }))).errorCode).toBe('ILLEGAL_TRANSITION');
    const approved = await byTwoPeople(erin, frank, 'SetEscrowPolicy', { key_id: keyId, threshold: 3, custodians: ids, witness: kms.admin.identityId, context: TICKET });
    expect(approved).toMatchObject({ status: 'EXECUTED', operation: 'SetEscrowPolicy' });

    const seal = await erin.call<Seal>('SealEscrow', { key_id: keyId, context: TICKET });
    transcript = JSON.parse(seal.transcript_json) as SealingTranscript;
    expect(transcript).toMatchObject({ keyId, version: 1, threshold: 3, shareCount: 5, initiatedBy: erin.identityId, witness: kms.admin.identityId });
    expect(seal.packages.map((p) => p.custodian_id)).toEqual(ids);
    // The KMS keeps the packages: each custodian fetches their own later, the same as handed over.
    for (const c of custodians) {
      const mine = await c.actor.call<{ custodian_id: string; package_json: string }>('GetEscrowPackage', { key_id: keyId, key_version: 1 });
      expect(mine.custodian_id).toBe(c.actor.identityId);
      expect(JSON.parse(mine.package_json)).toEqual(JSON.parse(seal.packages.find((p) => p.custodian_id === c.actor.identityId)?.package_json ?? 'null'));
      packages.set(c.actor.identityId, JSON.parse(mine.package_json) as SealedPackage);
    }
    // Someone who is no custodian gets none.
    expect((await refused(erin.call('GetEscrowPackage', { key_id: keyId, key_version: 1 }))).errorCode).toBe('PERMISSION_DENIED');
    // Carol's package does not open with Dave's key.
    const [carol, dave] = custodians;
    expect(() => openShare(dave.keys.encryptionPrivateKey, packageOf(carol.actor.identityId).box, packageOf(carol.actor.identityId))).toThrow(/authentication failed/);
    // A custodian cannot counter-sign with someone else's key.
    const forged = await refused(carol.actor.call('CounterSignEscrowTranscript', { key_id: keyId, key_version: 1, signature: signCanonicalEd25519(transcript, dave.keys.signingPrivateKey) }));
    expect({ code: forged.errorCode, field: forged.field }).toEqual({ code: 'INVALID_ARGUMENT', field: 'signature' });
    for (const c of custodians) {
      await c.actor.call('CounterSignEscrowTranscript', { key_id: keyId, key_version: 1, signature: signCanonicalEd25519(transcript, c.keys.signingPrivateKey) });
    }
    expect(await status(1)).toMatchObject({ status: 'SEALED', custodians: ids, counter_signed: ids });
    // Sealed: no use without an unseal, in either direction, and the refusal says why.
    const encrypt = await refused(app.call('Encrypt', { key_id: keyId, plaintext: Buffer.from('sealed') }));
    expect({ code: encrypt.errorCode, field: encrypt.field }).toEqual({ code: 'KEY_SEALED', field: 'key_id' });
    expect((await refused(app.call('Decrypt', { ciphertext: ciphertextBeforeSealing }))).errorCode).toBe('KEY_SEALED');
  });

  it('a drill recombines 3 shares and verifies the fingerprint without enabling use; 2 are not enough', async () => {
    const drill = await erin.call<{ reconstruction_id: string; ceremony_public_key: string }>('OpenEscrowReconstruction', { key_id: keyId, key_version: 1, purpose: 'DRILL', context: TICKET });
    const [carol, dave, gina] = custodians.map((c) => c.actor);
    await submit(carol, drill, packageOf(carol.identityId));
    await submit(dave, drill, packageOf(dave.identityId));
    expect((await refused(erin.call('CompleteEscrowReconstruction', { reconstruction_id: drill.reconstruction_id }))).errorCode).toBe('ILLEGAL_TRANSITION');
    // Gina cannot open Dave's package: it is sealed to Dave's key only.
    expect(() => openShare(custodianNamed(gina.identityId).keys.encryptionPrivateKey, packageOf(dave.identityId).box, packageOf(dave.identityId))).toThrow();
    // Hank hands in Gina's share as his own: refused naming him, and the refusal is recorded though the call fails.
    const hank = custodians[3].actor;
    const swapRequest = randomUUID();
    const swapped = await refused(
      hank.call(
        'SubmitEscrowShare',
        {
          reconstruction_id: drill.reconstruction_id,
          submission_json: JSON.stringify(
            sealSubmission(drill.ceremony_public_key, openShare(custodianNamed(gina.identityId).keys.encryptionPrivateKey, packageOf(gina.identityId).box, packageOf(gina.identityId)), {
              reconstructionId: drill.reconstruction_id,
              custodianId: hank.identityId,
            }),
          ),
        },
        swapRequest,
      ),
    );
    expect({ code: swapped.errorCode, field: swapped.field, message: swapped.details }).toEqual({ code: 'INVALID_ARGUMENT', field: 'share', message: expect.stringContaining(hank.identityId) });
    const refusals = (await streamEvents(kms.db, `escrow-ceremony-${keyId}-v1`)).filter((e) => e.type === 'ShareSubmissionRefused');
    expect(refusals.map((e) => [e.data['custodianId'], e.data['reconstructionId']])).toEqual([[hank.identityId, drill.reconstruction_id]]);
    expect(await auditRows(kms.db, swapRequest)).toEqual([
      expect.objectContaining({
        operation: 'SubmitEscrowShare',
        outcome: 'FAILURE',
        error_code: 'INVALID_ARGUMENT',
        actor: hank.identityId,
        details: expect.objectContaining({ custodian: hank.identityId, refused: expect.stringContaining('does not match its commitment') }),
      }),
    ]);
    expect(await submit(gina, drill, packageOf(gina.identityId))).toEqual({ accepted: 3, threshold: 3 });
    const done = await erin.call<{ transcript_json: string }>('CompleteEscrowReconstruction', { reconstruction_id: drill.reconstruction_id });
    expect(JSON.parse(done.transcript_json)).toMatchObject({
      purpose: 'DRILL',
      verified: true,
      usableUntil: null,
      keyFingerprint: transcript.keyFingerprint,
      refused: [expect.objectContaining({ custodianId: hank.identityId })],
    });
    expect(await status(1)).toMatchObject({ last_drill_time: kms.clock.now().toISOString(), usable_until: '' });
  });

  it('an emergency unseal is opened only once a second person approved, and then enables use for a bounded window', async () => {
    const requestId = randomUUID();
    const asked = await refused(erin.call('OpenEscrowReconstruction', { key_id: keyId, key_version: 1, purpose: 'UNSEAL', context: TICKET }, requestId));
    expect(asked.errorCode).toBe('APPROVAL_REQUIRED');
    expect((await status(1)).open_reconstructions).toEqual([]);
    const approvalId = /request ([0-9a-f-]{36}) was created/.exec(asked.details)?.[1];
    expect(await frank.call('ApproveRequest', { approval_id: approvalId, context: TICKET })).toMatchObject({ status: 'EXECUTED', operation: 'EmergencyUnseal' });
    const [unseal] = (await status(1)).open_reconstructions;
    expect(unseal).toMatchObject({ purpose: 'UNSEAL' });
    for (const c of custodians.slice(2)) await submit(c.actor, unseal, packageOf(c.actor.identityId));
    // Shares in but not recombined yet: still sealed.
    expect((await refused(app.call('Encrypt', { key_id: keyId, plaintext: Buffer.from('too early') }))).errorCode).toBe('KEY_SEALED');
    const done = await frank.call<{ transcript_json: string }>('CompleteEscrowReconstruction', { reconstruction_id: unseal.reconstruction_id });
    const t = JSON.parse(done.transcript_json) as { purpose: string; requestedBy: string; approvers: string[]; usableUntil: string };
    expect(t).toMatchObject({ purpose: 'UNSEAL', requestedBy: erin.identityId, approvers: [frank.identityId], usableUntil: new Date(kms.clock.now().getTime() + HOUR_MS).toISOString() });
    expect((await status(1)).usable_until).toBe(t.usableUntil);
    // Within the window the key works: the old ciphertext decrypts, new data round-trips.
    expect((await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: ciphertextBeforeSealing })).plaintext.toString()).toBe('before sealing');
    const during = (await app.call<{ ciphertext: Buffer }>('Encrypt', { key_id: keyId, plaintext: Buffer.from('during the unseal') })).ciphertext;
    expect((await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: during })).plaintext.toString()).toBe('during the unseal');
    // Once the window has passed, sealed again.
    kms.clock.advance(HOUR_MS + 1000);
    const after = await refused(app.call('Decrypt', { ciphertext: during }));
    expect({ code: after.errorCode, message: after.details }).toEqual({ code: 'KEY_SEALED', message: expect.stringContaining(`closed at ${t.usableUntil}`) });
  });

  it('at day 30 the scheduler rotates (RotateKey over gRPC) and the rotation itself seals the new version; custodians fetch package and transcript and counter-sign', async () => {
    kms.clock.advance(30 * DAY_MS);
    const runs = await kms.runSchedulerFor(keyId);
    expect(runs.filter((r) => r.outcome).map((r) => [r.deadline.kind, r.outcome?.status])).toEqual([['rotate', 'done']]);
    expect((await erin.call<{ primary_version: number }>('GetKey', { key_id: keyId })).primary_version).toBe(2);
    const ids = custodians.map((c) => c.actor.identityId);
    expect(await status(2)).toMatchObject({ status: 'SEALING', custodians: ids, counter_signed: [] });
    expect(await status(1)).toMatchObject({ status: 'SUPERSEDED', pending_declarations: ids, declare_by: new Date(kms.clock.now().getTime() + 72 * HOUR_MS).toISOString() });
    // The rotation and its ceremony are one change, audited as the rotation.
    const ceremony = await streamEvents(kms.db, `escrow-ceremony-${keyId}-v2`);
    const rotation = (await streamEvents(kms.db, `key-${keyId}`)).find((e) => e.type === 'PrimaryVersionChanged' && e.data['version'] === 2);
    expect(rotation?.data['reason']).toBe('SCHEDULED');
    expect(ceremony[0]).toMatchObject({ type: 'SealingCeremonyOpened', metadata: expect.objectContaining({ actor: rotation?.metadata['actor'], correlationId: rotation?.metadata['correlationId'] }) });
    expect(ceremony[0].data).toMatchObject({ version: 2, threshold: 3, shareCount: 5, previousCeremonyId: transcript.ceremonyId });
    // Not usable in clear: sealed like version 1.
    expect((await refused(app.call('Encrypt', { key_id: keyId, plaintext: Buffer.from('v2 sealed') }))).errorCode).toBe('KEY_SEALED');
    for (const c of custodians) {
      const mine = await c.actor.call<{ package_json: string; transcript_json: string }>('GetEscrowPackage', { key_id: keyId, key_version: 2 });
      const v2 = JSON.parse(mine.transcript_json) as SealingTranscript;
      expect(v2).toMatchObject({ version: 2, previousCeremonyId: transcript.ceremonyId });
      expect(v2.participants.find((p) => p.custodianId === c.actor.identityId)?.packageFingerprint).toBe((JSON.parse(mine.package_json) as SealedPackage).packageFingerprint);
      await c.actor.call('CounterSignEscrowTranscript', { key_id: keyId, key_version: 2, signature: signCanonicalEd25519(v2, c.keys.signingPrivateKey) });
    }
    expect(await status(2)).toMatchObject({ status: 'SEALED', counter_signed: ids });
  });

  it('four declarations then the window passes: overdue, nothing destroyed; the fifth: destroyed through the key lifecycle', async () => {
    const ids = custodians.map((c) => c.actor.identityId);
    expect(await status(1)).toMatchObject({ status: 'SUPERSEDED', pending_declarations: ids });
    const declare = (c: { actor: Actor; keys: CustodianPrivateKeys }) => {
      const d = destructionDeclaration({ ceremonyId: transcript.ceremonyId, keyId, version: 1, custodianId: c.actor.identityId, packageFingerprint: packageOf(c.actor.identityId).packageFingerprint, declaredAt: kms.clock.now().toISOString() });
      return c.actor.call('DeclareEscrowPackageDestroyed', { declaration_json: JSON.stringify(d), signature: signCanonicalEd25519(d, c.keys.signingPrivateKey) });
    };
    // Nobody declares for someone else.
    const [carol, dave] = custodians;
    const d = destructionDeclaration({ ceremonyId: transcript.ceremonyId, keyId, version: 1, custodianId: dave.actor.identityId, packageFingerprint: packageOf(dave.actor.identityId).packageFingerprint, declaredAt: kms.clock.now().toISOString() });
    expect((await refused(carol.actor.call('DeclareEscrowPackageDestroyed', { declaration_json: JSON.stringify(d), signature: signCanonicalEd25519(d, dave.keys.signingPrivateKey) }))).errorCode).toBe('PERMISSION_DENIED');
    for (const c of custodians.slice(0, 4)) await declare(c);
    // Within the window with one missing: nothing to settle yet; the scheduler's escrow deadline waits for declareBy.
    expect((await refused(erin.call('SettleEscrowDeclarations', { key_id: keyId, key_version: 1 }))).errorCode).toBe('CONFIRMATIONS_NOT_OVERDUE');
    const { declare_by: declareBy } = await status(1);
    const waiting = await kms.runSchedulerFor(keyId);
    expect(waiting.filter((r) => r.deadline.kind === 'escrow')).toEqual([{ deadline: expect.objectContaining({ version: 1, dueAt: declareBy, ceremonyId: transcript.ceremonyId }) }]);
    // The old version is not retired the usual way: its escrow destroys it.
    expect(waiting.filter((r) => r.deadline.kind === 'retire')).toEqual([]);
    expect(await status(1)).toMatchObject({ status: 'SUPERSEDED', pending_declarations: [ids[4]] });
    kms.clock.advance(73 * HOUR_MS);
    const overdue = await kms.runSchedulerFor(keyId);
    expect(overdue.filter((r) => r.deadline.kind === 'escrow').map((r) => r.outcome)).toEqual([{ status: 'done', detail: expect.stringContaining(`overdue from ${ids[4]}`) }]);
    expect(await status(1)).toMatchObject({ pending_declarations: [ids[4]] });
    const ceremony = await streamEvents(kms.db, `escrow-ceremony-${keyId}-v1`);
    expect(ceremony.filter((e) => e.type === 'EscrowDeclarationOverdue').map((e) => e.data['pending'])).toEqual([[ids[4]]]);
    expect(ceremony.some((e) => e.type === 'EscrowedVersionDestroyed')).toBe(false);
    expect((await erin.call<{ versions: Array<{ version: number; state: string }> }>('GetKey', { key_id: keyId })).versions[0]).toMatchObject({ version: 1, state: 'ENABLED' });
    // The alert was raised once: no escrow deadline is left until the last declaration comes in.
    expect((await kms.runSchedulerFor(keyId)).filter((r) => r.deadline.kind === 'escrow')).toEqual([]);
    await declare(custodians[4]);
    // Every declaration in: the scheduler settles at once (its workload), destroying version 1.
    const settled = await kms.runSchedulerFor(keyId);
    expect(settled.filter((r) => r.deadline.kind === 'escrow').map((r) => r.outcome)).toEqual([{ status: 'done', detail: expect.stringContaining('v1 destroyed') }]);
    expect(await status(1)).toMatchObject({ status: 'DESTROYED', pending_declarations: [] });
    expect((await streamEvents(kms.db, `escrow-ceremony-${keyId}-v1`)).some((e) => e.type === 'EscrowedVersionDestroyed')).toBe(true);
    // Through the key's own lifecycle: KeyVersionDestroyed on the key stream, and GetKey shows it.
    const destroyed = (await streamEvents(kms.db, `key-${keyId}`)).filter((e) => e.type === 'KeyVersionDestroyed');
    expect(destroyed.map((e) => e.data)).toEqual([expect.objectContaining({ version: 1, materialDestroyed: true, escrowCeremonyId: transcript.ceremonyId })]);
    expect((await erin.call<{ versions: Array<{ version: number; state: string }> }>('GetKey', { key_id: keyId })).versions[0]).toMatchObject({ version: 1, state: 'DESTROYED' });
  });
});
