import { keySnapshot, keySnapshotStoreContract } from '@kms/application/testing';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '../pg/postgres-connection';
import { keySnapshotMigrations } from './key-snapshots.migration';
import { PostgresKeySnapshots } from './postgres-key-snapshots';

const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('key_snapshots') };
const pool = createPgPool(target);

beforeAll(async () => {
  await runMigrations(target, keySnapshotMigrations);
});

afterAll(async () => {
  await pool.end();
  await dropSchema(target);
});

keySnapshotStoreContract('PostgresKeySnapshots', async () => {
  await pool.query('TRUNCATE key_snapshots, key_snapshot_checkpoint, key_snapshot_build');
  return new PostgresKeySnapshots(pool);
});

describe('key_snapshots in PostgreSQL', () => {
  it('given a save that fails part-way, then neither its rows nor its checkpoint are kept', async () => {
    await pool.query('TRUNCATE key_snapshots, key_snapshot_checkpoint, key_snapshot_build');
    const store = new PostgresKeySnapshots(pool);
    const good = keySnapshot();
    const bad = keySnapshot();
    // A creation time PostgreSQL cannot read fails the insert after the row before it was written.
    bad.state.key.createdAt = 'not a time';
    await expect(store.save([good, bad], 5n)).rejects.toThrow();
    expect((await store.getMany([good.state.key.keyId])).size).toBe(0);
    expect(await store.checkpoint()).toBeUndefined();
  });

  it('given a build page whose rows fail to save, then its progress is not kept either', async () => {
    await pool.query('TRUNCATE key_snapshots, key_snapshot_checkpoint, key_snapshot_build');
    const store = new PostgresKeySnapshots(pool);
    const good = keySnapshot();
    await store.saveBuild([good], { progress: { through: 10n, afterStreamId: 'key-a' } });
    const bad = keySnapshot();
    bad.state.key.createdAt = 'not a time';
    await expect(store.saveBuild([keySnapshot(), bad], { progress: { through: 10n, afterStreamId: 'key-b' } })).rejects.toThrow();
    expect(await store.buildProgress()).toEqual({ through: 10n, afterStreamId: 'key-a' });
    await expect(store.saveBuild([bad], { done: 10n })).rejects.toThrow();
    expect(await store.checkpoint()).toBeUndefined();
    expect(await store.buildProgress()).toEqual({ through: 10n, afterStreamId: 'key-a' });
  });

  it('answers a tenant listing from the tenant index in listing order (no sort step)', async () => {
    const client = await pool.connect();
    try {
      // The table is small here: forbid a sequential or bitmap scan so the plan shows what a large table gets.
      await client.query('SET enable_seqscan = off');
      await client.query('SET enable_bitmapscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>("EXPLAIN SELECT version, state FROM key_snapshots WHERE tenant = 'acme' ORDER BY created_at, key_id");
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toMatch(/key_snapshots_tenant_created_idx/);
      expect(text).not.toMatch(/Sort/);
    } finally {
      await client.query('RESET ALL');
      client.release();
    }
  });
});
