import { randomUUID } from 'node:crypto';
import type { EventStore } from '@kms/event-store';
import { createPgPool, type PostgresTarget, prepareSchema } from '@kms/persistence-postgres';
import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import type { NotificationChannel } from './channels/channel.port';
import { EmailChannel, type SmtpSettings } from './channels/email.channel';
import { SlackChannel } from './channels/slack.channel';
import { DEFAULT_NOTIFICATION_KINDS, type NotificationKind } from './kinds/notification-kinds';
import {
  type DistributionList,
  DistributionListInvalid,
  type DistributionListSavedData,
  DistributionLists,
  distributionListStreamId,
  ListSecretWrapper,
  listSavedEvent,
  parseDistributionList,
  redact,
  type RedactedDistributionList,
} from './lists/distribution-list';
import { NotificationMetrics } from './metrics/notification-metrics';
import { notificationMigrations } from './postgres/notifications.migration';
import { PostgresNotificationCheckpoints } from './postgres/postgres-notification-checkpoints';
import { NotificationRelay } from './relay/notification-relay';

/** Delivery settings (config.notifications, see docs/notifications.md). */
export interface NotificationSettings {
  /** Absent: no email channel (lists' addresses are not written to). */
  smtp: SmtpSettings | null;
  /** Base URL of the console, for links in messages; null: no link. */
  consoleUrl: string | null;
  /** Lists from the configuration (KMS_NOTIFICATION_LISTS), raw: validated here, each error naming its field. */
  lists: unknown[];
  maxAttempts: number;
  initialRetryDelayMs: number;
  maxRetryDelayMs: number;
  /** Readiness fails when a delivery has been in progress longer than this. */
  maxLagSeconds: number;
}

/** Who called the API, as the key service's identities say. */
export interface NotificationCaller {
  identityId: string;
  roles: readonly string[];
}

/** The operations of the notifications API, as the role matrix names them. */
export type NotificationOperation = 'SaveNotificationList' | 'RemoveNotificationList' | 'ListNotificationLists' | 'ListNotificationDeliveries' | 'GetNotificationStatus';

/** A list change as the dual-authorization gate looks at it: `list` is the saved list's event data as JSON, webhook wrapped. */
export type NotificationListChange =
  | { operation: 'SaveNotificationList'; name: string; list: string; details: Record<string, string> }
  | { operation: 'RemoveNotificationList'; name: string };

/** Who asked for an approved change, and who approved it (the change's event metadata). */
export interface ApprovedChangeContext {
  actor: string;
  correlationId: string;
  changeTicket?: string;
  approvers?: string[];
  approvalId?: string;
}

/** One admitted API call: its caller, and for a change the store whose appends commit with its record. */
export interface NotificationCallScope {
  caller: NotificationCaller;
  /**
   * The key service's dual-authorization gate for this caller: returns when the change may run now,
   * else records an approval request and throws APPROVAL_REQUIRED (the change runs when a second
   * person approves it, through approvedListChanges).
   */
  secondPerson(change: NotificationListChange): Promise<void>;
  /** Appends here commit with the call's audit record (only for `change` calls). */
  store: EventStore;
  /** Facts for the call's audit record (never secrets). */
  note(details: Record<string, string | number | boolean>): void;
}

/** The transport adapter over the KMS's call pipeline (see NotificationsDependencies.calls). */
export interface NotificationCalls {
  run<T>(
    call: { operation: NotificationOperation; authorization: string | undefined; route: string; request?: unknown; change: boolean; changeTicket?: string },
    work: (scope: NotificationCallScope) => Promise<T>,
  ): Promise<T>;
}

/** What the composition root hands the notifications module. */
export interface NotificationsDependencies {
  settings: NotificationSettings;
  /** Database and schema of the checkpoint table (migrated on start). */
  postgres: PostgresTarget;
  /** The key service's event store: the source of notifications, lists and delivery records. */
  eventStore: EventStore;
  /** Appends as `actor` with a fail-closed audit record (AuditedEventStore in the key service). */
  recorderFor: (actor: string) => EventStore;
  /** 32-byte key wrapping list secrets (derived from the master key). */
  listWrapKey: Buffer;
  /**
   * The KMS's one call pipeline for the HTTP API: authenticates the bearer token, checks the role
   * matrix for the operation, audits the call fail-closed (refusals included); for a change, the
   * events appended to `scope.store` commit with the call's audit record.
   */
  calls: NotificationCalls;
  /** Kinds beyond DEFAULT_NOTIFICATION_KINDS (break-glass declarations, drills...). */
  kinds?: readonly NotificationKind[];
  /** Replaces the channels built from settings (tests that need a failing channel). */
  channels?: readonly NotificationChannel[];
  eventsHead?: () => Promise<bigint>;
  /** Checkpoint name of the relay. Default `kms-notifications`. */
  relayName?: string;
  now?: () => Date;
}

