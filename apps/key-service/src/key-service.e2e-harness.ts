import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Pool } from 'pg';
import { ManualClock } from '@kms/application';
import { loadConfig } from '@kms/config';
import { createKmsClient, type KmsClient } from '@kms/contracts';
import { type RunningKeyService, startKeyService } from '@kms/key-service-grpc';
import { dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface KeyServiceUnderTest {
  service: RunningKeyService;
  client: KmsClient;
  clock: ManualClock;
  /** A pool on the service's schema, for checking rows the way an auditor would. */
  db: Pool;
  schema: string;
  stop(): Promise<void>;
}

/** Start the real key service in-process on a fresh schema, with a clock the test moves. */
export async function startKeyServiceUnderTest(name: string): Promise<KeyServiceUnderTest> {
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
  const clock = new ManualClock(new Date('2026-03-01T09:00:00.000Z'));
  const service = await startKeyService(config, { clock, logger: false });
  const client = createKmsClient(`127.0.0.1:${grpcPort}`);
  const db = new Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 2 });
  return {
    service,
    client,
    clock,
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
