import { randomUUID } from 'node:crypto';
import { HSM_STREAM_PREFIX, type HsmDeclaration, type HsmIdentity, hsmTimelineDecider, hsmTimelineEventCodec, type HsmTimelineEvent } from '@kms/domain';
import type { AppendResult, EventStore, EventSubscription, ExpectedVersion, NewEvent, ReadStreamResult, StoredEvent, SubscribeOptions, SubscriptionHandler } from '@kms/event-store';
import type { ChangeCommitter } from '../changes/change-committer.port';
import { handleCommand } from '../changes/handle-command';
import type { AuditRecord, Clock } from '../ports/audit-log.port';

/** The actor of what the KMS records about its HSMs by itself. */
export const HSM_REGISTRY_ACTOR = 'system:hsm-registry';

/** A timeline event as stored, with its position (what the ledger's event leaves are made of). */
export type HsmTimelineEntry = StoredEvent & { type: HsmTimelineEvent['type'] };

/**
 * The per-HSM timeline (stream `hsm-<instanceId>`): each instance's declaration and identity recorded
 * at start and whenever it changed, and every attestation bundle issued. Each change is audited
 * (operation `RecordHsmIdentity` / `IssueHsmAttestationBundle`, actor system:hsm-registry): its events
 * and its audit record are committed together by the KMS's ChangeCommitter, or neither is.
 */
export class HsmTimelineService {
  constructor(
    private readonly store: EventStore,
    private readonly committer: ChangeCommitter,
    private readonly clock: Clock,
  ) {}

  /** The store handleCommand appends through: the append is one change with the audit record `audit` makes of its events. */
  private committing(audit: (events: NewEvent[]) => AuditRecord): EventStore {
    const { store, committer } = this;
    return {
      readStream: (streamId: string): Promise<ReadStreamResult> => store.readStream(streamId),
      async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }): Promise<AppendResult> {
        const [result] = await committer.commit({ writes: [{ streamId, events, expectedVersion: options.expectedVersion }], audit: audit(events) });
        return result as AppendResult;
      },
      subscribeToAll: (options: SubscribeOptions, handler: SubscriptionHandler): EventSubscription => store.subscribeToAll(options, handler),
      close: () => Promise.resolve(),
    };
  }

  /** Record what an instance reports now; returns the events it added (none when nothing changed). */
  async observe(declaration: HsmDeclaration, identity: HsmIdentity, actor: string = HSM_REGISTRY_ACTOR): Promise<HsmTimelineEvent[]> {
    const correlationId = randomUUID();
    const store = this.committing((events) => {
      const changed = events.flatMap((e) => (e.type === 'HsmIdentityChanged' ? (e.data['changes'] as { field: string }[]).map((c) => c.field) : []));
      return {
        id: randomUUID(),
        time: this.clock.now(),
        requestId: correlationId,
        operation: 'RecordHsmIdentity',
        actor,
        outcome: 'SUCCESS',
        details: {
          hsmId: declaration.instanceId,
          jurisdiction: declaration.jurisdiction,
          events: events.map((e) => e.type).join(','),
          ...(changed.length > 0 ? { changedFields: changed.join(',') } : {}),
          serialNumber: identity.serialNumber,
          firmwareVersion: identity.firmwareVersion,
        },
      };
    });
    const handled = await handleCommand(store, hsmTimelineDecider, hsmTimelineEventCodec, hsmStreamId(declaration.instanceId), () => ({
      command: { type: 'ObserveHsmIdentity' as const, data: { declaration, identity }, metadata: { now: this.clock.now(), actor, correlationId } },
    }));
    return handled.events;
  }

  /** Record an issued attestation bundle: its SHA-256 enters the event log (and so the ledger). */
  async recordBundle(instanceId: string, bundle: { bundleSha256: string; statementSha256: string; attestationKeyFingerprint: string }, actor: string): Promise<HsmTimelineEntry> {
    const correlationId = randomUUID();
    const store = this.committing(() => ({
      id: randomUUID(),
      time: this.clock.now(),
      requestId: correlationId,
      operation: 'IssueHsmAttestationBundle',
      actor,
      outcome: 'SUCCESS',
      details: { hsmId: instanceId, bundleSha256: bundle.bundleSha256 },
    }));
    const handled = await handleCommand(store, hsmTimelineDecider, hsmTimelineEventCodec, hsmStreamId(instanceId), () => ({
      command: { type: 'RecordHsmAttestationBundle' as const, data: { instanceId, ...bundle }, metadata: { now: this.clock.now(), actor, correlationId } },
    }));
    const stored = (await this.timeline(instanceId)).at(-1);
    if (!stored || stored.streamVersion !== handled.version) throw new Error(`the bundle event of ${instanceId} is not the stream's last`);
    return stored;
  }

  /** The instance's timeline, oldest first. */
  async timeline(instanceId: string): Promise<HsmTimelineEntry[]> {
    const { events } = await this.store.readStream(hsmStreamId(instanceId));
    return events.filter((e): e is HsmTimelineEntry => hsmTimelineEventCodec.accepts(e.type));
  }
}

/** The timeline stream of an instance. */
export function hsmStreamId(instanceId: string): string {
  return `${HSM_STREAM_PREFIX}${instanceId}`;
}
