import {
  BACKWARDS,
  END,
  STREAM_NAME,
  StreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  type AppendExpectedRevision,
  type AppendResult,
  type EventData,
  type Filter,
  type Position,
  type ReadStreamOptions,
} from '@eventstore/db-client';
import { PassThrough, Readable } from 'node:stream';
import type { EsdbClient } from '../esdb-event-store';

interface Recorded {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata: unknown;
  isJson: true;
  created: Date;
  position: Position;
}

/**
 * An in-memory stand-in for the few EventStoreDB client calls the adapter makes (stream reads,
 * appends with an expected revision, $all read backwards and a catch-up subscription to $all, filtered
 * by stream-name prefixes when asked),
 * behaving as the server does for them: JSON data and metadata round-trip as JSON, a conflicting
 * append throws the client's WrongExpectedVersionError, a missing stream StreamNotFoundError while
 * it is read. For unit tests of the adapter's own logic; the contract suite runs against a server.
 */
export class FakeEsdbClient {
  private readonly streams = new Map<string, Recorded[]>();
  private readonly all: Recorded[] = [];
  private readonly live = new Set<PassThrough & { prefixes: string[] | undefined }>();
  /** Runs before an append is applied (once per call): lets a test slip in another writer's append. */
  beforeAppend: ((streamId: string) => Promise<void>) | undefined;
  readonly appends: Array<{ streamId: string; expectedRevision: AppendExpectedRevision | undefined; events: number }> = [];

  /** The fake as the adapter's client type. */
  get client(): EsdbClient {
    return this as unknown as EsdbClient;
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): Readable & { cancel(): Promise<void> } {
    const stored = this.streams.get(streamId);
    const backwards = options.direction === BACKWARDS;
    if (options.fromRevision !== undefined && options.fromRevision !== END && backwards) throw new Error('the fake reads backwards from END only');
    const ordered = stored ? (backwards ? [...stored].reverse() : stored) : [];
    const events = ordered.slice(0, Number(options.maxCount ?? Number.MAX_SAFE_INTEGER)).map((e) => ({ event: copy(e) }));
    return withCancel(
      Readable.from(
        (async function* () {
          if (!stored) throw new StreamNotFoundError(undefined, streamId);
          yield* events;
        })(),
      ),
    );
  }

  async appendToStream(streamId: string, events: EventData | EventData[], options: { expectedRevision?: AppendExpectedRevision } = {}): Promise<AppendResult> {
    const list = Array.isArray(events) ? events : [events];
    this.appends.push({ streamId, expectedRevision: options.expectedRevision, events: list.length });
    const hook = this.beforeAppend;
    if (hook) await hook(streamId);
    const stored = this.streams.get(streamId) ?? [];
    const current = stored.length === 0 ? ('no_stream' as const) : BigInt(stored.length - 1);
    const expected = options.expectedRevision ?? 'any';
    const ok = expected === 'any' || (expected === 'no_stream' ? current === 'no_stream' : expected === 'stream_exists' ? current !== 'no_stream' : current === expected);
    if (!ok) throw new EsdbWrongExpectedVersionError(undefined, { streamName: streamId, expected, current });
    for (const e of list) {
      const commit = BigInt(1000 + this.all.length * 137);
      const recorded: Recorded = {
        streamId,
        id: e.id ?? '',
        revision: BigInt(stored.length),
        type: e.type,
        data: roundTrip(e.data),
        metadata: e.metadata === undefined ? undefined : roundTrip(e.metadata),
        isJson: true,
        created: new Date(0),
        position: { commit, prepare: commit },
      };
      stored.push(recorded);
      this.all.push(recorded);
      for (const s of this.live) if (passes(recorded, s.prefixes)) s.write({ event: copy(recorded) });
    }
    this.streams.set(streamId, stored);
    const last = stored[stored.length - 1] as Recorded;
    return { success: true, nextExpectedRevision: last.revision, position: last.position };
  }

  readAll(options: { direction?: string; fromPosition?: unknown; maxCount?: number } = {}): Readable & { cancel(): Promise<void> } {
    if (options.direction !== BACKWARDS || options.fromPosition !== END) throw new Error('the fake reads $all backwards from END only');
    const events = [...this.all].reverse().slice(0, options.maxCount ?? Number.MAX_SAFE_INTEGER).map((e) => ({ event: copy(e) }));
    return withCancel(Readable.from(events));
  }

  /** Every subscription's filter, in order: a test sees what the adapter asked the server for. */
  readonly subscriptionFilters: Array<Filter | undefined> = [];

  subscribeToAll(options: { fromPosition?: unknown; filter?: Filter } = {}): PassThrough & { unsubscribe(): Promise<void> } {
    const from = typeof options.fromPosition === 'object' && options.fromPosition !== null ? (options.fromPosition as Position).commit : -1n;
    this.subscriptionFilters.push(options.filter);
    // As the server does, a stream-name prefix filter leaves out every other stream. Event-type filters
    // (excludeSystemEvents) have nothing to leave out: the fake writes no system events.
    const filter = options.filter;
    const prefixes = filter?.filterOn === STREAM_NAME && 'prefixes' in filter ? filter.prefixes : undefined;
    const s = Object.assign(new PassThrough({ objectMode: true }), { prefixes });
    for (const e of this.all) if (e.position.commit > from && passes(e, prefixes)) s.write({ event: copy(e) });
    this.live.add(s);
    setImmediate(() => s.emit('caughtUp'));
    return Object.assign(s, {
      unsubscribe: async () => {
        this.live.delete(s);
        s.end();
      },
    });
  }
}

function passes(e: Recorded, prefixes: string[] | undefined): boolean {
  return prefixes === undefined || prefixes.some((p) => e.streamId.startsWith(p));
}

function roundTrip(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function copy(e: Recorded): Recorded {
  return { ...e, data: roundTrip(e.data), metadata: e.metadata === undefined ? undefined : roundTrip(e.metadata) };
}

function withCancel(r: Readable): Readable & { cancel(): Promise<void> } {
  return Object.assign(r, {
    cancel: async () => {
      r.destroy();
    },
  });
}