/** A readiness check as @kms/platform's HealthRegistry takes it (structural). */
export interface NotificationsHealthCheck {
  readonly name: string;
  check(): Promise<void | { degraded: string }>;
}


/** Everything the notifications module runs: pool, lists, channels, relay, metrics. */
export class NotificationsRuntime {
  readonly pool: Pool;
  readonly lists: DistributionLists;
  readonly relay: NotificationRelay;
  readonly channels: readonly NotificationChannel[];
  private readonly wrapper: ListSecretWrapper;
  /** How the HTTP API's calls are admitted and audited (the key service's call pipeline). */
  readonly calls: NotificationCalls;
  private readonly now: () => Date;
  private stopped = false;
  // The same context as the log line the approval service writes: one place to grep.
  private readonly logger = new Logger('kms-notifications');

  constructor(
    private readonly deps: NotificationsDependencies,
    metrics: Registry,
  ) {
    this.calls = deps.calls;
    const s = deps.settings;
    this.wrapper = new ListSecretWrapper(deps.listWrapKey);
    this.now = deps.now ?? (() => new Date());
    const configured: DistributionList[] = s.lists.map((raw, i) => {
      const r = (raw ?? {}) as Record<string, unknown>;
      try {
        return parseDistributionList(r['name'], r, 'configuration');
      } catch (e) {
        if (e instanceof DistributionListInvalid) throw new Error(`KMS_NOTIFICATION_LISTS[${i}].${e.field}: ${e.message.slice(e.field.length + 2)}`);
        throw e;
      }
    });
    this.lists = new DistributionLists(configured, this.wrapper);
    this.channels = deps.channels ?? [...(s.smtp ? [new EmailChannel(s.smtp, s.consoleUrl)] : []), new SlackChannel(s.consoleUrl)];
    this.pool = createPgPool(deps.postgres, { max: 2, application_name: 'kms-notifications' });
    const m = new NotificationMetrics(metrics, () => this.relay);
    this.relay = new NotificationRelay(deps.eventStore, {
      ...(deps.relayName ? { name: deps.relayName } : {}),
      ...(deps.now ? { now: deps.now } : {}),
      kinds: [...DEFAULT_NOTIFICATION_KINDS, ...(deps.kinds ?? [])],
      lists: this.lists,
      channels: this.channels,
      checkpoints: new PostgresNotificationCheckpoints(this.pool),
      recorder: deps.recorderFor('system:notifications'),
      maxAttempts: s.maxAttempts,
      initialRetryDelayMs: s.initialRetryDelayMs,
      maxRetryDelayMs: s.maxRetryDelayMs,
      ...(deps.eventsHead ? { eventsHead: deps.eventsHead } : {}),
      onDelivered: (r) => {
        m.delivered(r);
        this.logger.log(JSON.stringify({ delivered: r }));
      },
      onDeadLettered: (r) => {
        m.deadLettered(r);
        this.logger.error(JSON.stringify({ deadLettered: r }));
      },
      onRetry: (channel) => m.retried(channel),
    });
  }

  /** Migrate (one role) or check the migrate step ran, then start the relay (which does not wait for SMTP or Slack). */
  async start(): Promise<void> {
    await prepareSchema(this.deps.postgres, notificationMigrations);
    await this.relay.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.relay.stop();
    for (const c of this.channels) await c.close?.();
    await this.pool.end();
  }

  /**
   * Define or replace a list over the API: checked, its webhook wrapped, then — a list decides who
   * hears about every later change — through the second-person gate: the answer is APPROVAL_REQUIRED
   * and the list is saved when a second person approves (approvedListChanges).
   */
  async saveList(scope: NotificationCallScope, name: unknown, input: unknown): Promise<RedactedDistributionList> {
    const list = parseDistributionList(name, input, 'api');
    const event = listSavedEvent(list, this.wrapper);
    scope.note({ list: list.name });
    const shown = redact(list);
    await scope.secondPerson({
      operation: 'SaveNotificationList',
      name: list.name,
      list: JSON.stringify(event.data),
      details: { emails: String(list.emails.length), slack: shown.slackWebhook ?? 'none', kinds: list.kinds.join(','), minSeverity: list.minSeverity, tenants: list.tenants.join(',') },
    });
    await this.appendSaved(scope.store, event.data, { actor: scope.caller.identityId, correlationId: randomUUID() });
    return shown;
  }

