import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { ManualClock } from '@kms/application';
import { type KmsConfig, loadConfig, Secret } from '@kms/config';
import { connectKeyService, type Deadline, type DeadlineOutcome, planKeyDeadlines, readAllKeys, runDeadline } from '@kms/rotation-scheduler';
import { PostgresEventStore } from '@kms/event-store-postgres';
import { createKmsClient, type KmsClient, type KmsMessage, type KmsMethod } from '@kms/contracts';
import type { BootstrapEnrolment } from '@kms/key-service-grpc';
import { type RunningKeyService, startKeyService } from './key-service.app';
import type { KeyServiceRuntime } from './key-service.compose';
import { migrateKms, withoutOwnerUrl } from './migrate/migrate-kms';
import type { DynamicModule, Type } from '@nestjs/common';
import { createPgPool, dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { cachedToken, ConsoleCeremonies, type ConsolePeople, consolePeople, freePort, manualCeremonyClock, peopleRegistrar } from '@kms/testing';

/** Someone calling the KMS with real tokens: a person or a workload. */
export interface Actor {
  identityId: string;
  name: string;
  /** The client secret a workload exchanges with IssueToken; a person's is of no use for a token. */
  clientSecret: string;
  /** A fresh token (re-issued when the test clock has moved): a workload's from IssueToken, a person's from a console sign-in. */
  token(): Promise<string>;
  call<T extends KmsMessage = KmsMessage>(method: KmsMethod, request: KmsMessage, requestId?: string): Promise<T>;
}

export interface KeyServiceUnderTest {
  service: RunningKeyService;
  client: KmsClient;
  clock: ManualClock;
  /** The bootstrap administrator (security-engineering + key-admin), enrolled with the link the service handed over. */
  admin: Actor;
  /** People's devices and ceremonies: enrolment on first use, a full sign-in for every token. */
  people: ConsolePeople;
  /**
   * Register an identity and return it as an actor: a workload by the bootstrap admin directly; a
   * person through the two-person flow (see peopleRegistrar), so it may approve the admin's requests.
   */
  register(name: string, kind: 'WORKLOAD' | 'HUMAN', roles?: string[]): Promise<Actor>;
  /** A person's one-time enrolment link, asked for and approved by two registrars (see peopleRegistrar.linkFor). */
  linkFor(identityId: string): Promise<string>;
  /** An actor for an existing identity: a workload by its credential, a person (human) by signing in with their factors. */
  actor(identityId: string, name: string, clientSecret: string, human: boolean): Actor;
  /**
   * Run a due destruction the way the rotation scheduler (its one owner) does: its deadline job, over
   * gRPC, as a workload with the `rotation-scheduler` role. Returns what the job did and who acted.
   */
  destroyAsScheduler(keyId: string, version: number): Promise<{ outcome: DeadlineOutcome; actor: string }>;
  /**
   * One pass of the rotation scheduler over a key at the test clock's now: its follower reads the
   * store, its planner plans the key's deadlines, and each one due runs as its deadline job over
   * gRPC as the `rotation-scheduler` workload. Returns every deadline planned with what its job did
   * (undefined: not due yet).
   */
  runSchedulerFor(keyId: string): Promise<Array<{ deadline: Deadline; outcome?: DeadlineOutcome }>>;
  /** Run a due rotation of primary `version` the same way (the scheduler's rotate deadline job). */
  rotateAsScheduler(keyId: string, version: number): Promise<{ outcome: DeadlineOutcome; actor: string }>;
  /** A pool on the service's schema, for checking rows the way an auditor would. */
  db: Pool;
  /** Base URL of the service's HTTP server (/readyz, /metrics). */
  httpUrl: string;
  /** host:port of the service's gRPC server (KMS_ADDRESS for the CLI). */
  grpcAddress: string;
  schema: string;
  /**
   * Another key-service instance on the same schema, configuration and clock (its own ports, pool,
   * catalog, subscription and audit writer): a replica, as two pods behind one service would be.
   */
  startReplica(): Promise<{ service: RunningKeyService; client: KmsClient; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

/**
 * Start the real key service in-process on a fresh schema, with a clock the test moves; `extraModules`
 * adds feature modules on its HTTP server as standalone mode does (e.g. the notices module).
 */
export async function startKeyServiceUnderTest(
  name: string,
  extraEnv: Record<string, string> = {},
  options: { extraModules?: (runtime: KeyServiceRuntime, config: KmsConfig) => Array<Type<unknown> | DynamicModule> } = {},
): Promise<KeyServiceUnderTest> {
  const schema = uniqueTestSchema(name);
  const url = testDatabaseUrl();
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const env = {
    KMS_DATABASE_URL: url,
    KMS_DATABASE_SCHEMA: schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    KMS_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
    ...extraEnv,
  };
  const loaded = loadConfig(env);
  // With an owner URL, as the deployments do it: the migrate step first, then a service that never sees that URL.
  if (loaded.postgres.migrationUrl) await migrateKms(loaded);
  const config = withoutOwnerUrl(loaded);
  const clock = new ManualClock(new Date('2026-03-01T09:00:00.000Z'));
  let bootstrap: BootstrapEnrolment | undefined;
  const extraModules = options.extraModules;
  const service = await startKeyService(config, {
    clock,
    logger: false,
    onBootstrapEnrolment: (c) => void (bootstrap = c),
    ...(extraModules ? { extraModules: (rt: KeyServiceRuntime) => extraModules(rt, config) } : {}),
  });
  if (!bootstrap) throw new Error('the service did not create a bootstrap administrator on an empty store');
  const client = createKmsClient(`127.0.0.1:${grpcPort}`);
  const db = new Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 2 });

  const people = consolePeople(
    new ConsoleCeremonies({ httpUrl: `http://127.0.0.1:${httpPort}`, origin: `http://localhost:${httpPort}`, clock: manualCeremonyClock(clock) }),
    bootstrap,
    // A person's enrolment link takes two people: the registrars (see peopleRegistrar).
    { linkFor: (identityId) => registerPerson.linkFor(identityId) },
  );

  const actor = (identityId: string, name: string, clientSecret: string, human: boolean): Actor => {
    const token = cachedToken(
      () => clock.now(),
      async () =>
        human
          ? (await people.signIn(identityId)).accessToken
          : (await client.call<{ access_token: string }>('IssueToken', { client_id: identityId, client_secret: clientSecret })).access_token,
    );
    return {
      identityId,
      name,
      clientSecret,
      token,
      call: async (method, request, requestId) => client.call(method, request, { token: await token(), requestId: requestId ?? randomUUID() }),
    };
  };
  const admin = actor(bootstrap.identityId, bootstrap.name, '', true);
  const registerPerson = peopleRegistrar<Actor>({
    admin,
    call: (who, method, request) => who.call(method as KmsMethod, request as KmsMessage),
    person: (clientId, name, clientSecret) => actor(clientId, name, clientSecret, true),
  });
  const register = async (name: string, kind: 'WORKLOAD' | 'HUMAN', roles: string[] = []): Promise<Actor> => {
    if (kind === 'HUMAN') return registerPerson(name, roles);
    const r = await admin.call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name, kind, roles });
    return actor(r.client_id, name, r.client_secret, false);
  };
  let scheduler: Actor | undefined;
  // A name of its own, so tests that register the real scheduler's identity are not in its way.
  const schedulerActor = async (): Promise<Actor> => (scheduler ??= await register('scheduler-under-test', 'WORKLOAD', ['rotation-scheduler']));
  const runSchedulerFor = async (keyId: string) => {
    const actor = await schedulerActor();
    const pool = createPgPool({ url, schema }, { max: 1 });
    const store = new PostgresEventStore(pool);
    const gateway = connectKeyService(`127.0.0.1:${grpcPort}`, { clientId: actor.identityId, clientSecret: new Secret(actor.clientSecret) }, clock);
    try {
      const key = (await readAllKeys(store)).find((k) => k.state.key.keyId === keyId);
      if (!key) throw new Error(`the scheduler does not know key ${keyId}`);
      const runs: Array<{ deadline: Deadline; outcome?: DeadlineOutcome }> = [];
      for (const deadline of planKeyDeadlines(key)) {
        if (Date.parse(deadline.dueAt) > clock.now().getTime()) runs.push({ deadline });
        else runs.push({ deadline, outcome: await runDeadline(deadline, gateway.keyService, clock, { destroyAfterDays: 30 }) });
      }
      return runs;
    } finally {
      gateway.close();
      await store.close();
      await pool.end().catch(() => undefined);
    }
  };
  const asScheduler = async (deadline: Deadline) => {
    scheduler = await schedulerActor();
    const gateway = connectKeyService(`127.0.0.1:${grpcPort}`, { clientId: scheduler.identityId, clientSecret: new Secret(scheduler.clientSecret) }, clock);
    try {
      const outcome = await runDeadline(deadline, gateway.keyService, clock, { destroyAfterDays: 30 });
      return { outcome, actor: scheduler.identityId };
    } finally {
      gateway.close();
    }
  };
  const destroyAsScheduler = (keyId: string, version: number) => asScheduler({ kind: 'destroy', keyId, version, dueAt: clock.now().toISOString() });
  const rotateAsScheduler = (keyId: string, version: number) => asScheduler({ kind: 'rotate', keyId, version, purpose: 'SERVICE_ENVELOPE', dueAt: clock.now().toISOString() });
  const replicas: Array<{ stop(): Promise<void> }> = [];
  const startReplica = async () => {
    const [g, h] = [await freePort(), await freePort()];
    const replica = await startKeyService(withoutOwnerUrl(loadConfig({ ...env, KMS_GRPC_ADDRESS: `127.0.0.1:${g}`, KMS_HTTP_ADDRESS: `127.0.0.1:${h}` })), { clock, logger: false });
    const replicaClient = createKmsClient(`127.0.0.1:${g}`);
    const handle = {
      service: replica,
      client: replicaClient,
      async stop() {
        const i = replicas.indexOf(handle);
        if (i < 0) return;
        replicas.splice(i, 1);
        replicaClient.close();
        await replica.close();
      },
    };
    replicas.push(handle);
    return handle;
  };
  return {
    service,
    client,
    clock,
    admin,
    people,
    register,
    linkFor: (identityId) => registerPerson.linkFor(identityId),
    actor,
    destroyAsScheduler,
    runSchedulerFor,
    rotateAsScheduler,
    db,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    schema,
    startReplica,
    async stop() {
      for (const r of [...replicas]) await r.stop();
      client.close();
      await service.close();
      await db.end();
      await dropSchema({ url, schema });
    },
  };
}
