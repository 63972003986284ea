import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

// What grpcurl relies on: grpc.health.v1 and server reflection, answered by the running service.
const reflectionProto = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');

type Ctor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client;

describe('gRPC health checking and server reflection', () => {
  let kms: KeyServiceUnderTest;
  let address: string;
  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_discovery');
    address = kms.service.grpcAddress;
  });
  afterAll(async () => {
    await kms?.stop();
  });

  it('reports SERVING for the server and for kms.v1.KeyManagementService', async () => {
    const pkg = loadPackageDefinition(loadSync(healthProtoPath, { keepCase: true, enums: String })) as unknown as { grpc: { health: { v1: { Health: Ctor } } } };
    const client = new pkg.grpc.health.v1.Health(address, credentials.createInsecure()) as Client & {
      Check(req: { service: string }, cb: (e: ServiceError | null, r: { status: string }) => void): void;
    };
    const check = (service: string) =>
      new Promise<string>((resolve, reject) => client.Check({ service }, (e, r) => (e ? reject(e) : resolve(r.status))));
    try {
      expect(await check('')).toBe('SERVING');
      expect(await check('kms.v1.KeyManagementService')).toBe('SERVING');
    } finally {
      client.close();
    }
  });

  it('lists the KMS and health services and describes KeyManagementService', async () => {
    const pkg = loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: Ctor } } };
    };
    const client = new pkg.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure()) as Client & {
      ServerReflectionInfo(): ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;
    };
    const ask = (req: Record<string, unknown>) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = client.ServerReflectionInfo();
        stream.once('data', (d: Record<string, unknown>) => {
          resolve(d);
          stream.end();
        });
        stream.once('error', reject);
        stream.write(req);
      });
    try {
      const listed = (await ask({ list_services: '' })) as { list_services_response: { service: Array<{ name: string }> } };
      const names = listed.list_services_response.service.map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(['kms.v1.KeyManagementService', 'grpc.health.v1.Health']));
      const described = (await ask({ file_containing_symbol: 'kms.v1.KeyManagementService' })) as {
        file_descriptor_response: { file_descriptor_proto: Buffer[] };
      };
      const files = described.file_descriptor_response.file_descriptor_proto.map((b) => b.toString('latin1')).join('');
      expect(files).toContain('Encrypt');
      expect(files).toContain('BatchReEncrypt');
    } finally {
      client.close();
    }
  });
});
