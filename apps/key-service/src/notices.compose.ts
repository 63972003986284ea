import { bearerToken, type IdentityService } from '@kms/application';
import type { KmsConfig } from '@kms/config';
import type { KmsClient } from '@kms/contracts';
import { grpcConfirmationSink, NoticesModule } from '@kms/notices-kafka';
import { HealthModule, HealthRegistry, METRICS_REGISTRY } from '@kms/platform';
import type { DynamicModule } from '@nestjs/common';
import type { KeyServiceRuntime } from './key-service.compose';

/** Head of the PostgreSQL event store, for the relay's lag. */
async function eventsHead(runtime: KeyServiceRuntime): Promise<bigint> {
  return BigInt((await runtime.pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0');
}

/**
 * The notice relay beside the key service (config.notices): it follows the key service's event store,
 * serves JWKS from its backends and lets readers in with its identities.
 */
export function composeNotices(
  config: KmsConfig,
  runtime: KeyServiceRuntime,
  options: {
    /** The key service's identity view, once its app is up (so a suspension applies at once). */
    identities: () => IdentityService;
    /** A client of this key service's gRPC API, for confirmations read from Kafka. */
    confirmationClient: () => KmsClient;
  },
): DynamicModule {
  const settings = config.notices;
  return NoticesModule.forRoot(
    {
      settings,
      postgres: config.postgres,
      eventStore: runtime.deps.store,
      auditSealer: runtime.auditSealer,
      ...(config.eventStore.kind === 'postgres' ? { eventsHead: () => eventsHead(runtime) } : {}),
      // Dependents may also confirm on the confirmations topic; each message is recorded through
      // this service's own gRPC API with the dependent's token (same checks, same audit).
      ...(settings.brokers.length > 0 ? { confirmationSink: grpcConfirmationSink(options.confirmationClient()) } : {}),
      publicKeySource: {
        spki: async (ref) => {
          const backend = runtime.deps.backends[ref.protectionLevel];
          if (!backend) throw new Error(`no ${ref.protectionLevel} backend`);
          return backend.getPublicKey(ref);
        },
      },
      // Notices name keys and tenants: readers authenticate like every other caller.
      authorizeRead: async (authorization) => {
        const token = bearerToken(authorization);
        return options
          .identities()
          .authenticate(token)
          .then(
            () => true,
            () => false,
          );
      },
    },
    { imports: [HealthModule], metricsRegistry: METRICS_REGISTRY, healthRegistry: HealthRegistry },
  );
}
