import { join } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { KMS_PACKAGE, KMS_PROTO_FILE, PROTO_ROOT } from '@kms/contracts';
import { KEY_SERVICE_GRPC_CONTROLLERS } from './key-service.module';
import { directUnaryHandlers } from './lean-grpc-server';

describe('the gRPC API served directly', () => {
  it('every RPC of the KMS services has one controller method, with no Nest enhancer that serving it directly would leave out', () => {
    const definition = loadSync(join(PROTO_ROOT, KMS_PROTO_FILE), { includeDirs: [PROTO_ROOT] });
    const rpcs: string[] = [];
    for (const [name, service] of Object.entries(definition)) {
      if (!name.startsWith(`${KMS_PACKAGE}.`) || !service || typeof service !== 'object' || 'format' in service) continue;
      for (const [method, spec] of Object.entries(service as Record<string, { requestStream?: boolean; responseStream?: boolean }>)) {
        expect([`${name}/${method}`, spec.requestStream, spec.responseStream]).toEqual([`${name}/${method}`, false, false]);
        rpcs.push(`${name.slice(KMS_PACKAGE.length + 1)}/${method}`);
      }
    }
    // Only their prototypes are read: the methods and their metadata.
    const handlers = directUnaryHandlers(KEY_SERVICE_GRPC_CONTROLLERS.map((controller) => Object.create(controller.prototype) as object));
    expect(rpcs.length).toBeGreaterThan(60);
    expect([...handlers.keys()].sort()).toEqual(rpcs.sort());
  });
});
