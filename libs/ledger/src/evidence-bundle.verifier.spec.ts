import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { type ApprovalEvent, type ApprovalState, type ApprovalStepUp, approvalStreamId, evolveApproval, foldKey, keyStreamId, parseKeyEvent, personFactorsStreamId } from '@kms/domain';
import { coseAlgorithmOf, eventSealHash, SEAL_METADATA_KEY, STEP_UP_SCHEME, STREAM_SEAL_SCOPE, stepUpChallenge } from '@kms/evidence';
import { TestAuthenticator } from '@kms/testing';
import { signCheckpoint, type NoteSigner } from './checkpoint-note';
import { BUNDLE_FILES, type BundleManifest, SEAL_CHECK_VALID, type SealChainEntry, type SealChainFile, sha256Hex } from './evidence-bundle';
import { assembleEvidenceBundle } from './evidence-bundle.assembler';
import { formatBundleReport, verifyEvidenceBundle } from './evidence-bundle.verifier';
import { type EventLeafRecord, eventLeafRecord, recordLeafHash } from './leaf-record';
import { inclusionProof, rootHash } from './merkle-tree';

const KEY = '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f';
const STREAM = keyStreamId(KEY);
const ORIGIN = 'kms.test/ledger';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PEM = publicKey.export({ format: 'pem', type: 'spki' }).toString();
const signer: NoteSigner = { publicKeyPem: async () => PEM, sign: async (d) => sign('sha256', d, { key: privateKey, dsaEncoding: 'der' }) };
const meta = (at: string) => ({ actor: 'alice', correlationId: '0b8e2f7a-4a5b-4c6d-8e7f-0a1b2c3d4e5f', occurredAt: at });

/**
 * The key's three events as the store seals them (stream hash chain; the MAC is the store's
 * business): position seals as PostgreSQL makes them, or stream-scoped ones as EventStoreDB does.
 */
function sealedKeyEvents(scope: 'position' | 'stream' = 'position'): EventLeafRecord[] {
  const raw = [
    { type: 'KeyCreated', data: { keyId: KEY, tenant: 'acme', name: 'payments', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: {}, owner: 'team', policy: { grants: {} } } },
    { type: 'KeyVersionCreated', data: { keyId: KEY, version: 1, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: 'm-1', reason: 'INITIAL' } },
    { type: 'PrimaryVersionChanged', data: { keyId: KEY, version: 1, previousVersion: null, reason: 'INITIAL' } },
  ];
  let prev: string | null = null;
  return raw.map((r, v) => {
    const e = { id: `00000000-0000-4000-8000-00000000000${v}`, streamId: STREAM, streamVersion: v, globalPosition: BigInt(5 + v * 2), recordedAt: new Date('2026-03-01T09:00:00.000Z'), metadata: meta('2026-03-01T09:00:00.000Z'), ...r };
    const hash = eventSealHash(scope === 'stream' ? { ...e, globalPosition: null } : e, prev);
    const seal = { prev, hash, mac: 'ab'.repeat(32), ...(scope === 'stream' ? { scope: STREAM_SEAL_SCOPE } : {}) };
    const sealed = { ...e, metadata: { ...e.metadata, [SEAL_METADATA_KEY]: seal } };
    prev = hash;
    return eventLeafRecord(sealed);
  });
}

/** The seal file an exporter writes for these events (every seal checked valid). */
function chainOf(events: EventLeafRecord[], ledgeredThrough = events[events.length - 1]?.position ?? '0'): SealChainFile {
  return {
    streamId: STREAM,
    ledgeredThrough,
    events: events.map((e): SealChainEntry => {
      const seal = e.metadata[SEAL_METADATA_KEY] as { prev: string | null; hash: string; scope?: 'stream' };
      const scope = seal.scope ? { scope: seal.scope } : {};
      return { streamVersion: e.streamVersion, globalPosition: e.position, id: e.eventId, type: e.type, prev: seal.prev, hash: seal.hash, sealCheck: SEAL_CHECK_VALID, ...scope };
    }),
  };
}

