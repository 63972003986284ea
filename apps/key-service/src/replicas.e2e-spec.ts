import { randomUUID } from 'node:crypto';
import type { KmsClient, KmsMessage, KmsMethod } from '@kms/contracts';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

/*
 * Two key-service instances on one PostgreSQL schema behave as one service (issue 23, "Several
 * key-service replicas"): each has its own pool, key catalog, subscription and audit writer.
 * Concurrent rotations of one key through both never fork its stream, a write through one is seen
 * by the other (the time it took is printed, not asserted), a ciphertext from one opens on the other,
 * and the audit trail both write stays one sealed chain.
 */

type KeyView = KmsMessage & {
  key_id: string;
  primary_version: number;
  versions: Array<{ version: number; state: string }>;
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('two key-service replicas on one database (e2e)', () => {
  let kms: KeyServiceUnderTest;
  let replica: Awaited<ReturnType<KeyServiceUnderTest['startReplica']>>;
  let app: Actor;

  /** The same caller, through the replica. */
  const viaReplica = (who: Actor) =>
    async <T extends KmsMessage = KmsMessage>(method: KmsMethod, request: KmsMessage): Promise<T> =>
      (replica.client as KmsClient).call<T>(method, request, { token: await who.token(), requestId: randomUUID() });

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('replicas');
    replica = await kms.startReplica();
    app = await kms.register('replicated-app', 'WORKLOAD', []);
  }, 120_000);

  afterAll(async () => {
    await kms?.stop();
  });

  it('concurrent rotations through both never fork the key stream, and each replica sees the other within moments', async () => {
    const key = await kms.admin.call<KeyView>('CreateKey', {
      tenant: 'replicas',
      name: 'shared',
      purpose: 'SERVICE_ENVELOPE',
      algorithm: 'AES_256_GCM',
      policy: { grants: { [app.identityId]: { permissions: ['ENCRYPT', 'DECRYPT', 'ADMINISTER'] } } },
    });
    const seen = await until('the replica sees the new key', () => viaReplica(kms.admin)<KeyView>('GetKey', { key_id: key.key_id }));
    console.log(`replicas: a key created through one was visible through the other after ${seen.ms} ms`);

    const ROTATIONS = 8;
    const results = await Promise.allSettled(
      Array.from({ length: ROTATIONS }, (_, i) => (i % 2 === 0 ? app.call<KeyView>('RotateKey', { key_id: key.key_id }) : viaReplica(app)<KeyView>('RotateKey', { key_id: key.key_id }))),
    );
    const done = results.filter((r) => r.status === 'fulfilled').length;
    // Every rotation is retried on a version conflict; none is lost or doubled.
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect(done).toBe(ROTATIONS);

    const events = await kms.db.query<{ stream_version: number; type: string; version: number | null }>(
      `SELECT stream_version, type, (data->>'version')::int AS version FROM events WHERE stream_id = $1 ORDER BY stream_version`,
      [`key-${key.key_id}`],
    );
    // One stream, versions 0..n-1 without a gap, and exactly one new key version per rotation, numbered in order.
    expect(events.rows.map((r) => r.stream_version)).toEqual(events.rows.map((_, i) => i));
    const created = events.rows.filter((r) => r.type === 'KeyVersionCreated').map((r) => r.version);
    expect(created).toEqual(Array.from({ length: ROTATIONS + 1 }, (_, i) => i + 1));

    const agreed = await until('both replicas agree on the primary version', async () => {
      const [a, b] = [await kms.admin.call<KeyView>('GetKey', { key_id: key.key_id }), await viaReplica(kms.admin)<KeyView>('GetKey', { key_id: key.key_id })];
      return a.primary_version === ROTATIONS + 1 && b.primary_version === ROTATIONS + 1 ? b : undefined;
    });
    console.log(`replicas: both showed primary version ${ROTATIONS + 1} ${agreed.ms} ms after the last rotation answered`);
    expect(agreed.value.versions).toHaveLength(ROTATIONS + 1);

    // A ciphertext made through one opens through the other, whichever version made it.
    const sealed = await viaReplica(app)<{ ciphertext: Buffer }>('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('one service') });
    const opened = await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: sealed.ciphertext });
    expect(Buffer.from(opened.plaintext).toString()).toBe('one service');
  }, 120_000);

  it('keeps one sealed audit chain while both write at once', async () => {
    const key = await kms.admin.call<KeyView>('CreateKey', {
      tenant: 'replicas',
      name: 'audited',
      purpose: 'SERVICE_ENVELOPE',
      algorithm: 'AES_256_GCM',
      policy: { grants: { [app.identityId]: { permissions: ['ENCRYPT'] } } },
    });
    await until('the replica sees the key', () => viaReplica(app)<{ ciphertext: Buffer }>('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('x') }));
    const CALLS = 200;
    await Promise.all(
      Array.from({ length: CALLS }, (_, i) =>
        i % 2 === 0 ? app.call('Encrypt', { key_id: key.key_id, plaintext: Buffer.from(`a${i}`) }) : viaReplica(app)('Encrypt', { key_id: key.key_id, plaintext: Buffer.from(`b${i}`) }),
      ),
    );
    const chain = await kms.db.query<{ n: number; broken: number; distinct_prev: number }>(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE seal_prev IS DISTINCT FROM expected_prev)::int AS broken,
              count(DISTINCT seal_prev)::int AS distinct_prev
         FROM (SELECT seal_prev, lag(seal_hash) OVER (ORDER BY audit_records."position") AS expected_prev FROM audit_records) t`,
    );
    const row = chain.rows[0];
    // Every record names the one before it: no fork (two records after the same one), no gap.
    expect(row?.broken).toBe(0);
    expect(row?.distinct_prev).toBe((row?.n ?? 0) - 1);
    const encrypts = await kms.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_records WHERE operation = 'Encrypt' AND key_id = $1 AND outcome = 'SUCCESS'`, [key.key_id]);
    expect(encrypts.rows[0]?.n).toBeGreaterThanOrEqual(CALLS + 1);
  }, 120_000);
});
