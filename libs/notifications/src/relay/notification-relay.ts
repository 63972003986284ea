import { randomUUID } from 'node:crypto';
import { type CheckpointStore, type EventFollower, type EventStore, followEvents, type StoredEvent } from '@kms/event-store';
import { type DeliveryAnswer, type NotificationChannel, PermanentDeliveryError } from '../channels/channel.port';
import { kindsByEventType, NotificationContext, type NotificationFacts, type NotificationKind } from '../kinds/notification-kinds';
import { type DistributionList, type DistributionLists, listWants } from '../lists/distribution-list';
import { NotificationDeliveries, notificationDeliveryStreamId, type DeliveryRecord } from './notification-deliveries';

/**
 * Backoff for the event store and the checkpoint table (the subscription, recording a delivery):
 * a database back from an outage is picked up within seconds. The channels' own backoff
 * (initialRetryDelayMs..maxRetryDelayMs, up to minutes for a mail server) is for deliveries only.
 */
const STORE_RETRY = { initialMs: 100, maxMs: 5000 } as const;

export interface NotificationRelayOptions {
  /** Checkpoint name. Default `kms-notifications`. */
  name?: string;
  kinds: readonly NotificationKind[];
  lists: DistributionLists;
  channels: readonly NotificationChannel[];
  checkpoints: CheckpointStore;
  /** Where delivery and dead-letter events are appended (the audited store in the key service). */
  recorder: EventStore;
  /** Attempts per delivery before it is dead-lettered. */
  maxAttempts: number;
  /** First retry delay of a delivery (a channel); doubles per failure up to `maxRetryDelayMs`. */
  initialRetryDelayMs: number;
  maxRetryDelayMs: number;
  /** Highest global position in the event store, for the lag figure. */
  eventsHead?: () => Promise<bigint>;
  now?: () => Date;
  /** Commit the checkpoint after this many events without a notification. Default 200. */
  checkpointEvery?: number;
  onDelivered?: (record: DeliveryRecord) => void;
  onDeadLettered?: (record: DeliveryRecord) => void;
  onRetry?: (channel: string, error: Error, attempt: number) => void;
}

/** Progress of the relay, for /readyz, /metrics and the status endpoint. */
export interface NotificationRelayStatus {
  state: 'idle' | 'replaying' | 'running' | 'stopped' | 'failed';
  checkpoint: bigint;
  handled: bigint;
  /** The delivery the relay is working on, and since when its event exists. */
  waitingOn: { sourceEventId: string; kind: string; list: string; channel: string; eventRecordedAt: Date; attempts: number } | null;
  lastError: string | null;
  delivered: number;
  deadLettered: number;
}

class RelayStopped extends Error {
  override readonly name = 'RelayStopped';
}

/**
 * The notification outbox: follows the event store in order and, for each event a kind describes,
 * delivers it to every list that wants it on every channel the list has, records each delivery (or
 * dead letter) as an event, and only then commits the checkpoint: at-least-once, like the notice
 * relay. A failed delivery is retried with backoff up to `maxAttempts`, then dead-lettered.
 *
 * Kinds need earlier events (who requested an approval, a key's tenant) and lists are events too, so
 * the relay always follows from the start and acts only past its checkpoint.
 */
export class NotificationRelay {
  private readonly name: string;
  private readonly now: () => Date;
  private readonly kinds: Map<string, NotificationKind[]>;
  private readonly context = new NotificationContext();
  readonly deliveries = new NotificationDeliveries();
  private follower?: EventFollower;
  private stopping = false;
  private wakeSleeper: (() => void) | null = null;
  private uncommitted = 0;
  private readonly status: NotificationRelayStatus = { state: 'idle', checkpoint: 0n, handled: 0n, waitingOn: null, lastError: null, delivered: 0, deadLettered: 0 };

  constructor(
    private readonly events: EventStore,
    private readonly options: NotificationRelayOptions,
  ) {
    this.name = options.name ?? 'kms-notifications';
    this.now = options.now ?? (() => new Date());
    this.kinds = kindsByEventType(options.kinds);
  }

