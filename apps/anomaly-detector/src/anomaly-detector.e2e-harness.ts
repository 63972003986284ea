import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { ManualClock } from '@kms/application';
import { loadConfig } from '@kms/config';
import { createKmsClient, type KmsClient, type KmsMessage, type KmsMethod } from '@kms/contracts';
import type { BootstrapEnrolment } from '@kms/key-service-grpc';
import { type RunningKeyService, startKeyService } from '@kms/key-service-app';
import { dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { cachedToken, ConsoleCeremonies, consolePeople, freePort, manualCeremonyClock, peopleRegistrar } from '@kms/testing';

/**
 * A caller with a real token, re-obtained when the test clock moved 5 minutes: a workload's from its
 * credential, a person's from a sign-in with their security key and TOTP (docs/console.md).
 */
export interface Caller {
  identityId: string;
  clientSecret: string;
  call<T extends KmsMessage = KmsMessage>(method: KmsMethod, request: KmsMessage): Promise<T>;
  forgetToken(): void;
}

export interface KmsUnderTest {
  service: RunningKeyService;
  address: string;
  client: KmsClient;
  clock: ManualClock;
  admin: Caller;
  register(name: string, kind: 'WORKLOAD' | 'HUMAN', roles?: string[]): Promise<Caller>;
  /** Pool on the service's schema (the detector shares the database, as in the standalone). */
  db: Pool;
  stop(): Promise<void>;
}

/** The real key service in-process on a fresh schema, with a manual clock (copied from the key service's harness). */
export async function startKmsUnderTest(name: string): Promise<KmsUnderTest> {
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
  const clock = new ManualClock(new Date('2026-03-02T09:00:00.000Z'));
  let bootstrap: BootstrapEnrolment | undefined;
  const service = await startKeyService(config, { clock, logger: false, onBootstrapEnrolment: (c) => void (bootstrap = c) });
  if (!bootstrap) throw new Error('no bootstrap administrator');
  const address = `127.0.0.1:${grpcPort}`;
  const client = createKmsClient(address);
  const db = new Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 6 });
  const people = consolePeople(
    new ConsoleCeremonies({ httpUrl: `http://127.0.0.1:${httpPort}`, origin: `http://localhost:${httpPort}`, clock: manualCeremonyClock(clock) }),
    bootstrap,
    // A person's enrolment link takes two people: the registrars (see peopleRegistrar).
    { linkFor: (identityId) => registerPerson.linkFor(identityId) },
  );
  const caller = (identityId: string, clientSecret: string, human: boolean): Caller => {
    const token = cachedToken(
      () => clock.now(),
      async () =>
        human
          ? (await people.signIn(identityId)).accessToken
          : (await client.call<{ access_token: string }>('IssueToken', { client_id: identityId, client_secret: clientSecret })).access_token,
    );
    return {
      identityId,
      clientSecret,
      call: async (method, request) => client.call(method, request, { token: await token(), requestId: randomUUID() }),
      forgetToken: () => token.forget(),
    };
  };
  const admin = caller(bootstrap.identityId, '', true);
  // People take two people to register (see peopleRegistrar); workloads are registered directly.
  const registerPerson = peopleRegistrar<Caller>({
    admin,
    call: (who, method, request) => who.call(method as KmsMethod, request as KmsMessage),
    person: (clientId, _name, clientSecret) => caller(clientId, clientSecret, true),
  });
  return {
    service,
    address,
    client,
    clock,
    admin,
    db,
    register: async (n, kind, roles = []) => {
      if (kind === 'HUMAN') return registerPerson(n, roles);
      const r = await admin.call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: n, kind, roles });
      return caller(r.client_id, r.client_secret, false);
    },
    async stop() {
      client.close();
      await service.close();
      await db.end();
      await dropSchema({ url, schema });
    },
  };
}
