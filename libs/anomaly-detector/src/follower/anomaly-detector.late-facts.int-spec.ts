import { testConfig } from '@kms/anomaly-rules/testing';
import { PostgresEventStore, eventStoreMigrations } from '@kms/event-store-postgres';
import { PostgresAuditFeed, PostgresAuditLog, auditMigrations, createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { PostgresKeyUseLookup } from '../audit/postgres-key-use-lookup';
import { PostgresDetectorStateStore } from '../state/postgres-detector-state.store';
import { AnomalyDetectorService } from './anomaly-detector.service';
import { RecordingContainment } from './detector-test-doubles';

const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('anomaly_late_facts') };
const rules = testConfig((c) => {
  c.spike.enabled = false;
  c.origin.enabled = false;
  c.offHours.enabled = false;
  c.refusedBurst.enabled = false;
  c.bulkAccess.enabled = false;
});

let pool: Pool;
let events: PostgresEventStore;

const sealer = testAuditSealer();

/** An audit record as the key service writes it (sealed); returns its id. */
async function audit(r: { time: string; keyId: string | null; keyVersion?: number; actor?: string; operation?: string }): Promise<string> {
  const id = randomUUID();
  const log = new PostgresAuditLog(pool, sealer);
  await log.append({
    id,
    time: new Date(r.time),
    requestId: randomUUID(),
    operation: r.operation ?? 'Decrypt',
    ...(r.keyId !== null ? { keyId: r.keyId } : {}),
    ...(r.keyVersion !== undefined ? { keyVersion: r.keyVersion } : {}),
    actor: r.actor ?? 'wl-orders',
    outcome: 'SUCCESS',
    sourceAddress: 'ipv4:10.1.2.3:5000',
  });
  await log.close();
  return id;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  await runMigrations(target, [...eventStoreMigrations, ...auditMigrations]);
  pool = createPgPool(target, { max: 6 });
  events = new PostgresEventStore(pool, { pollIntervalMs: 50 });
  await new PostgresDetectorStateStore(pool).ensureSchema();
});
afterAll(async () => {
  await events?.close();
  await pool?.end();
  await dropSchema(target);
});

describe('PostgresKeyUseLookup', () => {
  it('returns the uses of one key (one version or all) at or after a time, within the position bounds, in position order', async () => {
    const k = randomUUID();
    await audit({ time: '2026-03-02T11:00:00Z', keyId: k, keyVersion: 1 });
    const a = await audit({ time: '2026-03-02T12:30:00Z', keyId: k, keyVersion: 1 });
    const b = await audit({ time: '2026-03-02T12:31:00Z', keyId: k, keyVersion: 2 });
    await audit({ time: '2026-03-02T12:32:00Z', keyId: randomUUID(), keyVersion: 1 });
    const c = await audit({ time: '2026-03-02T12:33:00Z', keyId: k, keyVersion: 1, actor: 'wl-billing', operation: 'Encrypt' });
    const head = await new PostgresAuditFeed(pool, sealer).headPosition();
    const lookup = new PostgresKeyUseLookup(pool, sealer);
    const q = { keyId: k, version: 1, from: new Date('2026-03-02T12:00:00Z'), afterPosition: 0n, throughPosition: head, limit: 100 };

    const v1 = await lookup.usesOf(q);
    expect(v1.map((r) => r.id)).toEqual([a, c]);
    expect(v1[1]).toEqual({ position: head, id: c, time: new Date('2026-03-02T12:33:00Z'), operation: 'Encrypt', actor: 'wl-billing', outcome: 'SUCCESS', keyId: k, keyVersion: 1, sourceAddress: 'ipv4:10.1.2.3:5000' });
    expect((await lookup.usesOf({ ...q, version: null })).map((r) => r.id)).toEqual([a, b, c]);
    expect((await lookup.usesOf({ ...q, throughPosition: head - 1n })).map((r) => r.id)).toEqual([a]);
    expect((await lookup.usesOf({ ...q, afterPosition: v1[0]?.position ?? 0n })).map((r) => r.id)).toEqual([c]);
    expect((await lookup.usesOf({ ...q, limit: 1 })).map((r) => r.id)).toEqual([a]);
    expect(await lookup.usesOf({ ...q, keyId: 'not-a-uuid' })).toEqual([]);
  });
});