  /** Remove a list saved over the API (a configured list cannot be removed this way); two people, like saving. */
  async removeList(scope: NotificationCallScope, name: string): Promise<void> {
    scope.note({ list: name.slice(0, 200) });
    if (!this.lists.isSaved(name)) throw new DistributionListInvalid('name', `no list ${name} was saved over the API`);
    await scope.secondPerson({ operation: 'RemoveNotificationList', name });
    await this.appendRemoved(scope.store, name, { actor: scope.caller.identityId, correlationId: randomUUID() });
  }

  /**
   * How an approved list change runs (registered with the key service's DualAuthorization): inside the
   * approving call, so its event commits with that call's audit record. The list comes back from the
   * approval request as it was checked when asked (webhook wrapped); it is checked again here.
   */
  approvedListChanges(store: EventStore): { save(name: string, list: string, ctx: ApprovedChangeContext): Promise<void>; remove(name: string, ctx: ApprovedChangeContext): Promise<void> } {
    return {
      save: async (name, list, ctx) => {
        const data = JSON.parse(list) as DistributionListSavedData;
        const webhook = data.slackWebhookWrapped ? this.wrapper.unwrap(name, data.slackWebhookWrapped) : null;
        parseDistributionList(name, { emails: data.emails, slack_webhook_url: webhook, kinds: data.kinds, min_severity: data.minSeverity, tenants: data.tenants }, 'api');
        if (data.name !== name) throw new DistributionListInvalid('name', `the approved list is named ${data.name}, not ${name}`);
        await this.appendSaved(store, data, ctx);
      },
      remove: async (name, ctx) => {
        if (!this.lists.isSaved(name)) throw new DistributionListInvalid('name', `no list ${name} was saved over the API`);
        await this.appendRemoved(store, name, ctx);
      },
    };
  }

  private metadata(ctx: ApprovedChangeContext): Record<string, unknown> {
    return {
      actor: ctx.actor,
      correlationId: ctx.correlationId,
      occurredAt: this.now().toISOString(),
      ...(ctx.changeTicket ? { changeTicket: ctx.changeTicket } : {}),
      ...(ctx.approvers ? { approvers: ctx.approvers } : {}),
      ...(ctx.approvalId ? { approvalId: ctx.approvalId } : {}),
    };
  }

  private async appendSaved(store: EventStore, data: DistributionListSavedData, ctx: ApprovedChangeContext): Promise<void> {
    await store.appendToStream(distributionListStreamId(data.name), [{ id: randomUUID(), type: 'DistributionListSaved', data: { ...data }, metadata: this.metadata(ctx) }], { expectedVersion: 'any' });
  }

  private async appendRemoved(store: EventStore, name: string, ctx: ApprovedChangeContext): Promise<void> {
    await store.appendToStream(distributionListStreamId(name), [{ id: randomUUID(), type: 'DistributionListRemoved', data: { name }, metadata: this.metadata(ctx) }], { expectedVersion: 'stream_exists' });
  }

  /**
   * Readiness "notifications.relay": down when the relay stopped on an error or a delivery has been in
   * progress longer than maxLagSeconds; degraded (still ready) while a delivery is being retried.
   */
  healthCheck(): NotificationsHealthCheck {
    const maxLag = this.deps.settings.maxLagSeconds;
    return {
      name: 'notifications.relay',
      check: async () => {
        const s = this.relay.snapshot();
        if (s.state === 'failed') throw new Error(`relay stopped: ${s.lastError ?? 'unknown error'}`);
        const lag = await this.relay.lag();
        const figures = `oldest undelivered notification waited ${Math.round(lag.oldestUndeliveredSeconds)} s (max ${maxLag}), ${lag.positions} positions behind, ${s.deadLettered} dead-lettered`;
        if (lag.oldestUndeliveredSeconds > maxLag) throw new Error(`${figures}: ${s.lastError ?? ''}`);
        if (s.waitingOn && s.waitingOn.attempts > 0) return { degraded: `delivery failed ${s.waitingOn.attempts} times, ${figures}: ${s.lastError ?? ''}` };
        return undefined;
      },
    };
  }
}