  /** Load the checkpoint and start following; resolves once subscribed (a dead SMTP server must not hold the boot). */
  async start(): Promise<void> {
    const checkpoint = await this.options.checkpoints.loadCheckpoint(this.name);
    this.status.checkpoint = checkpoint;
    this.status.handled = checkpoint;
    this.status.state = 'replaying';
    this.follower = followEvents(this.events, {
      name: this.name,
      handle: (e) => this.handle(e),
      onCaughtUp: () => (this.status.state = 'running'),
      retry: STORE_RETRY,
    });
  }

  /** Resolves once every event that existed at start was handled. */
  caughtUp(): Promise<void> {
    if (!this.follower) return Promise.reject(new Error('relay not started'));
    return this.follower.caughtUp();
  }

  /** Stop following. A delivery made but not recorded yet is made again by the next relay (documented duplicate). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSleeper?.();
    await this.follower?.stop();
    if (this.uncommitted > 0 && this.status.handled > this.status.checkpoint) {
      await this.options.checkpoints.commit(this.name, this.status.handled).then(
        () => (this.status.checkpoint = this.status.handled),
        () => undefined,
      );
    }
    if (this.status.state !== 'failed') this.status.state = 'stopped';
  }

  snapshot(): NotificationRelayStatus {
    const follower = this.follower?.status();
    const failed = follower?.state === 'retrying' || follower?.state === 'failed';
    return { ...this.status, ...(failed ? { state: 'failed' as const, lastError: follower.lastError } : {}), waitingOn: this.status.waitingOn && { ...this.status.waitingOn } };
  }

  /** Positions behind the store head, and age of the event whose delivery is in progress (0 when none). */
  async lag(): Promise<{ head: bigint; positions: bigint; oldestUndeliveredSeconds: number }> {
    const head = this.options.eventsHead ? await this.options.eventsHead() : this.status.handled;
    const waiting = this.status.waitingOn;
    const age = waiting ? Math.max(0, (this.now().getTime() - waiting.eventRecordedAt.getTime()) / 1000) : 0;
    return { head, positions: head > this.status.handled ? head - this.status.handled : 0n, oldestUndeliveredSeconds: age };
  }

  /** The facts of an event, one per kind that describes it. */
  private facts(e: StoredEvent): NotificationFacts[] {
    const out: NotificationFacts[] = [];
    for (const kind of this.kinds.get(e.type) ?? []) {
      const f = kind.describe(e, this.context);
      if (!f) continue;
      out.push({
        ...f,
        kind: kind.name,
        severity: f.severity ?? kind.severity,
        sourceEventId: e.id,
        sourcePosition: e.globalPosition,
        occurredAt: typeof e.metadata['occurredAt'] === 'string' ? e.metadata['occurredAt'] : e.recordedAt.toISOString(),
      });
    }
    return out;
  }

  private async handle(e: StoredEvent): Promise<void> {
    // Every event feeds the context, the lists and the delivery records, replayed ones included.
    this.context.apply(e);
    this.options.lists.apply(e);
    this.deliveries.apply(e);
    if (e.globalPosition <= this.status.checkpoint) return;
    const work: Array<{ facts: NotificationFacts; list: DistributionList; channel: NotificationChannel }> = [];
    for (const facts of this.facts(e)) {
      for (const list of this.options.lists.all()) {
        if (!listWants(list, facts)) continue;
        for (const channel of this.options.channels) if (channel.targets(list)) work.push({ facts, list, channel });
      }
    }
    if (work.length > 0) {
      // Deliveries recorded by an earlier relay that stopped before its checkpoint are not sent again.
      const done = new Set((await this.retrying('read', () => this.options.recorder.readStream(notificationDeliveryStreamId(e.id)))).events.map((d) => deliveryKey(String(d.data['kind']), String(d.data['list']), String(d.data['channel']))));
      for (const w of work) {
        if (done.has(deliveryKey(w.facts.kind, w.list.name, w.channel.name))) continue;
        await this.deliver(e, w.facts, w.list, w.channel);
      }
      this.status.handled = e.globalPosition;
      await this.commit(e.globalPosition);
      return;
    }
    this.status.handled = e.globalPosition;
    this.uncommitted += 1;
    if (this.uncommitted >= (this.options.checkpointEvery ?? 200)) await this.commit(e.globalPosition);
  }