describe('AnomalyDetectorService on PostgreSQL when the audit poll runs ahead of the lifecycle subscription', () => {
  it('given a use evaluated before the compromise event reached the detector, then the use is found once, and a restart does not repeat it', async () => {
    const keyId = randomUUID();
    await events.appendToStream(`key-${keyId}`, [{ id: randomUUID(), type: 'KeyCreated', data: { keyId, purpose: 'SERVICE_ENVELOPE' }, metadata: { occurredAt: '2026-03-02T08:00:00.000Z' } }], { expectedVersion: 'no_stream' });
    const containment = new RecordingContainment();
    const detector = (name: string) =>
      new AnomalyDetectorService(rules, {
        feed: new PostgresAuditFeed(pool, sealer),
        uses: new PostgresKeyUseLookup(pool, sealer),
        events,
        state: new PostgresDetectorStateStore(pool, name),
        publisher: null,
        containment,
        selfIdentityId: 'wl-detector',
        source: 'urn:kms:int-test',
        batchSize: 100,
        // Only the first batch is scheduled within the test; later ones run when it calls tick().
        pollMs: 600_000,
        now: () => new Date('2026-03-02T13:00:00.000Z'),
        log: () => undefined,
      });
    const findings = async () => (await pool.query<{ data: { rule: string; severity: string; identityId: string; keyVersion: number; evidence: { auditRecordIds: string[] } } }>(`SELECT data FROM events WHERE type = 'AnomalyDetected' AND data->>'keyId' = $1`, [keyId])).rows.map((r) => r.data);

    const useId = await audit({ time: '2026-03-02T12:30:00Z', keyId, keyVersion: 1 });
    const head = await new PostgresAuditFeed(pool, sealer).headPosition();
    const first = detector('late-facts');
    await first.start();
    try {
      // stats.head is set at the end of a batch: the scheduled first one is over when it reaches the head.
      await until('the use to be evaluated', async () => (first.stats.position === head && first.stats.head >= head ? true : undefined));
      expect(await findings()).toEqual([]);

      // Reported compromised at 12:00, before the use; the detector learns it only now.
      const appended = await events.appendToStream(`key-${keyId}`, [{ id: randomUUID(), type: 'KeyVersionCompromised', data: { keyId, version: 1 }, metadata: { occurredAt: '2026-03-02T12:00:00.000Z' } }], { expectedVersion: 0 });
      const found = await until('the finding', async () => {
        await first.tick();
        const f = await findings();
        return f.length > 0 ? f : undefined;
      });
      expect(found).toEqual([expect.objectContaining({ rule: 'version-state', severity: 'high', identityId: 'wl-orders', keyVersion: 1, evidence: expect.objectContaining({ auditRecordIds: [useId] }) })]);
      expect(containment.suspendCalls).toEqual(['wl-orders']);
      const { rows } = await pool.query<{ f: string }>(`SELECT facts_position::text AS f FROM anomaly_detector_checkpoints WHERE name = 'late-facts'`);
      expect(BigInt(rows[0]?.f ?? '0')).toBeGreaterThanOrEqual(appended.lastGlobalPosition);
    } finally {
      await first.stop();
    }

    const second = detector('late-facts');
    await second.start();
    try {
      await until('the first batch after the restart', async () => (second.stats.head >= head ? true : undefined));
      await second.tick();
      expect(await findings()).toHaveLength(1);
      expect(second.stats).toMatchObject({ findingsRecorded: 0, findingsReplayed: 0, factRechecks: 0 });
    } finally {
      await second.stop();
    }
  }, 30_000);
});