/** A complete, signed bundle of `events` (all in the events log) with the given seal file. */
async function bundle(events: EventLeafRecord[], sealChain: SealChainFile | undefined, approvals: unknown[] = []): Promise<Map<string, Buffer>> {
  const hashes = events.map(recordLeafHash);
  const time = '2026-03-02T00:00:00.000Z';
  const eventsCheckpoint = await signCheckpoint({ origin: `${ORIGIN}/events`, treeSize: events.length, rootHash: rootHash(hashes), time }, signer);
  const auditCheckpoint = await signCheckpoint({ origin: `${ORIGIN}/audit`, treeSize: 0, rootHash: rootHash([]), time }, signer);
  const state = foldKey(events.filter((e) => e.streamId === STREAM).map((e) => parseKeyEvent(e)));
  if (state.status === 'NotCreated') throw new Error('the test events do not create the key');
  const files = await assembleEvidenceBundle(
    {
      keyRecord: state.key,
      events,
      auditRecords: [],
      approvals,
      proofs: {
        events: events.map((e, i) => ({ log: 'events', recordId: e.eventId, leafIndex: i, treeSize: events.length, path: inclusionProof(hashes, i).map((h) => h.toString('hex')) })),
        audit: [],
      },
      eventsCheckpoint,
      auditCheckpoint,
      attestationKeyPem: PEM,
      originStatements: [],
      ...(sealChain ? { sealChain } : {}),
    },
    { keyId: KEY, generatedAt: time, window: { from: '2026-03-01T00:00:00.000Z', to: time }, origin: ORIGIN, attestationKeyFingerprint: sha256Hex(publicKey.export({ format: 'der', type: 'spki' })) },
    signer,
  );
  return new Map(files.map((f) => [f.path, f.content]));
}

/** The seal file's failure messages, or 'VERIFIED'. */
function sealFailures(files: Map<string, Buffer>): string[] | 'VERIFIED' {
  const v = verifyEvidenceBundle(files, PEM);
  if (v.ok) return 'VERIFIED';
  expect(v.failedFiles).toEqual([BUNDLE_FILES.sealChain]);
  return v.findings.filter((x) => !x.ok).map((x) => x.message);
}

function tampered(change: (chain: SealChainFile) => void): SealChainFile {
  const chain = chainOf(sealedKeyEvents());
  change(chain);
  return chain;
}

