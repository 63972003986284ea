import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { ManualClock } from '@kms/application';
import { type KmsConfig, loadConfig, Secret } from '@kms/config';
import { connectKeyService, type Deadline, type DeadlineOutcome, runDeadline } from '@kms/rotation-scheduler';
import { createKmsClient, type KmsClient, type KmsMessage, type KmsMethod } from '@kms/contracts';
import type { BootstrapEnrolment } from '@kms/key-service-grpc';
import { type RunningKeyService, startKeyService } from './key-service.app';
import type { KeyServiceRuntime } from './key-service.compose';
import { migrateKms, withoutOwnerUrl } from './migrate/migrate-kms';
import type { DynamicModule, Type } from '@nestjs/common';
import { dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
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
  /** Run a due rotation of primary `version` the same way (the scheduler's rotate deadline job). */
  rotateAsScheduler(keyId: string, version: number): Promise<{ outcome: DeadlineOutcome; actor: string }>;
  /** A pool on the service's schema, for checking rows the way an auditor would. */
  db: Pool;
  /** Base URL of the service's HTTP server (/readyz, /metrics). */
  httpUrl: string;
  schema: string;
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
  const loaded = loadConfig({
    KMS_DATABASE_URL: url,
    KMS_DATABASE_SCHEMA: schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    KMS_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
    ...extraEnv,
  });
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
  const asScheduler = async (deadline: Deadline) => {
    // A name of its own, so tests that register the real scheduler's identity are not in its way.
    scheduler ??= await register('scheduler-under-test', 'WORKLOAD', ['rotation-scheduler']);
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
    rotateAsScheduler,
    db,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    schema,
    async stop() {
      client.close();
      await service.close();
      await db.end();
      await dropSchema({ url, schema });
    },
  };
}
