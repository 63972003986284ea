import type { Clock } from '@kms/application';
import { createKmsClient } from '@kms/contracts';
import { GrpcKeyServiceGateway } from './gateway/grpc-key-service.gateway';
import type { DrillAlertsPort, KeyServicePort } from './gateway/key-service.port';
import { type WorkloadCredential, WorkloadTokenSource } from './gateway/workload-token.source';

/** The key service over gRPC as the scheduler's workload identity; `close` releases the channel. */
export function connectKeyService(address: string, credential: WorkloadCredential, clock: Clock): { keyService: KeyServicePort; drillAlerts: DrillAlertsPort; close: () => void } {
  const client = createKmsClient(address);
  const gateway = new GrpcKeyServiceGateway(client, new WorkloadTokenSource(client, credential, clock));
  return { keyService: gateway, drillAlerts: gateway, close: () => client.close() };
}