describe('evidence bundle verifier: the seal chain (seals/events.json)', () => {
  it('given a bundle whose seal chain matches its ledgered events, then it verifies and says so', async () => {
    const events = sealedKeyEvents();
    const v = verifyEvidenceBundle(await bundle(events, chainOf(events)), PEM);
    expect(formatBundleReport(v)).toContain('OK   seals/events.json: seal chain of 3 stored event(s) intact and every seal valid; 3 ledgered key event(s) recompute');
    expect(v.ok).toBe(true);
  });

  it('given a forged row in the store that the projector refused, then it fails naming its version and position', async () => {
    const events = sealedKeyEvents();
    const chain = chainOf(events);
    chain.events.push({ streamVersion: 3, globalPosition: '20', id: '00000000-0000-4000-8000-0000000000ff', type: 'KeyPolicyChanged', prev: null, hash: null, sealCheck: 'the event is not sealed' });
    expect(await bundle(events, chain).then(sealFailures)).toEqual([
      'version 3 (position 20): the seal check in the source store failed: the event is not sealed',
      `version 3 (position 20): prev null is not the hash of the event before it (${String(chain.events[2]?.hash)})`,
      'version 3 (position 20) is in the source store but not in the ledger (the projector refused it)',
    ]);
  });

  it.each<[string, (c: SealChainFile) => void, string]>([
    ['sealCheck', (c) => void ((c.events[1] as SealChainEntry).sealCheck = 'the seal was not made with the KMS key (forged)'), 'version 1 (position 7): the seal check in the source store failed: the seal was not made'],
    ['streamVersion (a gap)', (c) => void c.events.splice(1, 1), 'version 2 (position 9) follows version 0: version(s) 1..1 missing from the stream'],
    ['streamVersion (out of order)', (c) => void c.events.reverse(), 'version 1 (position 7) is out of order (expected version 3)'],
    ['streamVersion (the first missing)', (c) => void c.events.shift(), 'version 1 (position 7) is the first stored event: version(s) 0..0 missing from the stream'],
    ['prev of the first', (c) => void ((c.events[0] as SealChainEntry).prev = 'cd'.repeat(32)), 'version 0 (position 5): prev cdcd'],
    ['prev', (c) => void ((c.events[2] as SealChainEntry).prev = 'cd'.repeat(32)), 'version 2 (position 9): prev cdcd'],
    ['hash', (c) => void ((c.events[1] as SealChainEntry).hash = 'cd'.repeat(32)), 'version 1 (position 7): the ledgered event does not hash to the sealed hash'],
    ['id', (c) => void ((c.events[1] as SealChainEntry).id = '00000000-0000-4000-8000-0000000000ee'), 'version 1 (position 7): the store holds event 00000000-0000-4000-8000-0000000000ee'],
    ['globalPosition', (c) => void ((c.events[1] as SealChainEntry).globalPosition = '8'), 'version 1 (position 8): the store holds event'],
    ['type', (c) => void ((c.events[1] as SealChainEntry).type = 'KeyVersionDisabled'), 'version 1 (position 7): the store holds event 00000000-0000-4000-8000-000000000001 (KeyVersionDisabled)'],
    ['streamId', (c) => void (c.streamId = 'key-another'), 'is the chain of stream key-another'],
    ['ledgeredThrough (not a position)', (c) => void (c.ledgeredThrough = 'soon'), 'does not have the documented shape'],
    ['an entry removed at the end', (c) => void c.events.pop(), 'version 2 (position 9) is in the ledger but not in the source store'],
  ])('given the seal file signed with %s changed, then it fails naming seals/events.json', async (_field, change, message) => {
    const failures = await bundle(sealedKeyEvents(), tampered(change)).then(sealFailures);
    expect(failures).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
  });

  it('given a ledgered event whose data differs from what was sealed, then it fails naming its version', async () => {
    const events = sealedKeyEvents();
    const chain = chainOf(events);
    // Same id, type and position, other data: what an edited row that still reached the ledger would look like.
    (events[0] as EventLeafRecord).data = { ...(events[0] as EventLeafRecord).data, owner: 'mallory' };
    const failures = await bundle(events, chain).then(sealFailures);
    expect(failures).toEqual(['version 0 (position 5): the ledgered event does not hash to the sealed hash at its version (it differs from what was sealed)']);
  });

  it('given one byte of the seal file changed after signing, then the manifest hash fails naming it', async () => {
    const events = sealedKeyEvents();
    const files = await bundle(events, chainOf(events));
    const bytes = Buffer.from(files.get(BUNDLE_FILES.sealChain) as Buffer);
    bytes[bytes.indexOf('"valid"') + 1] ^= 0x20;
    files.set(BUNDLE_FILES.sealChain, bytes);
    const v = verifyEvidenceBundle(files, PEM);
    expect(v.failedFiles).toContain(BUNDLE_FILES.sealChain);
    expect(v.findings).toContainEqual({ ok: false, file: BUNDLE_FILES.sealChain, message: 'SHA-256 does not match the manifest: the file was altered' });
  });

  it('given a sealed event stored after the checkpoint, then it is a warning (projection lag), not a failure', async () => {
    const events = sealedKeyEvents();
    const chain = chainOf(events);
    chain.events.push({ streamVersion: 3, globalPosition: '30', id: '00000000-0000-4000-8000-000000000003', type: 'KeyVersionDisabled', prev: chain.events[2]?.hash ?? null, hash: 'ef'.repeat(32), sealCheck: SEAL_CHECK_VALID });
    const v = verifyEvidenceBundle(await bundle(events, chain), PEM);
    expect(v.ok).toBe(true);
    expect(formatBundleReport(v)).toContain('WARN seals/events.json: version 3 (position 30) is sealed but not yet in the ledger (projected through position 9)');
    // The same event at or below the ledgered position should have been projected: it is missing from the ledger.
    chain.ledgeredThrough = '30';
    expect(await bundle(events, chain).then(sealFailures)).toEqual(['version 3 (position 30) is in the source store but not in the ledger']);
  });

  it('given a bundle without a seal file (exported before seals), then it verifies and says the chain was not checked', async () => {
    const v = verifyEvidenceBundle(await bundle(sealedKeyEvents(), undefined), PEM);
    expect(v.ok).toBe(true);
    expect(formatBundleReport(v)).toContain('WARN seals/events.json: absent: the bundle predates seals');
    const manifest = JSON.parse((await bundle(sealedKeyEvents(), undefined)).get(BUNDLE_FILES.manifest)?.toString() ?? '{}') as BundleManifest;
    expect(manifest.files.map((f) => f.path)).not.toContain(BUNDLE_FILES.sealChain);
  });

  it('given a stream-scoped chain (EventStoreDB), then its hashes recompute without the position and it verifies', async () => {
    const events = sealedKeyEvents('stream');
    const v = verifyEvidenceBundle(await bundle(events, chainOf(events)), PEM);
    expect(formatBundleReport(v)).toContain('OK   seals/events.json: seal chain of 3 stored event(s) intact and every seal valid; 3 ledgered key event(s) recompute');
    expect(v.ok).toBe(true);
  });

  it('given a seal passed off as the other scope, then the ledgered event does not hash to it', async () => {
    const streamScoped = sealedKeyEvents('stream');
    const markerDropped = chainOf(streamScoped);
    markerDropped.events.forEach((e) => delete e.scope);
    const positionScoped = sealedKeyEvents();
    const markerAdded = chainOf(positionScoped);
    markerAdded.events.forEach((e) => (e.scope = 'stream'));
    const otherMarker = JSON.parse(JSON.stringify(chainOf(streamScoped)).replace(/"scope":"stream"/g, '"scope":"global"')) as SealChainFile;
    const wrong = 'the ledgered event does not hash to the sealed hash at its version';

    expect(await bundle(streamScoped, markerDropped).then(sealFailures)).toEqual([0, 1, 2].map((v) => expect.stringContaining(`version ${v} (position ${5 + v * 2}): ${wrong}`)));
    expect(await bundle(positionScoped, markerAdded).then(sealFailures)).toEqual([0, 1, 2].map((v) => expect.stringContaining(`version ${v} (position ${5 + v * 2}): ${wrong}`)));
    expect(await bundle(streamScoped, otherMarker).then(sealFailures)).toEqual([expect.stringContaining('does not have the documented shape')]);
  });
});

