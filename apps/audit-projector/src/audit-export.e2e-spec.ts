import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditRecord, type IdentityService, ManualClock } from '@kms/application';
import { AuditProjectorModule, complianceIdentity, type OcsfExportManifest, ProjectionRunner, verifyOcsfExport } from '@kms/audit-projector';
import { SoftwareAttestationSigner } from '@kms/audit-projector/testing';
import { loadConfig } from '@kms/config';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { auditMigrations, createPgPool, dropSchema, PostgresAuditFeed, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { createHttpApp, type HttpApp } from '@kms/platform';
import type { Pool } from 'pg';

// GET /v1/audit/export over HTTP: the real projector app on real PostgreSQL, called by a compliance
// officer's bearer token; the extract is checked against its manifest offline.

const url = testDatabaseUrl();
const source = { url, schema: uniqueTestSchema('ocsf_http_src') };
const readModelSchema = uniqueTestSchema('ocsf_http_rm');
const NOW = new Date('2026-06-01T00:00:00.000Z');
const clock = new ManualClock(NOW);
const signer = SoftwareAttestationSigner.generate();
const base = Date.parse('2026-05-31T10:00:00.000Z');
const window = { from: new Date(base + 5 * 60_000).toISOString(), to: new Date(base + 15 * 60_000).toISOString() };

let pool: Pool;
let events: PostgresEventStore;
let auditLog: PostgresAuditLog;
let identity: IdentityService;
let projector: HttpApp;
let token: string;
const seeded: AuditRecord[] = [];

function get(path: string, bearer: string | undefined = token): Promise<Response> {
  return fetch(`${projector.url}${path}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
}

beforeAll(async () => {
  await runMigrations(source, [...eventStoreMigrations, ...auditMigrations]);
  pool = createPgPool(source, { max: 6 });
  events = new PostgresEventStore(pool, { channel: `kms_events_${source.schema}`.slice(0, 63), pollIntervalMs: 50 });
  auditLog = new PostgresAuditLog(pool, testAuditSealer());
  const feed = new PostgresAuditFeed(pool, testAuditSealer());
  identity = complianceIdentity(events, { tokenSigningKey: randomBytes(32), credentialPepper: randomBytes(32) }, clock);
  const { identity: officer } = await identity.register({ name: 'carol-auditor', kind: 'HUMAN', roles: ['compliance-officer'] }, { actor: 'test-setup', correlationId: randomUUID() });
  token = (await identity.issueVerifiedPersonToken(officer.identityId, { webauthnCredentialId: 'test-key-of-carol' })).token;
  for (let i = 0; i < 20; i++) {
    const r: AuditRecord = { id: randomUUID(), time: new Date(base + i * 60_000), requestId: `req-${i}`, operation: i % 2 ? 'Encrypt' : 'RotateKey', actor: `svc-${i % 3}`, outcome: i % 5 ? 'SUCCESS' : 'DENIED', sourceAddress: '10.0.0.9' };
    seeded.push(r);
    await auditLog.append(r);
  }
  const config = loadConfig({ KMS_DATABASE_URL: url, KMS_DATABASE_SCHEMA: source.schema, KMS_MASTER_KEY: randomBytes(32).toString('base64'), KMS_HTTP_ADDRESS: '127.0.0.1:0' });
  projector = await createHttpApp(
    AuditProjectorModule.forRoot(config, {
      eventStore: events,
      auditFeed: feed,
      auditLog,
      signer,
      identity,
      clock,
      settings: { readModelSchema, origin: 'kms.ocsf.test/ledger', runner: { pollIntervalMs: 20, checkpointIntervalMs: 0 } },
    }),
    { host: '127.0.0.1', port: 0 },
    { logger: false },
  );
  await projector.app.get(ProjectionRunner).waitFor({ audit: await feed.headPosition() }, 20_000);
}, 60_000);

afterAll(async () => {
  await projector?.app.close();
  await auditLog?.close();
  await events?.close();
  await pool?.end();
  await dropSchema(source);
  await dropSchema({ url, schema: readModelSchema });
});

describe('GET /v1/audit/export?format=ocsf over HTTP', () => {
  it('streams the window as OCSF JSON lines whose manifest verifies, one line per audit record of the window', async () => {
    const query = `from=${encodeURIComponent(window.from)}&to=${encodeURIComponent(window.to)}&format=ocsf`;
    const res = await get(`/v1/audit/export?${query}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const extract = Buffer.from(await res.arrayBuffer());
    const manifestRes = await get(`/v1/audit/export/manifest?${query}`);
    expect(manifestRes.status).toBe(200);
    const manifest = (await manifestRes.json()) as OcsfExportManifest;
    expect(res.headers.get('x-kms-extract-sha256')).toBe(manifest.sha256);
    expect(verifyOcsfExport(extract, manifest, await signer.publicKeyPem())).toEqual([]);
    const ids = extract
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { metadata: { uid: string } }).metadata.uid);
    expect(ids).toEqual(seeded.filter((r) => r.time.toISOString() >= window.from && r.time.toISOString() < window.to).map((r) => r.id));
  });

  it('kms export-audit writes the extract and its manifest, which verify', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kms-export-audit-'));
    try {
      const out = join(dir, 'window.jsonl');
      const result = await new Promise<{ code: number; text: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(__dirname, '../../../bin/kms.js'), 'export-audit', '--from', window.from, '--to', window.to, '--out', out],
          { env: { ...process.env, XDG_CONFIG_HOME: dir, KMS_HTTP_URL: projector.url, KMS_TOKEN: token }, timeout: 60_000 },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, text: `${stdout}${stderr}` }),
        );
      });
      expect(result).toEqual({ code: 0, text: expect.stringContaining(`wrote ${out}`) });
      const manifest = JSON.parse(await readFile(`${out}.manifest.json`, 'utf8')) as OcsfExportManifest;
      expect(manifest.count).toBe(10);
      expect(verifyOcsfExport(await readFile(out), manifest, await signer.publicKeyPem())).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad window naming the parameter, and a caller without a token', async () => {
    const bad = await get(`/v1/audit/export?from=${encodeURIComponent(window.to)}&to=${encodeURIComponent(window.from)}&format=ocsf`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { field: string }).field).toBe('to');
    expect((await get(`/v1/audit/export?from=${encodeURIComponent(window.from)}&to=${encodeURIComponent(window.to)}`, '')).status).toBe(401);
  });
});
