import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { ManualClock } from '@kms/application';
import { loadConfig } from '@kms/config';
import { createKmsClient, type KmsClient, type KmsMessage, type KmsMethod } from '@kms/contracts';
import { type BootstrapCredential, type RunningKeyService, startKeyService } from '@kms/key-service-grpc';
import { dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { freePort } from '@kms/testing';

/** A caller with a real credential; its token is re-issued when the test clock moved 5 minutes. */
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
    KMS_DESTRUCTION_SWEEP_SECONDS: '0',
  });
  const clock = new ManualClock(new Date('2026-03-02T09:00:00.000Z'));
  let bootstrap: BootstrapCredential | undefined;
  const service = await startKeyService(config, { clock, logger: false, onBootstrapCredential: (c) => void (bootstrap = c) });
  if (!bootstrap) throw new Error('no bootstrap administrator');
  const address = `127.0.0.1:${grpcPort}`;
  const client = createKmsClient(address);
  const db = new Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 6 });
  const caller = (identityId: string, clientSecret: string, human: boolean): Caller => {
    let cached: { token: string; at: number } | undefined;
    const token = async () => {
      const now = clock.now().getTime();
      if (!cached || now - cached.at > 5 * 60_000 || now < cached.at) {
        const r = await client.call<{ access_token: string }>('IssueToken', { client_id: identityId, client_secret: clientSecret, ...(human ? { auth_methods: ['hwk', 'otp'] } : {}) });
        cached = { token: r.access_token, at: now };
      }
      return cached.token;
    };
    return {
      identityId,
      clientSecret,
      call: async (method, request) => client.call(method, request, { token: await token(), requestId: randomUUID() }),
      forgetToken: () => void (cached = undefined),
    };
  };
  const admin = caller(bootstrap.identityId, bootstrap.clientSecret, true);
  return {
    service,
    address,
    client,
    clock,
    admin,
    db,
    register: async (n, kind, roles = []) => {
      const r = await admin.call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: n, kind, roles });
      return caller(r.client_id, r.client_secret, kind === 'HUMAN');
    },
    async stop() {
      client.close();
      await service.close();
      await db.end();
      await dropSchema({ url, schema });
    },
  };
}
