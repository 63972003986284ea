/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';
import { sealSubmission } from '@kms/evidence';
import { randomUUID } from 'node:crypto';
import { refused, streamEvents } from './access-control.e2e-helpers';

const KMS_BIN = resolve(__dirname, '../../../bin/kms.js');
const TICKET = { change_ticket: 'CHG-ESCROW-CLI' };

interface Run {
  code: number;
  out: string;
  err: string;
}

/**
 * `kms custodian …` as custodians run it (a process per command, KMS_ADDRESS and KMS_TOKEN like the
 * rest of the CLI) against the real key service with its SoftHSM2 attestation key: the commands call
 * EnrolEscrowCustodian, GetEscrowPackage, CounterSignEscrowTranscript, SubmitEscrowShare and
 * DeclareEscrowPackageDestroyed themselves, as the person whose token they hold.
 */
describe('kms custodian against a running key service (issue 18)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kms-custodian-e2e-'));
  let kms: KeyServiceUnderTest;
  let address = '';
  let erin: Actor;
  let frank: Actor;
  const custodians: Actor[] = [];
  let keyId = '';

  const run = async (who: Actor | undefined, args: string[]): Promise<Run> => {
    const token = who ? await who.token() : '';
    return new Promise((ok) => {
      execFile(
        process.execPath,
        [KMS_BIN, 'custodian', ...args],
        { cwd: dir, env: { ...process.env, NO_COLOR: '1', XDG_CONFIG_HOME: dir, KMS_ADDRESS: address, ...(token ? { KMS_TOKEN: token } : {}) }, timeout: 60_000 },
        (error, out, err) => ok({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out, err }),
      );
    });
  };
  const ok = async (who: Actor, args: string[]): Promise<Run> => {
    const r = await run(who, args);
    if (r.code !== 0) throw new Error(`kms custodian ${args.join(' ')} exited ${r.code}: ${r.err}`);
    return r;
  };
  const keysOf = (c: Actor) => join(dir, `${c.name}.keys.json`);

  beforeAll(async () => {
    const token = softHsmTestToken();
    kms = await startKeyServiceUnderTest('e2e_custodian_cli', { KMS_HSM_ENABLED: '1', KMS_HSM_PIN_FILE: token.userPinFile, SOFTHSM2_CONF: token.confPath });
    address = kms.grpcAddress;
    erin = await kms.register('erin.seceng', 'HUMAN', ['security-engineering', 'key-admin']);
    frank = await kms.register('frank.seceng', 'HUMAN', ['security-engineering', 'key-admin']);
    for (const name of ['carol', 'dave', 'gina']) custodians.push(await kms.register(`${name}.custodian`, 'HUMAN', ['sre-oncall']));
  }, 240_000);
  afterAll(async () => {
    await kms?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('enrol: generates the keys in a 0600 file and asks for the enrolment, printing the approval id; a second person approves', async () => {
    // A custodian without the security-engineering role may not enrol: refused, the key file is kept.
    const self = await run(custodians[0], ['enrol', '--custodian', custodians[0].identityId, '--out', join(dir, 'refused.keys.json')]);
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/PERMISSION_DENIED/);
    expect(self.err).toContain('were not registered');
    expect(existsSync(join(dir, 'refused.keys.json'))).toBe(true);
    for (const c of custodians) {
      const r = await ok(erin, ['enrol', '--custodian', c.identityId, '--out', keysOf(c), '--change-ticket', 'CHG-ESCROW-CLI']);
      expect(statSync(keysOf(c)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(r.out)).toEqual({ identityId: c.identityId, encryptionPublicKey: expect.any(String), signingPublicKey: expect.any(String) });
      const approvalId = /approval id ([0-9a-f-]{36})/.exec(r.err)?.[1];
      expect(r.err).toContain(`kms approve-request --approval-id ${approvalId}`);
      expect(await streamEvents(kms.db, `escrow-custodian-${c.identityId}`)).toEqual([]);
      expect(await frank.call('ApproveRequest', { approval_id: approvalId, context: TICKET })).toMatchObject({ status: 'EXECUTED', operation: 'EnrolEscrowCustodian' });
      const enrolled = await streamEvents(kms.db, `escrow-custodian-${c.identityId}`);
      expect(enrolled.map((e) => [e.type, e.data['encryptionPublicKey']])).toEqual([['CustodianEnrolled', JSON.parse(r.out).encryptionPublicKey]]);
    }
  });

  it('counter-sign fetches the transcript with GetEscrowPackage and hands the signature in; flags are named when missing', async () => {
    keyId = (await erin.call<{ key_id: string }>('CreateKey', { name: 'cli-break-glass', purpose: 'BREAK_GLASS', algorithm: 'AES_256_GCM', context: TICKET })).key_id;
    const policy = await refused(erin.call('SetEscrowPolicy', { key_id: keyId, threshold: 2, custodians: custodians.map((c) => c.identityId), witness: kms.admin.identityId, context: TICKET }));
    const approvalId = /request ([0-9a-f-]{36}) was created/.exec(policy.details)?.[1];
    expect(await frank.call('ApproveRequest', { approval_id: approvalId, context: TICKET })).toMatchObject({ status: 'EXECUTED' });
    const sealed = await erin.call<{ transcript_json: string }>('SealEscrow', { key_id: keyId, context: TICKET });
    writeFileSync(join(dir, 'transcript.json'), sealed.transcript_json);

    const missing = await run(custodians[0], ['counter-sign', '--keys', keysOf(custodians[0])]);
    expect(missing).toMatchObject({ code: 2, err: expect.stringContaining('key-id: give --key-id and --key-version') });
    const badVersion = await run(custodians[0], ['counter-sign', '--keys', keysOf(custodians[0]), '--key-id', keyId, '--key-version', 'one']);
    expect(badVersion).toMatchObject({ code: 2, err: expect.stringContaining('key-version: must be a version number') });
    // Someone else's key file: the package the KMS answers the caller is not sealed to it; refused before signing.
    const forged = await run(custodians[0], ['counter-sign', '--keys', keysOf(custodians[1]), '--key-id', keyId, '--key-version', '1']);
    expect(forged).toMatchObject({ code: 2, err: expect.stringContaining(`is sealed to ${custodians[0].identityId}, not to ${custodians[1].identityId}`) });
    // A signature made with another key is refused by the KMS, naming the field.
    const other = await run(custodians[0], ['counter-sign', '--keys', keysOf(custodians[1]), '--transcript', join(dir, 'transcript.json')]);
    expect(other).toMatchObject({ code: 1, err: expect.stringContaining('(field signature)') });

    for (const [i, c] of custodians.entries()) {
      const r = await ok(c, ['counter-sign', '--keys', keysOf(c), '--key-id', keyId, '--key-version', '1']);
      expect(r.err).toContain(`key ${keyId} version 1, 2-of-3`);
      expect(r.out).toContain(`is ${i === custodians.length - 1 ? 'SEALED' : 'SEALING'} (${i + 1} of 3 participants have signed)`);
    }
    expect(await erin.call('GetEscrowStatus', { key_id: keyId, key_version: 1 })).toMatchObject({ status: 'SEALED', counter_signed: custodians.map((c) => c.identityId) });
  });

  it('open-package fetches the package, submit-share sends the share to a drill; a swapped share is refused naming the field', async () => {
    const drill = await erin.call<{ reconstruction_id: string; ceremony_public_key: string }>('OpenEscrowReconstruction', { key_id: keyId, key_version: 1, purpose: 'DRILL', context: TICKET });
    const shareOf = (c: Actor) => join(dir, `${c.name}.share`);
    for (const c of custodians) {
      const r = await ok(c, ['open-package', '--keys', keysOf(c), '--key-id', keyId, '--key-version', '1', '--out', shareOf(c), '--save-package', join(dir, `${c.name}.v1.package.json`)]);
      expect(r.out).toContain(`(key ${keyId} version 1) written to ${shareOf(c)}`);
      expect(statSync(shareOf(c)).mode & 0o777).toBe(0o600);
    }
    const [carol, dave, gina] = custodians;
    const submit = (c: Actor, share: string) => run(c, ['submit-share', '--keys', keysOf(c), '--share', share, '--reconstruction-id', drill.reconstruction_id, '--ceremony-key', drill.ceremony_public_key]);
    expect(await submit(carol, shareOf(carol))).toMatchObject({ code: 0, out: `share accepted: 1 of 2 needed for reconstruction ${drill.reconstruction_id}\n` });
    // Gina hands in Dave's share as hers: refused by the KMS, naming the field and her.
    const swapped = await submit(gina, shareOf(dave));
    expect(swapped.code).toBe(1);
    expect(swapped.err).toMatch(/INVALID_ARGUMENT \(field share\)/);
    expect(swapped.err).toContain(gina.identityId);
    const badKey = await run(dave, ['submit-share', '--keys', keysOf(dave), '--share', shareOf(dave), '--reconstruction-id', drill.reconstruction_id, '--ceremony-key', 'AAAA']);
    expect(badKey).toMatchObject({ code: 2, err: expect.stringContaining('ceremony-key:') });
    expect(await submit(dave, shareOf(dave))).toMatchObject({ code: 0, out: expect.stringContaining('share accepted: 2 of 2') });
    const done = await erin.call<{ transcript_json: string }>('CompleteEscrowReconstruction', { reconstruction_id: drill.reconstruction_id });
    expect(JSON.parse(done.transcript_json)).toMatchObject({ purpose: 'DRILL', verified: true, refused: [expect.objectContaining({ custodianId: gina.identityId })] });
  });

  it('declare-destroyed names the superseded package (fetched from the KMS or the saved file) and hands the declaration in', async () => {
    await erin.call('RotateKey', { key_id: keyId, reason: 'MANUAL', context: TICKET });
    expect(await erin.call('GetEscrowStatus', { key_id: keyId, key_version: 1 })).toMatchObject({ status: 'SUPERSEDED', pending_declarations: custodians.map((c) => c.identityId) });
    const [carol, dave, gina] = custodians;
    // Carol names it from the KMS; Dave and Gina from the package they saved, shredding it.
    expect(await ok(carol, ['declare-destroyed', '--keys', keysOf(carol), '--key-id', keyId, '--key-version', '1'])).toMatchObject({ out: expect.stringContaining(`still pending: ${dave.identityId}, ${gina.identityId}`) });
    for (const c of [dave, gina]) {
      const saved = join(dir, `${c.name}.v1.package.json`);
      await ok(c, ['declare-destroyed', '--keys', keysOf(c), '--package', saved, '--share', join(dir, `${c.name}.share`), '--shred']);
      expect(existsSync(saved)).toBe(false);
    }
    expect(await erin.call('GetEscrowStatus', { key_id: keyId, key_version: 1 })).toMatchObject({ pending_declarations: [] });
    const declared = (await streamEvents(kms.db, `escrow-ceremony-${keyId}-v1`)).filter((e) => e.type === 'PackageDestructionDeclared');
    expect(declared.map((e) => [e.metadata['actor'], e.data['custodianId']])).toEqual(custodians.map((c) => [c.identityId, c.identityId]));
    // --offline prints the signed declaration instead (nothing sent).
    const offline = await ok(carol, ['declare-destroyed', '--offline', '--keys', keysOf(carol), '--key-id', keyId, '--key-version', '1']);
    expect(JSON.parse(offline.out)).toMatchObject({ declaration: { custodianId: carol.identityId, keyId, version: 1 }, signature: expect.any(String) });
    expect(JSON.parse(readFileSync(keysOf(carol), 'utf8'))).toHaveProperty('custodianId', carol.identityId);
  });
  it('an open drill outlives the service: a second instance started on the same database restores it (audited) and completes it', async () => {
    const [carol, dave] = custodians;
    const drill = await erin.call<{ reconstruction_id: string; ceremony_public_key: string }>('OpenEscrowReconstruction', { key_id: keyId, key_version: 1, purpose: 'DRILL', context: TICKET });
    const share = (c: Actor) => join(dir, `${c.name}.again.share`);
    for (const c of [carol, dave]) await ok(c, ['open-package', '--keys', keysOf(c), '--key-id', keyId, '--key-version', '1', '--out', share(c)]);
    await ok(carol, ['submit-share', '--keys', keysOf(carol), '--share', share(carol), '--reconstruction-id', drill.reconstruction_id, '--ceremony-key', drill.ceremony_public_key]);
    // The ceremony key is in the table only wrapped; a new instance starts from the database alone.
    const kept = await kms.db.query<{ wrapped: Buffer }>('SELECT wrapped FROM escrow_ceremony_keys WHERE reconstruction_id = $1', [drill.reconstruction_id]);
    expect(kept.rowCount).toBe(1);
    const replica = await kms.startReplica();
    try {
      const restore = await kms.db.query<{ actor: string; details: { restored?: string } }>(`SELECT actor, details FROM audit_records WHERE operation = 'RestoreEscrowReconstructions' ORDER BY "position"`);
      expect(restore.rows.at(-1)).toMatchObject({ actor: 'system:escrow-restore', details: { restored: expect.stringContaining(`${drill.reconstruction_id} (${keyId} v1, 1 accepted)`) } });
      const as = async <T>(who: Actor, method: Parameters<Actor['call']>[0], request: Record<string, unknown>) => replica.client.call<T & Record<string, unknown>>(method, request, { token: await who.token(), requestId: randomUUID() });
      const submission = sealSubmission(drill.ceremony_public_key, Buffer.from(readFileSync(share(dave), 'utf8'), 'base64'), { reconstructionId: drill.reconstruction_id, custodianId: dave.identityId });
      expect(await as(dave, 'SubmitEscrowShare', { reconstruction_id: drill.reconstruction_id, submission_json: JSON.stringify(submission) })).toEqual({ accepted: 2, threshold: 2 });
      const done = await as<{ transcript_json: string }>(erin, 'CompleteEscrowReconstruction', { reconstruction_id: drill.reconstruction_id });
      expect(JSON.parse(done.transcript_json)).toMatchObject({ purpose: 'DRILL', verified: true, requestedBy: erin.identityId, accepted: [expect.objectContaining({ custodianId: carol.identityId }), expect.objectContaining({ custodianId: dave.identityId })] });
      expect((await kms.db.query('SELECT 1 FROM escrow_ceremony_keys WHERE reconstruction_id = $1', [drill.reconstruction_id])).rowCount).toBe(0);
    } finally {
      await replica.stop();
    }
  });
});
