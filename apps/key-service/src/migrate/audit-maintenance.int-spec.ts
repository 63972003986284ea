import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testConfig } from '@kms/config/testing';
import { AuditSealer, createPgPool, dropSchema, ensureAuditPartitions, PostgresAuditFeed, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { maintainAuditTrail, scheduleAuditMaintenance } from './audit-maintenance';
import { kmsMigrations, sealKeysOf } from './migrate-kms';

const schema = uniqueTestSchema('audit_maintenance');
const dir = mkdtempSync(join(tmpdir(), 'kms-audit-maintenance-'));
const config = testConfig({ KMS_DATABASE_URL: testDatabaseUrl(), KMS_DATABASE_SCHEMA: schema, KMS_AUDIT_ARCHIVE_DIR: join(dir, 'archives') });
const pool = createPgPool(config.postgres, { max: 2 });

afterAll(async () => {
  await pool.end();
  await dropSchema(config.postgres);
  rmSync(dir, { recursive: true, force: true });
});

describe('audit maintenance (the owner step): partitions ahead, archive to the signed checkpoint, drop what retention allows', () => {
  it('archives through the newest audit checkpoint and drops the expired month it covers, and only that one', async () => {
    await runMigrations(config.postgres, kmsMigrations(config));
    const sealKeys = await sealKeysOf(config, []);
    const sealer = new AuditSealer(sealKeys.audit);
    await ensureAuditPartitions(pool, new Date(Date.UTC(2024, 0, 1)), 1);
    const log = new PostgresAuditLog(pool, sealer);
    for (const time of [new Date(Date.UTC(2024, 0, 3)), new Date(Date.UTC(2024, 0, 4)), new Date(Date.UTC(2024, 1, 3)), new Date()]) {
      await log.append({ id: randomUUID(), time, requestId: randomUUID(), operation: 'Encrypt', actor: 'svc', outcome: 'SUCCESS' });
    }
    await log.close();
    // The projector ledgered positions 1 and 2 and signed a checkpoint of those two leaves.
    for (const [i, position] of [[0, 1], [1, 2]]) {
      await pool.query(
        `INSERT INTO ledger_leaves (log, leaf_index, source_position, record_id, record_time, leaf_hash, leaf_data) VALUES ('audit', $1, $2, $3, now(), '\\x00', '\\x00')`,
        [i, position, randomUUID()],
      );
    }
    await pool.query(`INSERT INTO ledger_checkpoints (log, tree_size, root_hash, signed_at, note) VALUES ('audit', 2, '\\x00', now(), 'signed note of size 2')`);

    const report = await maintainAuditTrail(config, { sealKeys });
    expect(report.archived).toMatchObject({ throughPosition: 2n, checkpointSize: 2 });
    expect(readdirSync(join(dir, 'archives'))).toHaveLength(1);
    expect(report.retention.map((d) => [d.partition, d.dropped])).toEqual([
      ['audit_records_p202401', true],
      ['audit_records_p202402', false],
    ]);
    const trail = await new PostgresAuditFeed(pool, sealer).readAfter(0n, 100);
    expect(trail.map((r) => [r.position, r.operation])).toEqual([
      [3n, 'Encrypt'],
      [4n, 'Encrypt'],
      [5n, 'AuditTrailArchived'],
      [6n, 'AuditPartitionDropped'],
    ]);
    // A second run has nothing new to archive or drop.
    const again = await maintainAuditTrail(config, { sealKeys });
    expect(again.archived).toBeUndefined();
    expect(again.retention.map((d) => d.dropped)).toEqual([false]);
  });

  it('runs on a schedule in a long-lived process (standalone mode): a failed run reported and the next one made, nothing after stop', async () => {
    await runMigrations(config.postgres, kmsMigrations(config));
    const sealer = new AuditSealer((await sealKeysOf(config, [])).audit);
    const lines: string[] = [];
    const schedule = scheduleAuditMaintenance(config, { everySeconds: 1, sealer, log: (level, m) => lines.push(`${level} ${m}`) });
    const runs = (): number => lines.filter((l) => l.includes('audit partitions present')).length;
    const deadline = Date.now() + 15_000;
    while (runs() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await schedule.stop();
    const done = runs();
    expect(done).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 1500));
    expect(runs()).toBe(done);

    // A database it cannot reach: the run is reported, and the schedule goes on to the next.
    const unreachable = testConfig({ KMS_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/kms', KMS_DATABASE_SCHEMA: schema, KMS_AUDIT_ARCHIVE_DIR: join(dir, 'archives') });
    const failing: string[] = [];
    const broken = scheduleAuditMaintenance(unreachable, { everySeconds: 1, sealer, log: (level, m) => failing.push(`${level} ${m}`) });
    const until = Date.now() + 15_000;
    while (failing.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await broken.stop();
    expect(failing.slice(0, 2)).toEqual([expect.stringMatching(/^warn audit maintenance failed, next run in 1 s: /), expect.stringMatching(/^warn audit maintenance failed/)]);
    expect(() => scheduleAuditMaintenance(config, { everySeconds: 0, log: () => undefined })).toThrow(RangeError);
  }, 40_000);
});
