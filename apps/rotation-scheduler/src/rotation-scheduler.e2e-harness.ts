// Test harness: the real key service in-process (ManualClock, real tokens) and the rotation scheduler
// against it over gRPC, on a BullMQ prefix of its own. Parts copied from apps/key-service's harness.
import { randomBytes, randomUUID } from 'node:crypto';
import { ManualClock } from '@kms/application';
import { loadConfig, Secret } from '@kms/config';
import { createKmsClient, type KmsClient, type KmsMessage, type KmsMethod } from '@kms/contracts';
import { notifyChannelFor, PostgresEventStore } from '@kms/event-store-postgres';
import type { BootstrapEnrolment } from '@kms/key-service-grpc';
import { type RunningKeyService, startKeyService } from '@kms/key-service-app';
import { createPgPool, dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { createHttpApp, type HttpApp } from '@kms/platform';
import { connectKeyService,
  keyServiceStatusReaders, PostgresFollowerSnapshotStore, RotationScheduler, RotationSchedulerModule } from '@kms/rotation-scheduler';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { cachedToken, ConsoleCeremonies, consolePeople, freePort, manualCeremonyClock } from '@kms/testing';

export const REDIS_URL = process.env['KMS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const DAY = 24 * 60 * 60 * 1000;

export interface Actor {
  identityId: string;
  /** A workload's client secret (empty for a person: people sign in). */
  clientSecret: string;
  /** A token: a workload's from IssueToken, a person's from a sign-in with security key and TOTP. */
  token(): Promise<string>;
  call<T extends KmsMessage = KmsMessage>(method: KmsMethod, request: KmsMessage): Promise<T>;
}

export interface KeyVersionRow {
  version: number;
  state: string;
  destroy_time: string;
}
export interface KeyRow {
  key_id: string;
  primary_version: number;
  next_rotation_time: string;
  versions: KeyVersionRow[];
}

/** The key service under test, with the scheduler's workload identity registered. */
export interface KmsUnderTest {
  clock: ManualClock;
  grpcAddress: string;
  schema: string;
  /** The bootstrap administrator, a person enrolled with the link the service handed over. */
  admin: Actor;
  /** The `rotation-scheduler` workload. */
  scheduler: Actor;
  /** Register another workload (no roles: its rights come from key policies). */
  workload(name: string): Promise<Actor>;
  /**
   * Day n of the current test: day(0) starts a new test day after everything before (never back in
   * time: people's TOTP steps are accepted once, and tokens are not taken from the future).
   */
  day(n: number): void;
  getKey(keyId: string): Promise<KeyRow>;
  /** Key events of one key as stored: type, data. */
  events(keyId: string): Promise<Array<{ type: string; data: Record<string, unknown> }>>;
  stop(): Promise<void>;
}

export const T0 = new Date('2026-03-01T09:00:00.000Z');

export async function startKms(name: string): Promise<KmsUnderTest> {
  const schema = uniqueTestSchema(name);
  const url = testDatabaseUrl();
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const config = loadConfig({
    KMS_DATABASE_URL: url,
    KMS_DATABASE_SCHEMA: schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    KMS_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
  });
  const clock = new ManualClock(T0);
  let bootstrap: BootstrapEnrolment | undefined;
  const service: RunningKeyService = await startKeyService(config, { clock, logger: false, onBootstrapEnrolment: (c) => void (bootstrap = c) });
  if (!bootstrap) throw new Error('no bootstrap administrator');
  const client: KmsClient = createKmsClient(`127.0.0.1:${grpcPort}`);
  const pool = createPgPool({ url, schema }, { max: 2 });

  const people = consolePeople(
    new ConsoleCeremonies({ httpUrl: `http://127.0.0.1:${httpPort}`, origin: `http://localhost:${httpPort}`, clock: manualCeremonyClock(clock) }),
    bootstrap,
  );
  const actor = (identityId: string, clientSecret: string, human: boolean): Actor => {
    const token = cachedToken(
      () => clock.now(),
      async () =>
        human
          ? (await people.signIn(identityId)).accessToken
          : (await client.call<{ access_token: string }>('IssueToken', { client_id: identityId, client_secret: clientSecret })).access_token,
    );
    return { identityId, clientSecret, token, call: async (method, request) => client.call(method, request, { token: await token(), requestId: randomUUID() }) };
  };
  const admin = actor(bootstrap.identityId, '', true);
  let epoch = T0.getTime();
  const reg = await admin.call<{ client_id: string; client_secret: string }>('RegisterIdentity', {
    name: 'rotation-scheduler',
    kind: 'WORKLOAD',
    roles: ['rotation-scheduler'],
  });
  return {
    clock,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    schema,
    admin,
    scheduler: actor(reg.client_id, reg.client_secret, false),
    async workload(name) {
      const w = await admin.call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name, kind: 'WORKLOAD', roles: [] });
      return actor(w.client_id, w.client_secret, false);
    },
    day: (n) => {
      if (n === 0 && clock.now().getTime() > T0.getTime()) epoch = T0.getTime() + (Math.floor((clock.now().getTime() - T0.getTime()) / DAY) + 1) * DAY;
      clock.set(new Date(epoch + n * DAY));
    },
    getKey: (keyId) => admin.call<KeyRow & KmsMessage>('GetKey', { key_id: keyId }),
    async events(keyId) {
      const r = await pool.query<{ type: string; data: Record<string, unknown> }>('SELECT type, data FROM events WHERE stream_id = $1 ORDER BY global_position', [
        `key-${keyId}`,
      ]);
      return r.rows;
    },
    async stop() {
      client.close();
      await service.close();
      await pool.end();
      await dropSchema({ url, schema });
    },
  };
}