  private async deliver(e: StoredEvent, facts: NotificationFacts, list: DistributionList, channel: NotificationChannel): Promise<void> {
    const { maxAttempts, initialRetryDelayMs: initial, maxRetryDelayMs: max } = this.options;
    this.status.waitingOn = { sourceEventId: e.id, kind: facts.kind, list: list.name, channel: channel.name, eventRecordedAt: e.recordedAt, attempts: 0 };
    let answer: DeliveryAnswer | undefined;
    let error: Error | undefined;
    let attempt = 0;
    while (attempt < maxAttempts) {
      if (this.stopping) throw new RelayStopped('relay stopped');
      attempt += 1;
      try {
        answer = await channel.deliver(list, facts);
        error = undefined;
        break;
      } catch (caught) {
        error = scrub(caught instanceof Error ? caught : new Error(String(caught)), list);
        this.status.waitingOn.attempts = attempt;
        this.status.lastError = `${channel.name} to ${list.name}: ${error.message}`;
        if (error instanceof PermanentDeliveryError || attempt >= maxAttempts) break;
        this.options.onRetry?.(channel.name, error, attempt);
        await this.sleep(Math.min(max, initial * 2 ** Math.min(attempt - 1, 16)));
      }
    }
    const base = {
      sourceEventId: e.id,
      sourcePosition: e.globalPosition.toString(),
      kind: facts.kind,
      severity: facts.severity,
      list: list.name,
      channel: channel.name,
      attempts: attempt,
      ...(facts.approvalId ? { approvalId: facts.approvalId } : {}),
      ...(facts.keyId ? { keyId: facts.keyId } : {}),
      ...(facts.operation ? { operation: facts.operation } : {}),
      at: this.now().toISOString(),
    };
    const event = answer
      ? { type: 'NotificationDelivered', data: { ...base, ...answer } }
      : { type: 'NotificationDeliveryFailed', data: { ...base, recipients: channel.name === 'email' ? [...list.emails] : [`slack:${list.name}`], error: (error?.message ?? 'unknown').slice(0, 500) } };
    await this.retrying('record', () =>
      this.options.recorder.appendToStream(
        notificationDeliveryStreamId(e.id),
        [{ id: randomUUID(), ...event, metadata: { actor: 'system:notifications', correlationId: e.id, occurredAt: base.at } }],
        { expectedVersion: 'any' },
      ),
    );
    this.status.waitingOn = null;
    const record = this.deliveries.record(event.type, event.data);
    if (answer) {
      this.status.delivered += 1;
      this.status.lastError = null;
      this.options.onDelivered?.(record);
    } else {
      this.status.deadLettered += 1;
      this.options.onDeadLettered?.(record);
    }
  }

  private async commit(position: bigint): Promise<void> {
    await this.retrying('commit', () => this.options.checkpoints.commit(this.name, position));
    this.status.checkpoint = position;
    this.uncommitted = 0;
  }

  /** The store and the checkpoint table are retried for as long as it takes (never skipped). */
  private async retrying<T>(stage: string, work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.stopping) throw new RelayStopped('relay stopped');
      try {
        return await work();
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        this.status.lastError = `${stage}: ${error.message}`;
        this.options.onRetry?.(stage, error, attempt);
        await this.sleep(Math.min(STORE_RETRY.maxMs, STORE_RETRY.initialMs * 2 ** Math.min(attempt - 1, 16)));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeSleeper = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleeper = done;
    });
  }
}

const deliveryKey = (kind: string, list: string, channel: string): string => `${kind}|${list}|${channel}`;

/** An error's message without the list's webhook URL (it is a secret). */
function scrub(error: Error, list: DistributionList): Error {
  const url = list.slackWebhookUrl;
  if (!url || !error.message.includes(url)) return error;
  const clean = error.message.split(url).join('<webhook>');
  return error instanceof PermanentDeliveryError ? new PermanentDeliveryError(clean) : new Error(clean);
}
