import {
  APPROVAL_STREAM_PREFIX,
  approvalDecider,
  approvalEventCodec,
  CUSTODIAN_STREAM_PREFIX,
  custodianDecider,
  custodianEventCodec,
  type Decider,
  DRILL_LOG_STREAM_ID,
  drillLogDecider,
  drillLogEventCodec,
  ESCROW_CEREMONY_STREAM_PREFIX,
  ESCROW_POLICY_STREAM_PREFIX,
  escrowCeremonyDecider,
  escrowCeremonyEventCodec,
  escrowPolicyDecider,
  escrowPolicyEventCodec,
  type EventCodec,
  foldWith,
  HSM_STREAM_PREFIX,
  hsmTimelineDecider,
  hsmTimelineEventCodec,
  IDENTITY_STREAM_PREFIX,
  identityDecider,
  identityEventCodec,
  KEY_STREAM_PREFIX,
  keyDecider,
  keyEventCodec,
  PERSON_FACTORS_STREAM_PREFIX,
  personFactorsDecider,
  personFactorsEventCodec,
  PROOF_CHAIN_STREAM_PREFIX,
  proofChainDecider,
  proofChainEventCodec,
  RESIDENCY_STREAM_PREFIX,
  residencyEventCodec,
  LEGAL_ARTIFACTS_STREAM_PREFIX,
  legalArtifactEventCodec,
  legalArtifactsDecider,
  residencyRulesDecider,
} from '@kms/domain';
import type { EventStore, StoredEvent } from '@kms/event-store';
import { KeyCatalog } from '../keys/key-catalog';

/** An aggregate whose streams a replay folds: its stream prefix, decider and event codec. */
export interface ReplayedAggregate {
  name: string;
  prefix: string;
  // The replay only folds: the command type does not matter here.
  decider: Decider<never, unknown, unknown>;
  codec: EventCodec<unknown>;
}

const aggregate = <C, E, S>(name: string, prefix: string, decider: Decider<C, E, S>, codec: EventCodec<E>): ReplayedAggregate => ({
  name,
  prefix,
  decider: decider as unknown as Decider<never, unknown, unknown>,
  codec: codec as EventCodec<unknown>,
});

/**
 * Every aggregate of the domain by stream prefix. A stream matching none (name claims, notification
 * lists, the bootstrap exception) is still read, seals checked, and counted as without a decider.
 */
export const REPLAYED_AGGREGATES: readonly ReplayedAggregate[] = [
  aggregate('key', KEY_STREAM_PREFIX, keyDecider, keyEventCodec),
  aggregate('identity', IDENTITY_STREAM_PREFIX, identityDecider, identityEventCodec),
  aggregate('approval', APPROVAL_STREAM_PREFIX, approvalDecider, approvalEventCodec),
  aggregate('person factors', PERSON_FACTORS_STREAM_PREFIX, personFactorsDecider, personFactorsEventCodec),
  aggregate('escrow custodian', CUSTODIAN_STREAM_PREFIX, custodianDecider, custodianEventCodec),
  aggregate('escrow policy', ESCROW_POLICY_STREAM_PREFIX, escrowPolicyDecider, escrowPolicyEventCodec),
  aggregate('escrow ceremony', ESCROW_CEREMONY_STREAM_PREFIX, escrowCeremonyDecider, escrowCeremonyEventCodec),
  aggregate('HSM timeline', HSM_STREAM_PREFIX, hsmTimelineDecider, hsmTimelineEventCodec),
  aggregate('residency', RESIDENCY_STREAM_PREFIX, residencyRulesDecider, residencyEventCodec),
  aggregate('legal artifacts', LEGAL_ARTIFACTS_STREAM_PREFIX, legalArtifactsDecider, legalArtifactEventCodec),
  aggregate('proof chain', PROOF_CHAIN_STREAM_PREFIX, proofChainDecider, proofChainEventCodec),
  aggregate('drill log', DRILL_LOG_STREAM_ID, drillLogDecider, drillLogEventCodec),
];

/** What a replay read and folded. */
export interface ReplayReport {
  streams: number;
  events: number;
  /** Streams and events per aggregate name; `without decider` for the rest. */
  byAggregate: Record<string, { streams: number; events: number }>;
  /** Keys the key catalog holds after following the whole store from the start. */
  keys: number;
}

/** A stream that did not replay: the store refused it (a seal) or its decider could not fold it. */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
  constructor(
    readonly streamId: string,
    readonly problem: string,
  ) {
    super(`stream ${streamId}: ${problem}`);
  }
}

/** Every stream id of the store, in the order their first event was written (a subscription from the start). */
function streamIds(store: EventStore): Promise<string[]> {
  return new Promise((done, fail) => {
    const seen = new Set<string>();
    let finished = false;
    const subscription = store.subscribeToAll(
      {},
      {
        onEvent: (e: StoredEvent) => void seen.add(e.streamId),
        onError: (error) => {
          if (!finished) fail(new ReplayError('(subscription)', error.message));
          finished = true;
        },
        onCaughtUp: () => {
          if (finished) return;
          finished = true;
          void subscription.stop().then(() => done([...seen]), fail);
        },
      },
    );
  });
}

/**
 * Replay the whole event store as the services would load it: every stream read through the port
 * (so a store with a sealer checks every seal and each stream's hash chain) and folded with its
 * aggregate's decider, and the key catalog caught up from the start. Stops at the first stream that
 * does not replay, naming it (ReplayError).
 */
export async function replayEventStore(store: EventStore, aggregates: readonly ReplayedAggregate[] = REPLAYED_AGGREGATES): Promise<ReplayReport> {
  const report: ReplayReport = { streams: 0, events: 0, byAggregate: {}, keys: 0 };
  for (const streamId of await streamIds(store)) {
    const owner = aggregates.find((a) => streamId.startsWith(a.prefix));
    let events: StoredEvent[];
    try {
      events = (await store.readStream(streamId)).events;
      if (owner) foldWith(owner.decider, events.map((e) => owner.codec.parse(e)));
    } catch (e) {
      throw new ReplayError(streamId, e instanceof Error ? e.message : String(e));
    }
    const name = owner?.name ?? 'without decider';
    const counts = (report.byAggregate[name] ??= { streams: 0, events: 0 });
    counts.streams += 1;
    counts.events += events.length;
    report.streams += 1;
    report.events += events.length;
  }
  const catalog = new KeyCatalog(store);
  try {
    await catalog.start(store);
    report.keys = (await catalog.all()).length;
  } finally {
    await catalog.stop();
  }
  return report;
}
