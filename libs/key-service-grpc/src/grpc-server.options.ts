import { join } from 'node:path';
import type { Server } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { type GrpcOptions, Transport } from '@nestjs/microservices';
import { KMS_PACKAGE, KMS_PROTO_FILE, KMS_SERVICE, PROTO_LOADER_OPTIONS, PROTO_ROOT } from '@kms/contracts';
import { guardRequestDecoding, MAX_FRAME_BYTES } from './frame-guard';

export const KMS_SERVICE_NAME = `${KMS_PACKAGE}.${KMS_SERVICE}`;

/**
 * gRPC transport options for the key service: the KMS proto, plus grpc.health.v1 and server
 * reflection (both protos registered with reflection so `grpcurl` can call either). Requests that
 * cannot be decoded reach the handlers as MalformedRequest, and what grpc-js refuses on its own goes
 * through the frame guard: both are audited and answered INVALID_ARGUMENT.
 */
export function keyServiceGrpcOptions(address: { host: string; port: number }, health: HealthImplementation): GrpcOptions {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    transport: Transport.GRPC,
    options: {
      url: `${host}:${address.port}`,
      package: KMS_PACKAGE,
      protoPath: join(PROTO_ROOT, KMS_PROTO_FILE),
      loader: { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_ROOT] },
      maxReceiveMessageLength: MAX_FRAME_BYTES,
      onLoadPackageDefinition: (pkg: unknown, server: Server) => {
        guardRequestDecoding(pkg as Record<string, unknown>);
        const withHealth = loadSync([join(PROTO_ROOT, KMS_PROTO_FILE), healthProtoPath], {
          ...PROTO_LOADER_OPTIONS,
          includeDirs: [PROTO_ROOT],
        });
        new ReflectionService(withHealth).addToServer(server);
        health.addToServer(server);
      },
    },
  };
}

/** Health statuses served over grpc.health.v1: "" (the server) and the KMS service. */
export function createGrpcHealth(): HealthImplementation {
  return new HealthImplementation({ '': 'NOT_SERVING', [KMS_SERVICE_NAME]: 'NOT_SERVING' });
}
