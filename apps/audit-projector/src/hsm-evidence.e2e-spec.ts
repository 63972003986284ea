/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-jurisdictions-test.environment.ts
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HsmAttestationService, HsmTimelineService, type IdentityService, ManualClock } from '@kms/application';
import { AuditProjectorModule, complianceIdentity, LedgerStore, ProjectionRunner } from '@kms/audit-projector';
import { SoftwareAttestationSigner } from '@kms/audit-projector/testing';
import { loadConfig } from '@kms/config';
import type { Jurisdiction } from '@kms/domain';
import { eventStoreMigrations, PostgresChangeCommitter, PostgresEventStore } from '@kms/event-store-postgres';
import { HsmInstanceRegistry } from '@kms/key-backend-pkcs11';
import { JURISDICTION_TEST_TOKENS, SOFTHSM_MODULE, softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { eventLeafRecord, leafData, leafHash, verifyCheckpointNote, verifyInclusion } from '@kms/ledger';
import { auditMigrations, createPgPool, dropSchema, PostgresAuditFeed, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { createHttpApp, type HttpApp } from '@kms/platform';
import type { Pool } from 'pg';

// GET /v1/evidence/hsms/{id} over HTTP: the projector app with an HSM instance on a SoftHSM2 token
// (kms-eu), called with a compliance officer's bearer token; the PDF is read with pdftotext, its hash
// is proven in the ledger with an inclusion proof, and `kms hsm-evidence` writes the same bundle.

const url = testDatabaseUrl();
const source = { url, schema: uniqueTestSchema('hsm_ev_src') };
const readModelSchema = uniqueTestSchema('hsm_ev_rm');
const clock = new ManualClock(new Date('2026-06-01T00:00:00.000Z'));
const signer = SoftwareAttestationSigner.generate();
const token = softHsmTestToken();

let pool: Pool;
let events: PostgresEventStore;
let auditLog: PostgresAuditLog;
let identity: IdentityService;
let registry: HsmInstanceRegistry;
let projector: HttpApp;
let bearer: string;

function get(path: string, auth: string | undefined = bearer): Promise<Response> {
  return fetch(`${projector.url}${path}`, { headers: auth ? { authorization: `Bearer ${auth}` } : {} });
}

async function pdftotext(pdf: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hsm-ev-pdf-'));
  try {
    const file = join(dir, 'bundle.pdf');
    await writeFile(file, pdf);
    return await new Promise<string>((resolve, reject) => execFile('pdftotext', ['-layout', file, '-'], (error, stdout) => (error ? reject(error) : resolve(stdout))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  await runMigrations(source, [...eventStoreMigrations, ...auditMigrations]);
  pool = createPgPool(source, { max: 6 });
  events = new PostgresEventStore(pool, { channel: `kms_events_${source.schema}`.slice(0, 63), pollIntervalMs: 50 });
  auditLog = new PostgresAuditLog(pool, testAuditSealer());
  const feed = new PostgresAuditFeed(pool, testAuditSealer());
  identity = complianceIdentity(events, { tokenSigningKey: randomBytes(32), credentialPepper: randomBytes(32) }, clock);
  const { identity: officer } = await identity.register({ name: 'carol-auditor', kind: 'HUMAN', roles: ['compliance-officer'] }, { actor: 'test-setup', correlationId: randomUUID() });
  bearer = (await identity.issueVerifiedPersonToken(officer.identityId, { webauthnCredentialId: 'test-key-of-carol' })).token;
  registry = new HsmInstanceRegistry([
    {
      id: 'hsm-eu',
      jurisdiction: 'eu' as Jurisdiction,
      provider: 'softhsm2 (sovereign test)',
      environment: 'sovereign',
      certifications: ['FIPS 140-3 certificate #4821 (declared)'],
      modulePath: SOFTHSM_MODULE,
      token: { kind: 'label', label: JURISDICTION_TEST_TOKENS.eu },
      pin: { kind: 'file', path: token.userPinFile },
      softhsm2Conf: token.confPath,
    },
  ]);
  await registry.connect();
  const timeline = new HsmTimelineService(events, new PostgresChangeCommitter(pool, { channel: events.channel, auditSealer: testAuditSealer() }), clock);
  const hsmAttestations = new HsmAttestationService((id) => registry.attestable(id), timeline);
  const config = loadConfig({ KMS_DATABASE_URL: url, KMS_DATABASE_SCHEMA: source.schema, KMS_MASTER_KEY: randomBytes(32).toString('base64'), KMS_HTTP_ADDRESS: '127.0.0.1:0' });
  projector = await createHttpApp(
    AuditProjectorModule.forRoot(config, {
      eventStore: events,
      auditFeed: feed,
      auditLog,
      signer,
      identity,
      clock,
      hsmAttestations,
      settings: { readModelSchema, origin: 'kms.hsm-evidence.test/ledger', runner: { pollIntervalMs: 20, checkpointIntervalMs: 0 } },
    }),
    { host: '127.0.0.1', port: 0 },
    { logger: false },
  );
}, 60_000);

afterAll(async () => {
  await projector?.app.close();
  await registry?.close();
  await auditLog?.close();
  await events?.close();
  await pool?.end();
  await dropSchema(source);
  await dropSchema({ url, schema: readModelSchema });
});

describe('GET /v1/evidence/hsms/{id} over HTTP', () => {
  it('serves the PDF with every required field; its SHA-256 is in the ledger, provable by an inclusion proof', async () => {
    const res = await get('/v1/evidence/hsms/hsm-eu');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/pdf');
    const pdf = Buffer.from(await res.arrayBuffer());
    const sha256 = createHash('sha256').update(pdf).digest('hex');
    expect(res.headers.get('x-kms-bundle-sha256')).toBe(sha256);
    const text = (await pdftotext(pdf)).replace(/\s+/g, ' ');
    const reported = await registry.get('hsm-eu').hsm.pool.identity();
    for (const required of ['HSM id: hsm-eu', 'Jurisdiction: eu', 'Environment: sovereign', 'Certification: FIPS 140-3 certificate #4821 (declared)', `Serial number: ${reported.serialNumber}`, `Firmware version: ${reported.firmwareVersion}`, 'Firmware digest (SHA-256)', 'Verification log', 'VALID', 'BEGIN PUBLIC KEY', 'HsmInstanceRegistered']) {
      expect(text).toContain(required);
    }

    // The anchor: the HsmAttestationBundleIssued event carrying the PDF's hash, a leaf of the events log.
    const recordId = res.headers.get('x-kms-ledger-record-id') ?? '';
    const anchor = (await events.readStream('hsm-hsm-eu')).events.find((e) => e.id === recordId);
    expect(anchor?.data['bundleSha256']).toBe(sha256);
    await projector.app.get(ProjectionRunner).waitFor({ events: anchor?.globalPosition ?? 0n }, 20_000);
    // The next signed checkpoint (scheduled in a deployment; at once here).
    await projector.app.get(LedgerStore).checkpointIfGrown('events');
    const inclusion = await get(`/v1/ledger/events/inclusion?recordId=${recordId}`);
    expect(inclusion.status).toBe(200);
    const proof = (await inclusion.json()) as { leafIndex: number; treeSize: number; path: string[]; checkpoint: string };
    // The signed checkpoint the proof is against, checked with the projector's attestation key.
    const note = verifyCheckpointNote(proof.checkpoint, await signer.publicKeyPem(), 'kms.hsm-evidence.test/ledger/events');
    if (!note.valid) throw new Error(note.reason);
    expect(note.checkpoint.treeSize).toBe(proof.treeSize);
    const record = eventLeafRecord(anchor as NonNullable<typeof anchor>);
    const path = proof.path.map((h) => Buffer.from(h, 'hex'));
    expect(verifyInclusion(leafHash(leafData(record)), proof.leafIndex, proof.treeSize, path, note.checkpoint.rootHash)).toBe(true);
    const forged = { ...record, data: { ...record.data, bundleSha256: createHash('sha256').update('another pdf').digest('hex') } };
    expect(verifyInclusion(leafHash(leafData(forged)), proof.leafIndex, proof.treeSize, path, note.checkpoint.rootHash)).toBe(false);
  });

  it('serves the canonical JSON with the same facts, refuses an unknown instance and an anonymous caller, and audits the export', async () => {
    const pdfFacts = await get('/v1/evidence/hsms/hsm-eu?format=json');
    expect(pdfFacts.status).toBe(200);
    expect(pdfFacts.headers.get('content-type')).toContain('application/json');
    const json = (await pdfFacts.json()) as { facts: { hsm: { id: string; jurisdiction: string } } };
    expect(json.facts.hsm).toMatchObject({ id: 'hsm-eu', jurisdiction: 'eu' });
    expect((await get('/v1/evidence/hsms/hsm-nowhere')).status).toBe(404);
    expect((await get('/v1/evidence/hsms/hsm-eu?format=docx')).status).toBe(400);
    expect((await get('/v1/evidence/hsms/hsm-eu', '')).status).toBe(401);
    const audited = await pool.query<{ operation: string; outcome: string; details: Record<string, string> }>(
      `SELECT operation, outcome, details FROM audit_records WHERE operation = 'ExportEvidence' AND details->>'hsmId' = 'hsm-eu' AND outcome = 'SUCCESS'`,
    );
    expect(audited.rows.length).toBeGreaterThanOrEqual(2);
    expect(audited.rows.map((r) => r.details['format']).sort()).toEqual(expect.arrayContaining(['json', 'pdf']));
  });

  it('kms hsm-evidence writes the PDF and the JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kms-hsm-evidence-'));
    try {
      const out = join(dir, 'hsm-eu.pdf');
      const result = await new Promise<{ code: number; text: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(__dirname, '../../../bin/kms.js'), 'hsm-evidence', '--id', 'hsm-eu', '--out', out],
          { env: { ...process.env, XDG_CONFIG_HOME: dir, KMS_HTTP_URL: projector.url, KMS_TOKEN: bearer }, timeout: 60_000 },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, text: `${stdout}${stderr}` }),
        );
      });
      expect(result).toEqual({ code: 0, text: expect.stringContaining(`wrote ${out}`) });
      const pdf = await readFile(out);
      expect(result.text).toContain(createHash('sha256').update(pdf).digest('hex'));
      expect(await pdftotext(pdf)).toContain('hsm-eu');
      const json = JSON.parse(await readFile(`${out}.json`, 'utf8')) as { facts: { hsm: { id: string } } };
      expect(json.facts.hsm.id).toBe('hsm-eu');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
