import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IdentityService, ManualClock } from '@kms/application';
import { AuditProjectorModule, complianceIdentity, LedgerStore, ProjectionRunner } from '@kms/audit-projector';
import { SoftwareAttestationSigner } from '@kms/audit-projector/testing';
import { loadConfig } from '@kms/config';
import { eventStoreMigrations, PostgresChangeCommitter, PostgresEventStore } from '@kms/event-store-postgres';
import { eventLeafRecord, leafData, leafHash, verifyCheckpointNote, verifyInclusion } from '@kms/ledger';
import { auditMigrations, createPgPool, dropSchema, PostgresAuditFeed, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { createHttpApp, type HttpApp } from '@kms/platform';
import type { Pool } from 'pg';

// Legal appendix artifacts over HTTP (docs/jurisdictions.md): the projector app on real PostgreSQL,
// two configured jurisdictions (eu: an HSM instance and the master key; us: an HSM instance), a
// compliance officer registering a DTIA by upload and a provider statement by URL; the registration
// events are leaves of the ledger, each hash proven by an inclusion proof against a signed checkpoint.

const url = testDatabaseUrl();
const source = { url, schema: uniqueTestSchema('legal_src') };
const readModelSchema = uniqueTestSchema('legal_rm');
const clock = new ManualClock(new Date('2026-06-01T00:00:00.000Z'));
const signer = SoftwareAttestationSigner.generate();
const ORIGIN = 'kms.legal-artifacts.test/ledger';

let pool: Pool;
let events: PostgresEventStore;
let auditLog: PostgresAuditLog;
let identity: IdentityService;
let projector: HttpApp;
let officer: string;
let officerId: string;
let sre: string;
let dir: string;

function call(method: string, path: string, options: { token?: string; json?: unknown; body?: Buffer; contentType?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = options.token ?? officer;
  if (token) headers['authorization'] = `Bearer ${token}`;
  let body: Buffer | string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body) {
    headers['content-type'] = options.contentType ?? 'application/octet-stream';
    body = options.body;
  }
  return fetch(`${projector.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
}

function uploadPath(params: Record<string, string>): string {
  return `/v1/legal-artifacts/uploads?${new URLSearchParams(params).toString()}`;
}

const DTIA = Buffer.from('%PDF-1.7\nTransfer impact assessment: EU custody of tenant keys, no transfer to third countries.\n%%EOF\n');
const STATEMENT_SHA256 = createHash('sha256').update('provider statement v3 (held by the provider)').digest('hex');
const baseFields = { jurisdiction: 'eu', kind: 'DTIA', title: 'DTIA 2026 (EU custody)', owner: 'dpo@example.eu', retentionLocation: 's3://eu-legal/dtia-2026.pdf' };

/** Audit records of an operation, newest first. */
async function audited(operation: string): Promise<Array<{ outcome: string; error_code: string | null; actor: string; details: Record<string, unknown> }>> {
  return (await pool.query(`SELECT outcome, error_code, actor, details FROM audit_records WHERE operation = $1 ORDER BY "position" DESC`, [operation])).rows;
}

/** Wait for the event to be a ledger leaf, sign a checkpoint, and verify its inclusion proof; answers whether a forged hash verifies too. */
async function proveInLedger(recordId: string, streamId: string, field: string, expected: string): Promise<{ forgedVerifies: boolean }> {
  const anchor = (await events.readStream(streamId)).events.find((e) => e.id === recordId);
  if (!anchor) throw new Error(`no event ${recordId} in ${streamId}`);
  expect(anchor.data[field]).toBe(expected);
  await projector.app.get(ProjectionRunner).waitFor({ events: anchor.globalPosition }, 20_000);
  await projector.app.get(LedgerStore).checkpointIfGrown('events');
  const res = await call('GET', `/v1/ledger/events/inclusion?recordId=${recordId}`);
  expect(res.status).toBe(200);
  const proof = (await res.json()) as { leafIndex: number; treeSize: number; path: string[]; checkpoint: string };
  const note = verifyCheckpointNote(proof.checkpoint, await signer.publicKeyPem(), `${ORIGIN}/events`);
  if (!note.valid) throw new Error(note.reason);
  const record = eventLeafRecord(anchor);
  const path = proof.path.map((h) => Buffer.from(h, 'hex'));
  expect(verifyInclusion(leafHash(leafData(record)), proof.leafIndex, proof.treeSize, path, note.checkpoint.rootHash)).toBe(true);
  const forged = { ...record, data: { ...record.data, [field]: createHash('sha256').update('another document').digest('hex') } };
  return { forgedVerifies: verifyInclusion(leafHash(leafData(forged)), proof.leafIndex, proof.treeSize, path, note.checkpoint.rootHash) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-legal-'));
  const pinFile = join(dir, 'hsm.pin');
  await writeFile(pinFile, '1234\n', { mode: 0o600 });
  await runMigrations(source, [...eventStoreMigrations, ...auditMigrations]);
  pool = createPgPool(source, { max: 6 });
  events = new PostgresEventStore(pool, { channel: `kms_events_${source.schema}`.slice(0, 63), pollIntervalMs: 50 });
  auditLog = new PostgresAuditLog(pool, testAuditSealer());
  const feed = new PostgresAuditFeed(pool, testAuditSealer());
  identity = complianceIdentity(events, { tokenSigningKey: randomBytes(32), credentialPepper: randomBytes(32) }, clock);
  const carol = (await identity.register({ name: 'carol-auditor', kind: 'HUMAN', roles: ['compliance-officer'] }, { actor: 'test-setup', correlationId: randomUUID() })).identity;
  officerId = carol.identityId;
  officer = (await identity.issueVerifiedPersonToken(carol.identityId, { webauthnCredentialId: 'test-key-of-carol' })).token;
  const oncall = (await identity.register({ name: 'sam-oncall', kind: 'HUMAN', roles: ['sre-oncall'] }, { actor: 'test-setup', correlationId: randomUUID() })).identity;
  sre = (await identity.issueVerifiedPersonToken(oncall.identityId, { webauthnCredentialId: 'test-key-of-sam' })).token;
  const config = loadConfig({
    KMS_DATABASE_URL: url,
    KMS_DATABASE_SCHEMA: source.schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_MASTER_KEY_JURISDICTION: 'eu',
    KMS_HTTP_ADDRESS: '127.0.0.1:0',
    KMS_HSM_INSTANCES: JSON.stringify([
      { id: 'hsm-eu', tokenLabel: 'kms-eu', pinFile, jurisdiction: 'eu', provider: 'sovereign-cloud', environment: 'sovereign', evidenceOwner: 'eu-compliance' },
      { id: 'hsm-us', tokenLabel: 'kms-us', pinFile, jurisdiction: 'us', provider: 'commercial-cloud', environment: 'commercial' },
    ]),
  });
  projector = await createHttpApp(
    AuditProjectorModule.forRoot(config, {
      eventStore: events,
      auditFeed: feed,
      auditLog,
      signer,
      identity,
      clock,
      changes: { committer: new PostgresChangeCommitter(pool, { channel: events.channel, auditSealer: testAuditSealer() }) },
      settings: { readModelSchema, origin: ORIGIN, runner: { pollIntervalMs: 20, checkpointIntervalMs: 0 } },
    }),
    { host: '127.0.0.1', port: 0 },
    { logger: false },
  );
}, 60_000);

afterAll(async () => {
  await projector?.app.close();
  await auditLog?.close();
  await events?.close();
  await pool?.end();
  await dropSchema(source);
  await dropSchema({ url, schema: readModelSchema });
  await rm(dir, { recursive: true, force: true });
});

describe('legal appendix artifacts over HTTP', () => {
  const state: { dtia?: string; statement?: string } = {};

  it('registers an uploaded DTIA: the SHA-256 is computed from the bytes, the event is audited with its record and proven in the ledger', async () => {
    const res = await call('POST', uploadPath({ ...baseFields, fileName: 'dtia-2026.pdf' }), { body: DTIA, contentType: 'application/pdf' });
    expect(res.status).toBe(201);
    const { artifact, ledgerRecordId } = (await res.json()) as { artifact: Record<string, unknown>; ledgerRecordId: string };
    const sha256 = createHash('sha256').update(DTIA).digest('hex');
    expect(artifact).toMatchObject({
      jurisdiction: 'eu',
      kind: 'DTIA',
      title: baseFields.title,
      owner: baseFields.owner,
      retentionLocation: baseFields.retentionLocation,
      sha256,
      hashOrigin: 'COMPUTED_FROM_UPLOAD',
      size: DTIA.length,
      mediaType: 'application/pdf',
      fileName: 'dtia-2026.pdf',
      status: 'ACTIVE',
      registeredBy: officerId,
      inclusion_proof: `/v1/ledger/events/inclusion?recordId=${ledgerRecordId}`,
    });
    expect(res.headers.get('x-kms-ledger-record-id')).toBe(ledgerRecordId);
    state.dtia = String(artifact['artifactId']);

    // Committed with its audit record: the event carries the record's id.
    const [record] = await audited('RegisterLegalArtifact');
    expect(record).toMatchObject({ outcome: 'SUCCESS', actor: officerId, details: expect.objectContaining({ jurisdiction: 'eu', kind: 'DTIA', sha256, ledgerRecordId, route: 'POST /v1/legal-artifacts/uploads' }) });
    const stored = (await events.readStream('legal-artifacts-eu')).events.find((e) => e.id === ledgerRecordId);
    expect(stored?.type).toBe('LegalArtifactRegistered');

    const { forgedVerifies } = await proveInLedger(ledgerRecordId, 'legal-artifacts-eu', 'sha256', sha256);
    expect(forgedVerifies).toBe(false);
  });

  it('registers a provider statement by https reference, recording the SHA-256 its registrant states (nothing is fetched)', async () => {
    const res = await call('POST', '/v1/legal-artifacts', {
      json: { jurisdiction: 'EU', kind: 'provider_statement', title: 'Provider statement on government access', owner: 'legal@example.eu', retentionLocation: 'provider portal', url: 'https://provider.example/statements/v3.pdf', sha256: STATEMENT_SHA256.toUpperCase() },
    });
    expect(res.status).toBe(201);
    const { artifact, ledgerRecordId } = (await res.json()) as { artifact: Record<string, unknown>; ledgerRecordId: string };
    expect(artifact).toMatchObject({ jurisdiction: 'eu', kind: 'PROVIDER_STATEMENT', url: 'https://provider.example/statements/v3.pdf', sha256: STATEMENT_SHA256, hashOrigin: 'STATED_BY_REGISTRANT', status: 'ACTIVE' });
    expect(artifact).not.toHaveProperty('size');
    state.statement = String(artifact['artifactId']);
    const { forgedVerifies } = await proveInLedger(ledgerRecordId, 'legal-artifacts-eu', 'sha256', STATEMENT_SHA256);
    expect(forgedVerifies).toBe(false);
  });

  it('lists the artifacts per jurisdiction, and the control matrix\'s jurisdiction columns point at them', async () => {
    const eu = await call('GET', '/v1/legal-artifacts?jurisdiction=eu');
    expect(eu.status).toBe(200);
    const euBody = (await eu.json()) as { jurisdictions: Array<{ jurisdiction: string; artifacts: Array<{ artifactId: string; kind: string }> }> };
    expect(euBody.jurisdictions).toHaveLength(1);
    expect(euBody.jurisdictions[0]?.artifacts.map((a) => [a.artifactId, a.kind])).toEqual([
      [state.dtia, 'DTIA'],
      [state.statement, 'PROVIDER_STATEMENT'],
    ]);
    const all = (await (await call('GET', '/v1/legal-artifacts')).json()) as { jurisdictions: Array<{ jurisdiction: string; artifacts: unknown[] }> };
    expect(all.jurisdictions.map((j) => [j.jurisdiction, j.artifacts.length])).toEqual([
      ['eu', 2],
      ['us', 0],
    ]);

    const controls = (await (await call('GET', '/v1/controls')).json()) as { controls: Array<{ id: string; evidence_by_environment: Array<Record<string, unknown>> }> };
    const hsm = controls.controls.find((c) => c.id === 'KMS-HSM-01');
    const euColumn = hsm?.evidence_by_environment.find((c) => c['jurisdiction'] === 'eu');
    expect(euColumn).toMatchObject({ environment: 'sovereign', owner: 'eu-compliance', legal_appendix: '/v1/legal-artifacts?jurisdiction=eu' });
    expect((euColumn?.['legal_artifacts'] as Array<{ artifactId: string }>).map((a) => a.artifactId)).toEqual([state.dtia, state.statement]);
    const usColumn = hsm?.evidence_by_environment.find((c) => c['jurisdiction'] === 'us');
    expect(usColumn?.['legal_artifacts']).toEqual([]);
    // The emergency access plan bears on escrow, not on custody: none registered yet.
    const escrowEu = controls.controls.find((c) => c.id === 'KMS-ESC-01')?.evidence_by_environment.find((c) => c['jurisdiction'] === 'eu');
    expect(escrowEu?.['legal_artifacts']).toEqual([]);
  });

  it('supersedes and withdraws by events: nothing is deleted, the list shows every status', async () => {
    const v2 = Buffer.concat([DTIA, Buffer.from('revision 2\n')]);
    const res = await call('POST', uploadPath({ ...baseFields, title: 'DTIA 2026 rev. 2', supersedes: state.dtia as string }), { body: v2, contentType: 'application/pdf' });
    expect(res.status).toBe(201);
    const replacement = ((await res.json()) as { artifact: { artifactId: string; supersedes: string } }).artifact;
    expect(replacement.supersedes).toBe(state.dtia);
    const withdrawn = await call('POST', `/v1/legal-artifacts/${state.statement}/withdrawal`, { json: { reason: 'the provider published v4' } });
    expect(withdrawn.status).toBe(200);
    expect(((await withdrawn.json()) as { artifact: { status: string; withdrawalReason: string } }).artifact).toMatchObject({ status: 'WITHDRAWN', withdrawalReason: 'the provider published v4' });
    const again = await call('POST', `/v1/legal-artifacts/${state.statement}/withdrawal`, { json: { reason: 'twice' } });
    expect(again.status).toBe(409);
    const listed = (await (await call('GET', '/v1/legal-artifacts?jurisdiction=eu')).json()) as { jurisdictions: Array<{ artifacts: Array<{ artifactId: string; status: string; supersededBy?: string }> }> };
    expect(listed.jurisdictions[0]?.artifacts.map((a) => [a.artifactId, a.status])).toEqual([
      [state.dtia, 'SUPERSEDED'],
      [state.statement, 'WITHDRAWN'],
      [replacement.artifactId, 'ACTIVE'],
    ]);
    expect(listed.jurisdictions[0]?.artifacts[0]?.supersededBy).toBe(replacement.artifactId);
    const active = (await (await call('GET', '/v1/legal-artifacts?jurisdiction=eu&status=ACTIVE')).json()) as { jurisdictions: Array<{ artifacts: Array<{ artifactId: string }> }> };
    expect(active.jurisdictions[0]?.artifacts.map((a) => a.artifactId)).toEqual([replacement.artifactId]);
    const types = (await events.readStream('legal-artifacts-eu')).events.map((e) => e.type);
    expect(types).toEqual(['LegalArtifactRegistered', 'LegalArtifactRegistered', 'LegalArtifactRegistered', 'LegalArtifactSuperseded', 'LegalArtifactWithdrawn']);
  });

  it.each([
    ['an unconfigured jurisdiction', { ...baseFields, jurisdiction: 'br' }, 'jurisdiction'],
    ['an unknown kind', { ...baseFields, kind: 'CONTRACT' }, 'kind'],
    ['a missing title', { ...baseFields, title: '' }, 'title'],
    ['a missing owner', { ...baseFields, owner: ' ' }, 'owner'],
    ['a missing retention location', { ...baseFields, retentionLocation: '' }, 'retentionLocation'],
    ['an http URL', { ...baseFields, url: 'http://provider.example/s.pdf', sha256: STATEMENT_SHA256 }, 'url'],
    ['a URL with credentials', { ...baseFields, url: 'https://user:pw@provider.example/s.pdf', sha256: STATEMENT_SHA256 }, 'url'],
    ['a malformed SHA-256', { ...baseFields, url: 'https://provider.example/s.pdf', sha256: 'abc' }, 'sha256'],
    ['an unknown artifact to supersede', { ...baseFields, url: 'https://provider.example/s.pdf', sha256: STATEMENT_SHA256, supersedes: randomUUID() }, 'supersedes'],
  ])('refuses a reference with %s, naming the field, and audits the refusal', async (_what, json, field) => {
    const before = (await events.readStream('legal-artifacts-eu')).events.length;
    const res = await call('POST', '/v1/legal-artifacts', { json });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { code: string; field: string; detail: string };
    expect(problem).toMatchObject({ code: 'INVALID_ARGUMENT', field });
    expect(problem.detail.startsWith(`${field}:`)).toBe(true);
    const [record] = await audited('RegisterLegalArtifact');
    expect(record).toMatchObject({ outcome: 'FAILURE', error_code: 'INVALID_ARGUMENT', actor: officerId, details: expect.objectContaining({ route: 'POST /v1/legal-artifacts' }) });
    expect((await events.readStream('legal-artifacts-eu')).events.length).toBe(before);
  });

  it('refuses an upload over 10 MiB naming content, an empty one, and one without a media type; each refusal audited', async () => {
    const big = await call('POST', uploadPath(baseFields), { body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x41), contentType: 'application/pdf' });
    expect(big.status).toBe(400);
    expect(await big.json()).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'content' });
    expect((await audited('RegisterLegalArtifact'))[0]).toMatchObject({ outcome: 'FAILURE', error_code: 'INVALID_ARGUMENT' });
    const empty = await call('POST', uploadPath(baseFields), { body: Buffer.alloc(0), contentType: 'application/pdf' });
    expect(await empty.json()).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'content' });
    const noType = await fetch(`${projector.url}${uploadPath(baseFields)}`, { method: 'POST', headers: { authorization: `Bearer ${officer}`, 'content-type': 'pdf' }, body: DTIA });
    expect(await noType.json()).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'content-type' });
    const pathName = await call('POST', uploadPath({ ...baseFields, fileName: '../etc/passwd' }), { body: DTIA, contentType: 'application/pdf' });
    expect(await pathName.json()).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'fileName' });
  }, 30_000);

  it('refuses a person without a compliance role and an anonymous caller, audited as DENIED, writing nothing', async () => {
    const before = (await events.readStream('legal-artifacts-eu')).events.length;
    const denied = await call('POST', uploadPath(baseFields), { token: sre, body: DTIA, contentType: 'application/pdf' });
    expect(denied.status).toBe(403);
    expect((await audited('RegisterLegalArtifact'))[0]).toMatchObject({ outcome: 'DENIED', error_code: 'PERMISSION_DENIED' });
    const anonymous = await call('POST', '/v1/legal-artifacts', { token: '', json: { ...baseFields, url: 'https://provider.example/s.pdf', sha256: STATEMENT_SHA256 } });
    expect(anonymous.status).toBe(401);
    expect((await audited('RegisterLegalArtifact'))[0]).toMatchObject({ outcome: 'DENIED', error_code: 'UNAUTHENTICATED' });
    expect((await events.readStream('legal-artifacts-eu')).events.length).toBe(before);
  });

  it('kms legal-artifact registers an upload and lists the jurisdiction', async () => {
    const file = join(dir, 'emergency-access-plan.pdf');
    const plan = Buffer.from('%PDF-1.7\nEmergency access plan (EU)\n%%EOF\n');
    await writeFile(file, plan);
    const kms = (args: string[]) =>
      new Promise<{ code: number; text: string }>((resolve) => {
        execFile(process.execPath, [join(__dirname, '../../../bin/kms.js'), ...args], { env: { ...process.env, XDG_CONFIG_HOME: dir, KMS_HTTP_URL: projector.url, KMS_TOKEN: officer }, timeout: 60_000 }, (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, text: `${stdout}${stderr}` }),
        );
      });
    const registered = await kms(['legal-artifact', 'register', '--jurisdiction', 'eu', '--kind', 'EMERGENCY_ACCESS_PLAN', '--title', 'Emergency access plan', '--owner', 'ciso@example.eu', '--retention-location', 'eu-legal vault', '--file', file]);
    expect(registered).toEqual({ code: 0, text: expect.stringContaining(createHash('sha256').update(plan).digest('hex')) });
    const listed = await kms(['legal-artifact', 'list', '--jurisdiction', 'eu']);
    expect(listed.code).toBe(0);
    expect(listed.text).toContain('EMERGENCY_ACCESS_PLAN');
    expect(listed.text).toContain('Emergency access plan');
    const refused = await kms(['legal-artifact', 'register', '--jurisdiction', 'eu', '--kind', 'DTIA', '--title', 'x', '--owner', 'y', '--retention-location', 'z', '--url', 'http://insecure.example/x', '--sha256', STATEMENT_SHA256]);
    expect(refused.code).not.toBe(0);
    expect(refused.text).toContain('url');
  }, 120_000);
});
