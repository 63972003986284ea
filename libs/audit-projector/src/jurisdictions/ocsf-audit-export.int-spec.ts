import type { AuditRecord } from '@kms/application';
import { systemClock } from '@kms/application';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { auditMigrations, createPgPool, dropSchema, PostgresAuditFeed, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { withOneCharChanged } from '@kms/testing';
import { createHash, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { SoftwareAttestationSigner } from '../attestation/software-attestation-signer';
import { LedgerStore } from '../ledger/ledger-store';
import { ProjectionRunner } from '../projections/projection-runner';
import { ProjectionStore } from '../projections/projection-store';
import { type ReadModelTestSchema, readModelTestSchema } from '../testing/read-model-test-schema';
import { ExportWindowError, OcsfAuditExport, verifyOcsfExport } from './ocsf-audit-export';

const source = { url: testDatabaseUrl(), schema: uniqueTestSchema('ocsf_src') };
const signer = SoftwareAttestationSigner.generate();
const base = Date.parse('2026-05-01T00:00:00.000Z');
const OPERATIONS = ['Encrypt', 'Decrypt', 'CreateKey', 'RotateKey', 'GetKey', 'DestroyKeyVersion'];
/** 60 records one minute apart: the window [10 min, 40 min) holds 30 of them. */
const records: AuditRecord[] = Array.from({ length: 60 }, (_, i) => ({
  id: randomUUID(),
  time: new Date(base + i * 60_000),
  requestId: `req-${i}`,
  operation: OPERATIONS[i % OPERATIONS.length],
  ...(i % 4 === 0 ? {} : { keyId: randomUUID(), keyVersion: 1 + (i % 3) }),
  actor: i % 2 === 0 ? 'svc-orders' : 'alice',
  ...(i % 2 === 0 ? {} : { actorRole: 'security-engineering' }),
  outcome: i % 7 === 0 ? 'DENIED' : 'SUCCESS',
  ...(i % 7 === 0 ? { errorCode: 'PERMISSION_DENIED' } : {}),
  sourceAddress: '10.0.0.8',
  details: { plaintextBytes: i },
}));
const window = { from: new Date(base + 10 * 60_000).toISOString(), to: new Date(base + 40 * 60_000).toISOString() };

describe('OCSF export of the audit records of a window', () => {
  let pool: Pool;
  let target: ReadModelTestSchema;
  let exporter: OcsfAuditExport;
  let publicKeyPem: string;

  beforeAll(async () => {
    await runMigrations(source, [...eventStoreMigrations, ...auditMigrations]);
    pool = createPgPool(source, { max: 4 });
    const log = new PostgresAuditLog(pool, testAuditSealer());
    for (const r of records) await log.append(r);
    await log.close();
    const feed = new PostgresAuditFeed(pool, testAuditSealer());
    const events = new PostgresEventStore(pool, { pollIntervalMs: 100 });
    target = await readModelTestSchema('ocsf_rm');
    const ledger = new LedgerStore(target.dataSource, 'kms.test/ledger', signer, systemClock);
    const runner = new ProjectionRunner(new ProjectionStore(target.dataSource), events, feed, ledger, systemClock, undefined, { checkpointIntervalMs: 0, pollIntervalMs: 20, retryDelayMs: 50 });
    runner.start();
    try {
      await runner.waitFor({ audit: await feed.headPosition() }, 20_000);
    } finally {
      await runner.stop();
      await events.close();
    }
    exporter = new OcsfAuditExport(target.dataSource, ledger);
    publicKeyPem = await signer.publicKeyPem();
  });
  afterAll(async () => {
    await target.drop();
    await pool.end();
    await dropSchema(source);
  });

  it('matches the audit records of the window one to one, as OCSF API Activity lines', async () => {
    const { extract, manifest } = await exporter.export({ ...window, format: 'ocsf' });
    const lines = extract.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, never>);
    const expected = records.filter((r) => r.time.toISOString() >= window.from && r.time.toISOString() < window.to);
    expect(expected).toHaveLength(30);
    expect(manifest.count).toBe(30);
    expect(lines.map((l) => [l['metadata']['uid'], l['api']['operation'], l['actor']['user']['uid'], l['time'], l['status_detail']])).toEqual(
      expected.map((r) => [r.id, r.operation, r.actor, r.time.getTime(), r.outcome]),
    );
    expect(lines.every((l) => l['class_uid'] === 6003 && l['category_uid'] === 6)).toBe(true);
    const denied = lines.filter((l) => l['status_detail'] === 'DENIED');
    expect(denied.map((l) => [l['status_id'], l['status_code']])).toEqual(expected.filter((r) => r.outcome === 'DENIED').map(() => [2, 'PERMISSION_DENIED']));
    expect(verifyOcsfExport(extract, manifest, publicKeyPem)).toEqual([]);
  });

  it('exports the same bytes twice', async () => {
    const a = await exporter.export(window);
    const b = await exporter.export(window);
    expect(b.extract.equals(a.extract)).toBe(true);
    expect(b.manifest.sha256).toBe(a.manifest.sha256);
  });

  it('a changed, missing or added line fails verification', async () => {
    const { extract, manifest } = await exporter.export(window);
    const text = extract.toString('utf8');
    const lines = text.trimEnd().split('\n');
    const changed = Buffer.from(withOneCharChanged(text, text.indexOf('"operation":"') + 14));
    expect(verifyOcsfExport(changed, manifest, publicKeyPem).length).toBeGreaterThan(0);
    // Dropped line, with a manifest rewritten to match its hash and count: still caught by the leaf indexes and the end proofs.
    const dropped = Buffer.from(`${[...lines.slice(0, 5), ...lines.slice(6)].join('\n')}\n`);
    const rewritten = { ...manifest, count: manifest.count - 1, sha256: createHash('sha256').update(dropped).digest('hex') };
    expect(verifyOcsfExport(dropped, rewritten, publicKeyPem).join('; ')).toContain('a record is missing or added');
    // The last line removed: its end proof no longer matches.
    const truncated = Buffer.from(`${lines.slice(0, -1).join('\n')}\n`);
    const truncatedManifest = { ...manifest, count: manifest.count - 1, sha256: createHash('sha256').update(truncated).digest('hex') };
    expect(verifyOcsfExport(truncated, truncatedManifest, publicKeyPem).join('; ')).toContain('is not included under the checkpoint');
    // Another key's checkpoint signature is refused.
    expect(verifyOcsfExport(extract, manifest, await SoftwareAttestationSigner.generate().publicKeyPem()).join('; ')).toContain('checkpoint');
  });

  it('refuses a bad window naming the parameter', async () => {
    for (const [query, field] of [
      [{ from: 'yesterday', to: window.to }, 'from'],
      [{ from: window.to, to: window.from }, 'to'],
      [{ ...window, format: 'cef' }, 'format'],
    ] as const) {
      const e = await exporter.export(query).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ExportWindowError);
      expect((e as ExportWindowError).field).toBe(field);
    }
  });
});