describe('evidence bundle verifier: approvals and their step-up assertions (approvals.json)', () => {
  const APPROVAL = '3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
  const ALICE = 'a11ce000-0000-4000-8000-000000000001';
  const BOB = 'b0b00000-0000-4000-8000-000000000002';
  const key = new TestAuthenticator('localhost', 'http://localhost:8080');
  const at = '2026-03-01T10:00:00.000Z';

  function stepUpOf(k: TestAuthenticator = key): ApprovalStepUp {
    const binding = { approval_id: APPROVAL, change_ticket: 'CHG-7', decision: 'approve' as const, identity_id: BOB, nonce: 'bm9uY2U' };
    const r = k.assert({ challenge: stepUpChallenge(binding) })['response'] as { authenticatorData: string; clientDataJSON: string; signature: string };
    return { scheme: STEP_UP_SCHEME, binding, credentialId: k.id, ...r, publicKey: k.coseKey().toString('base64url'), algorithm: coseAlgorithmOf(k.coseKey()), rpId: 'localhost' };
  }

  /** The key's events, the approval's request and grant, and bob's enrolment of his security key (as ledger leaf records). */
  function history(stepUp: ApprovalStepUp | undefined, enrolled: { identityId: string; fingerprint: string } | null = { identityId: BOB, fingerprint: createHash('sha256').update(key.coseKey()).digest('hex') }) {
    const approvalEvents: ApprovalEvent[] = [
      { type: 'ApprovalRequested', data: { approvalId: APPROVAL, operation: 'SetKeyPolicy', targetId: KEY, params: {}, requester: ALICE, changeTicket: 'CHG-7', expiresAt: '2026-03-02T10:00:00.000Z' }, metadata: meta(at) },
      { type: 'ApprovalGranted', data: { approvalId: APPROVAL, approver: BOB, ...(stepUp ? { stepUp } : {}) }, metadata: { ...meta(at), actor: BOB } },
    ];
    const leaf = (streamId: string, v: number, position: number, e: { type: string; data: object; metadata: object }) =>
      eventLeafRecord({ id: `00000000-0000-4000-8000-0000000001${position}`, streamId, streamVersion: v, globalPosition: BigInt(position), recordedAt: new Date(at), type: e.type, data: { ...e.data }, metadata: { ...e.metadata } });
    const events = [
      ...sealedKeyEvents(),
      ...(enrolled ? [leaf(personFactorsStreamId(enrolled.identityId), 0, 20, { type: 'WebAuthnCredentialEnrolled', data: { identityId: enrolled.identityId, credentialId: key.id, publicKeyFingerprint: enrolled.fingerprint, via: 'enrolment-link' }, metadata: meta(at) })] : []),
      ...approvalEvents.map((e, v) => leaf(approvalStreamId(APPROVAL), v, 30 + v, e)),
    ];
    const state = approvalEvents.reduce<ApprovalState>(evolveApproval, { status: 'None' });
    return { events, state };
  }

  async function verify(stepUp: ApprovalStepUp | undefined, change: (state: ApprovalState) => void = () => undefined, enrolled?: { identityId: string; fingerprint: string } | null) {
    const { events, state } = history(stepUp, enrolled);
    const keyEvents = events.filter((e) => e.streamId === STREAM);
    change(state);
    return verifyEvidenceBundle(await bundle(events, chainOf(keyEvents), [state]), PEM);
  }
  const failures = (v: ReturnType<typeof verifyEvidenceBundle>) => v.findings.filter((x) => !x.ok).map((x) => `${x.file}: ${x.message}`);
  const approval = (s: ApprovalState) => (s as Extract<ApprovalState, { status: 'Approved' }>).approval;

  it('given a grant with a step-up of the enrolled key, then the bundle verifies and names the approval, key and enrolment', async () => {
    const v = await verify(stepUpOf());
    const report = formatBundleReport(v);
    expect(report).toContain(`OK   approvals.json: approval ${APPROVAL} (SetKeyPolicy, ticket CHG-7): the step-up assertion of credential ${key.id} (ES256) verifies: approver ${BOB}'s key signed this approval and ticket`);
    expect(report).toContain(`OK   approvals.json: approval ${APPROVAL} (SetKeyPolicy, ticket CHG-7): credential ${key.id} was enrolled by ${BOB} with this public key`);
    expect(v.ok).toBe(true);
  });

  it('given a grant without a step-up (gRPC ApproveRequest), then it verifies with a warning naming the approval', async () => {
    const v = await verify(undefined);
    expect(v.ok).toBe(true);
    expect(formatBundleReport(v)).toContain(`WARN approvals.json: approval ${APPROVAL} (SetKeyPolicy, ticket CHG-7) was granted by ${BOB} without a step-up FIDO2 assertion`);
  });

  it.each<[string, (s: ApprovalStepUp) => void, string]>([
    ['signature', (s) => void (s.signature = stepUpOf().signature), 'the signature does not verify'],
    ['authenticatorData flags (UV cleared)', (s) => void (s.authenticatorData = (() => { const b = Buffer.from(s.authenticatorData, 'base64url'); b[32] &= ~0x04; return b.toString('base64url'); })()), 'the user-verified flag (UV) is not set'],
    ['rpIdHash', (s) => void (s.authenticatorData = Buffer.concat([createHash('sha256').update('evil.example').digest(), Buffer.from(s.authenticatorData, 'base64url').subarray(32)]).toString('base64url')), "authenticatorData's rpIdHash is not SHA-256 of the relying-party id localhost"],
    ['clientData challenge', (s) => void (s.clientDataJSON = Buffer.from(Buffer.from(s.clientDataJSON, 'base64url').toString().replace(/"challenge":"[^"]+"/, '"challenge":"AAAA"')).toString('base64url')), 'clientDataJSON.challenge is not the challenge recomputed from the binding'],
    ['binding approval id', (s) => void (s.binding.approval_id = '00000000-0000-4000-8000-00000000dead'), 'binding names approval 00000000-0000-4000-8000-00000000dead'],
    ['binding change ticket', (s) => void (s.binding.change_ticket = 'CHG-8'), 'binding names change ticket CHG-8, the approval CHG-7'],
    ['binding approver', (s) => void (s.binding.identity_id = ALICE), `binding names approver ${ALICE}`],
    ['public key', (s) => void (s.publicKey = new TestAuthenticator('localhost', 'http://localhost:8080').coseKey().toString('base64url')), 'the signature does not verify'],
  ])('given the step-up %s tampered with (in the ledgered grant and approvals.json alike), then it fails naming the approval', async (_part, change, message) => {
    const s = stepUpOf();
    change(s);
    const v = await verify(s);
    expect(v.failedFiles).toEqual(['approvals.json']);
    expect(failures(v)).toEqual(expect.arrayContaining([expect.stringContaining(`approvals.json: approval ${APPROVAL} (SetKeyPolicy, ticket CHG-7): step-up assertion: ${message}`)]));
  });

  it('given approvals.json whose step-up differs from the ledgered grant, or that drops it, then it fails naming the approval', async () => {
    const other = stepUpOf();
    const v = await verify(stepUpOf(), (state) => void (approval(state).stepUp = { ...other, nonce: 'x' } as ApprovalStepUp));
    expect(failures(v)).toEqual([`approvals.json: approval ${APPROVAL} (SetKeyPolicy, ticket CHG-7): the approver or step-up differs from the ledgered ApprovalGranted event (00000000-0000-4000-8000-000000000131)`]);
    const dropped = await verify(stepUpOf(), (state) => void delete approval(state).stepUp);
    expect(failures(dropped)).toEqual([expect.stringContaining('the approver or step-up differs from the ledgered ApprovalGranted event')]);
  });

  it('given the enrolment event holds another fingerprint or another person, or is absent, then it fails or warns naming the approval', async () => {
    const wrongKey = await verify(stepUpOf(), undefined, { identityId: BOB, fingerprint: 'ab'.repeat(32) });
    expect(failures(wrongKey)).toEqual([expect.stringMatching(new RegExp(`^approvals.json: approval ${APPROVAL} .*: the step-up's public key \\(SHA-256 [0-9a-f]{64}\\) is not the key enrolled as credential`))]);
    const wrongPerson = await verify(stepUpOf(), undefined, { identityId: ALICE, fingerprint: createHash('sha256').update(key.coseKey()).digest('hex') });
    expect(failures(wrongPerson)).toEqual([expect.stringContaining(`was enrolled by ${ALICE} (event`)]);
    const absent = await verify(stepUpOf(), undefined, null);
    expect(absent.ok).toBe(true);
    expect(formatBundleReport(absent)).toContain(`WARN approvals.json: approval ${APPROVAL} (SetKeyPolicy, ticket CHG-7): the enrolment of credential ${key.id} is not in events.json`);
  });

  it('given a granted approval whose grant is not in events.json, then it fails naming the approval', async () => {
    const { events, state } = history(stepUpOf());
    const v = verifyEvidenceBundle(await bundle(events.filter((e) => e.type !== 'ApprovalGranted'), chainOf(events.filter((e) => e.streamId === STREAM)), [state]), PEM);
    expect(failures(v)).toEqual([`approvals.json: approval ${APPROVAL} (SetKeyPolicy, ticket CHG-7) is Approved but its ApprovalGranted event is not in events.json`]);
  });
});
