import { randomBytes, randomUUID } from 'node:crypto';
import { systemClock } from '@kms/application';
import { EventSealer } from '@kms/event-store';
import {
  archiveAuditTrail,
  auditMigrations,
  createPgPool,
  dropExpiredAuditPartitions,
  dropSchema,
  ensureAuditPartitions,
  PostgresAuditFeed,
  PostgresAuditLog,
  readStoredAuditRows,
  retainedTrailAnchor,
  runMigrations,
  type StoredAuditRow,
  testDatabaseUrl,
  uniqueTestSchema,
} from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { SoftwareAttestationSigner } from '../attestation/software-attestation-signer';
import { latestAuditCheckpointCoverage } from '../ledger/audit-checkpoint-coverage';
import { LedgerStore } from '../ledger/ledger-store';
import { ProjectionStore } from '../projections/projection-store';
import { readModelTestSchema, type ReadModelTestSchema } from '../testing';
import { LedgerReconciler, type SourceHistory } from './ledger-reconciler';

const sealer = testAuditSealer();
const source = { url: testDatabaseUrl(), schema: uniqueTestSchema('ap_recon_retention_src') };
const dir = mkdtempSync(join(tmpdir(), 'kms-recon-retention-'));
let pool: Pool;
let target: ReadModelTestSchema;

afterAll(async () => {
  await pool.end();
  await target.drop();
  await dropSchema(source);
  rmSync(dir, { recursive: true, force: true });
});

describe('reconciliation after retention dropped the oldest audit partitions', () => {
  it('checks the remaining trail from the anchor the drop recorded and leaves the dropped rows’ leaves alone; without that anchor it names the gap', async () => {
    await runMigrations(source, auditMigrations);
    pool = createPgPool(source, { max: 4 });
    target = await readModelTestSchema('ap_recon_retention_rm');
    await ensureAuditPartitions(pool, new Date(Date.UTC(2024, 0, 1)), 1);
    const log = new PostgresAuditLog(pool, sealer);
    for (const time of [new Date(Date.UTC(2024, 0, 3)), new Date(Date.UTC(2024, 0, 4)), new Date(Date.UTC(2024, 1, 3)), new Date()]) {
      await log.append({ id: randomUUID(), time, requestId: randomUUID(), operation: 'Encrypt', actor: 'svc', outcome: 'SUCCESS' });
    }
    await log.close();

    const signer = SoftwareAttestationSigner.generate();
    const projections = new ProjectionStore(target.dataSource);
    const ledger = new LedgerStore(target.dataSource, 'kms.test/ledger', signer, systemClock);
    await projections.projectAuditRecords(await new PostgresAuditFeed(pool, sealer).readAfter(0n, 100));
    await ledger.checkpointIfGrown('audit');
    const coverage = await latestAuditCheckpointCoverage(target.pool);
    expect(coverage).toMatchObject({ treeSize: 4, throughPosition: 4n });
    await archiveAuditTrail(pool, sealer, { checkpoint: coverage as NonNullable<typeof coverage>, directory: dir, now: new Date() });
    const dropped = await dropExpiredAuditPartitions(pool, sealer, { now: new Date(), retentionDays: 365 });
    expect(dropped.filter((d) => d.dropped).map((d) => d.partition)).toEqual(['audit_records_p202401', 'audit_records_p202402']);

    const rows: SourceHistory = { eventsAfter: async () => [], auditRecordsAfter: async (p, n) => (await readStoredAuditRows(pool, p, n)).rows };
    const reconciler = (s: SourceHistory) =>
      new LedgerReconciler({ source: s, sealer: new EventSealer(randomBytes(32)), auditSealer: sealer, dataSource: target.dataSource, projections, ledger, attestationPublicKeyPem: () => signer.publicKeyPem() });

    const anchored = await reconciler({ ...rows, auditTrailAnchor: (first: StoredAuditRow) => retainedTrailAnchor(pool, sealer, first) }).run();
    expect(anchored.divergences).toEqual([]);
    expect(anchored.checked.auditRecords).toBe(4); // position 4, then the archive record and the two drop records

    const unanchored = await reconciler(rows).run();
    expect(unanchored.divergences.map((d) => [d.position, d.problem])).toEqual([
      ['4', 'the record claims a predecessor but none precedes it (records removed)'],
      ['1', expect.stringContaining('no longer in the source')],
      ['2', expect.stringContaining('no longer in the source')],
      ['3', expect.stringContaining('no longer in the source')],
    ]);
  });
});
