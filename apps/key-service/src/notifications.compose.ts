import { AuditedEventStore, type CallPipeline, type CallScope, CallScopedEventStore, DualAuthorization } from '@kms/application';
import { httpProblem } from '@kms/key-service-grpc';
import type { KmsConfig } from '@kms/config';
import { type NotificationCallScope, type NotificationKind, NotificationsModule, NotificationsRuntime } from '@kms/notifications';
import { HealthModule, HealthRegistry, METRICS_REGISTRY } from '@kms/platform';
import { type DynamicModule, Inject, Module, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { KeyServiceRuntime } from './key-service.compose';

/**
 * Compliance notifications beside the key service (config.notifications): the relay follows the key
 * service's event store, records deliveries through its audited change path, wraps list webhooks
 * under a key derived from its master key, and serves its HTTP API through the key service's one call
 * pipeline (authentication, role matrix, fail-closed audit of every call and refusal).
 */
export function composeNotifications(
  config: KmsConfig,
  runtime: KeyServiceRuntime,
  options: {
    /** The key service's call pipeline, once its app is up: the notifications API is one more transport of it. */
    pipeline: () => CallPipeline;
    /** Kinds beyond the default ones (break-glass declarations, drills): see docs/notifications.md. */
    kinds?: readonly NotificationKind[];
  },
): DynamicModule {
  const n = config.notifications;
  const { store, changes, clock } = runtime.deps;
  // List changes made over the API commit with the call's audit record.
  const callStore = new CallScopedEventStore(store);
  // The key service's DualAuthorization, once the application is up (see NotificationListDualControl).
  let gate: DualAuthorization | undefined;

  /**
   * Registers, at start, how an approved list change runs with the key service's DualAuthorization
   * (before any approval can be executed), and hands the gate to the list API's calls. One class per
   * composition, so two key services in one process keep their own.
   */
  @Module({})
  class NotificationListDualControl implements OnModuleInit {
    constructor(@Inject(ModuleRef) private readonly refs: ModuleRef) {}

    onModuleInit(): void {
      const dual = this.refs.get(DualAuthorization, { strict: false });
      dual.useNotificationLists(this.refs.get(NotificationsRuntime, { strict: false }).approvedListChanges(callStore));
      gate = dual;
    }
  }

  const notifications = NotificationsModule.forRoot(
    {
      settings: {
        smtp: n.smtp && {
          host: n.smtp.host,
          port: n.smtp.port,
          secure: n.smtp.secure,
          requireTls: n.smtp.requireTls,
          from: n.smtp.from,
          ...(n.smtp.auth ? { auth: { user: n.smtp.auth.user, password: () => n.smtp?.auth?.password.reveal() ?? '' } } : {}),
          ...(n.smtp.ca ? { ca: n.smtp.ca } : {}),
        },
        consoleUrl: n.consoleUrl ?? config.console.origins[0] ?? null,
        lists: n.lists.reveal(),
        maxAttempts: n.maxAttempts,
        initialRetryDelayMs: n.initialRetryDelayMs,
        maxRetryDelayMs: n.maxRetryDelayMs,
        maxLagSeconds: n.maxLagSeconds,
      },
      postgres: config.postgres,
      eventStore: store,
      // Every list change and every delivery record commits with its audit record, or not at all.
      recorderFor: (actor) => new AuditedEventStore(store, changes.committer, clock, actor),
      listWrapKey: runtime.deriveKey('notification-list-wrap-v1'),
      calls: {
        run: async (call, work) => {
          const pipeline = options.pipeline();
          const incoming = { operation: call.operation, ...(call.authorization ? { authorization: call.authorization } : {}), details: { transport: 'http', route: call.route } };
          const ctx = pipeline.begin(incoming);
          const scoped = (scope: CallScope): NotificationCallScope => ({
            caller: { identityId: scope.principal.identityId, roles: scope.principal.roles },
            store: callStore,
            note: (details) => void (scope.facts.details = { ...scope.facts.details, ...details }),
            secondPerson: async (change) => {
              if (!gate) throw new Error('notifications: the dual-authorization gate is not wired yet');
              const context = { actor: scope.principal.identityId, correlationId: scope.ctx.requestId, ...(call.changeTicket ? { changeTicket: call.changeTicket } : {}) };
              await gate.guard(scope.principal, context, change, scope.facts);
            },
          });
          try {
            return call.change ? await pipeline.runChange(ctx, incoming, call.request, (scope) => work(scoped(scope))) : await pipeline.run(ctx, incoming, (scope) => work(scoped(scope)));
          } catch (e) {
            throw httpProblem(e);
          }
        },
      },
      ...(config.eventStore.kind === 'postgres'
        ? { eventsHead: async () => BigInt((await runtime.pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0') }
        : {}),
      now: () => clock.now(),
      ...(options.kinds ? { kinds: options.kinds } : {}),
    },
    { imports: [HealthModule], metricsRegistry: METRICS_REGISTRY, healthRegistry: HealthRegistry },
  );
  return { module: NotificationListDualControl, imports: [notifications] };
}