/** A running scheduler (the Nest module, as main.ts builds it) against `kms`. */
export interface SchedulerUnderTest {
  app: HttpApp;
  scheduler: RotationScheduler;
  /** Wait until no job is waiting or running and every store event was applied. */
  settle(): Promise<void>;
  jobIds(): Promise<string[]>;
  stop(): Promise<void>;
}


export async function startScheduler(kms: KmsUnderTest, prefix: string, reconcileSeconds = 0): Promise<SchedulerUnderTest> {
  const url = testDatabaseUrl();
  const config = loadConfig({
    KMS_DATABASE_URL: url,
    KMS_DATABASE_SCHEMA: kms.schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_HTTP_ADDRESS: '127.0.0.1:0',
    KMS_REDIS_URL: REDIS_URL,
  });
  const pool: Pool = createPgPool(config.postgres, { max: 3 });
  const eventStore = new PostgresEventStore(pool, { channel: notifyChannelFor(kms.schema), pollIntervalMs: 200 });
  // One checkpoint per queue prefix: a restarted scheduler of the same test resumes from it.
  const snapshots = new PostgresFollowerSnapshotStore(pool, prefix);
  await snapshots.ensureSchema();
  const eventsHead = async (): Promise<bigint> => BigInt((await pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0');
  const gateway = connectKeyService(kms.grpcAddress, { clientId: kms.scheduler.identityId, clientSecret: new Secret(kms.scheduler.clientSecret) }, kms.clock);
  const readers = keyServiceStatusReaders(kms.grpcAddress);
  const http = await createHttpApp(
    RotationSchedulerModule.forRoot(config, {
      eventStore,
      keyService: gateway.keyService,
      clock: kms.clock,
      eventsHead,
      snapshots,
      settings: { reconcileSeconds, destroyAfterDays: 30, queuePrefix: prefix, queueName: 'rotation-deadlines', maxLagEvents: 1000 },
      queue: { backoffMs: 200 },
      authorizeRead: readers.authorizeRead,
    }),
    config.http,
    { logger: false },
  );
  const scheduler = http.app.get(RotationScheduler);
  await scheduler.start();
  const settle = async (): Promise<void> => {
    const until = Date.now() + 20_000;
    for (;;) {
      const s = await scheduler.status();
      const busy = s.jobs ? s.jobs.waiting + s.jobs.active + s.jobs.prioritized : 1;
      if (busy === 0 && s.lag === 0) {
        // Let a reconcile triggered by the last event finish too.
        await scheduler.reconcile();
        const again = await scheduler.status();
        if (again.jobs && again.jobs.waiting + again.jobs.active + again.jobs.prioritized === 0) return;
      }
      if (Date.now() > until) throw new Error(`scheduler did not settle: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    app: http,
    scheduler,
    settle,
    async jobIds() {
      const redis = new Redis(REDIS_URL);
      try {
        const ids = await redis.zrange(`${prefix}:rotation-deadlines:delayed`, 0, -1);
        const waiting = await redis.lrange(`${prefix}:rotation-deadlines:wait`, 0, -1);
        return [...ids, ...waiting].sort();
      } finally {
        redis.disconnect();
      }
    },
    async stop() {
      await http.app.close();
      gateway.close();
      readers.close();
      await eventStore.close();
      await pool.end();
    },
  };
}

/** Delete every Redis key under a BullMQ prefix (what a FLUSHDB would do to this test's data only). */
export async function flushPrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

export function uniquePrefix(name: string): string {
  return `kms-test-${name}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Poll until `read` returns a value `done` accepts. */
export async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let v = await read();
  while (!done(v) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}
