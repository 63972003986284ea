import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { ManualClock } from '@kms/application';
import { loadConfig } from '@kms/config';
import { createKmsClient, type KmsClient, type KmsMessage, type KmsMethod } from '@kms/contracts';
import { type BootstrapCredential, type RunningKeyService, startKeyService } from '@kms/key-service-grpc';
import { dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { freePort } from '@kms/testing';

/** Someone calling the KMS with real tokens: a person or a workload. */
export interface Actor {
  identityId: string;
  name: string;
  clientSecret: string;
  /** A fresh token (re-issued when the test clock has moved). */
  token(): Promise<string>;
  call<T extends KmsMessage = KmsMessage>(method: KmsMethod, request: KmsMessage, requestId?: string): Promise<T>;
}

export interface KeyServiceUnderTest {
  service: RunningKeyService;
  client: KmsClient;
  clock: ManualClock;
  /** The bootstrap administrator (security-engineering + key-admin). */
  admin: Actor;
  /** Register an identity as the bootstrap admin and return it as an actor. */
  register(name: string, kind: 'WORKLOAD' | 'HUMAN', roles?: string[]): Promise<Actor>;
  /** An actor for an existing credential. */
  actor(identityId: string, name: string, clientSecret: string, human: boolean): Actor;
  /** A pool on the service's schema, for checking rows the way an auditor would. */
  db: Pool;
  schema: string;
  stop(): Promise<void>;
}

/** Start the real key service in-process on a fresh schema, with a clock the test moves. */
export async function startKeyServiceUnderTest(name: string, extraEnv: Record<string, string> = {}): Promise<KeyServiceUnderTest> {
  const schema = uniqueTestSchema(name);
  const url = testDatabaseUrl();
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const config = loadConfig({
    KMS_DATABASE_URL: url,
    KMS_DATABASE_SCHEMA: schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    KMS_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
    KMS_DESTRUCTION_SWEEP_SECONDS: '0',
    ...extraEnv,
  });
  const clock = new ManualClock(new Date('2026-03-01T09:00:00.000Z'));
  let bootstrap: BootstrapCredential | undefined;
  const service = await startKeyService(config, { clock, logger: false, onBootstrapCredential: (c) => void (bootstrap = c) });
  if (!bootstrap) throw new Error('the service did not create a bootstrap administrator on an empty store');
  const client = createKmsClient(`127.0.0.1:${grpcPort}`);
  const db = new Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 2 });

  const actor = (identityId: string, name: string, clientSecret: string, human: boolean): Actor => {
    let cached: { token: string; at: number } | undefined;
    const token = async () => {
      const now = clock.now().getTime();
      if (!cached || now - cached.at > 5 * 60_000 || now < cached.at) {
        const r = await client.call<{ access_token: string }>('IssueToken', {
          client_id: identityId,
          client_secret: clientSecret,
          ...(human ? { auth_methods: ['hwk', 'otp'] } : {}),
        });
        cached = { token: r.access_token, at: now };
      }
      return cached.token;
    };
    return {
      identityId,
      name,
      clientSecret,
      token,
      call: async (method, request, requestId) => client.call(method, request, { token: await token(), requestId: requestId ?? randomUUID() }),
    };
  };
  const admin = actor(bootstrap.identityId, bootstrap.name, bootstrap.clientSecret, true);
  const register = async (name: string, kind: 'WORKLOAD' | 'HUMAN', roles: string[] = []): Promise<Actor> => {
    const r = await admin.call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name, kind, roles });
    return actor(r.client_id, name, r.client_secret, kind === 'HUMAN');
  };
  return {
    service,
    client,
    clock,
    admin,
    register,
    actor,
    db,
    schema,
    async stop() {
      client.close();
      await service.close();
      await db.end();
      await dropSchema({ url, schema });
    },
  };
}
