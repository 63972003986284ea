import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/** Metadata key under which every sealed event carries its seal (`{prev, hash, mac}`, plus `scope` when stream-scoped). */
export const SEAL_METADATA_KEY = 'seal';

/**
 * What a seal covers. `position` (no `scope` on the seal, every PostgreSQL seal): the event's global
 * position too. `stream`: the stream only — for stores that assign the position at write time
 * (EventStoreDB), where the writer cannot know it before it seals.
 */
export type SealScope = 'position' | 'stream';

/** The `scope` a stream-scoped seal carries; a seal without `scope` is position-scoped. */
export const STREAM_SEAL_SCOPE = 'stream';

/**
 * What an event's seal hash covers. `globalPosition` is a bigint in the store, a decimal string in
 * evidence, and null for a stream-scoped seal (the position is not covered).
 */
export interface SealHashedEvent {
  streamId: string;
  streamVersion: number;
  globalPosition: bigint | string | null;
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** The metadata without its seal: a seal cannot cover itself. */
export function metadataWithoutSeal(metadata: Record<string, unknown>): Record<string, unknown> {
  const { [SEAL_METADATA_KEY]: _seal, ...rest } = metadata;
  void _seal;
  return rest;
}

/**
 * Hex SHA-256 an event's seal carries: of the RFC 8785 canonical JSON of its stream, version, global
 * position (decimal string), id, type, data, metadata without the seal, and `prev`, the previous
 * event's hash in its stream (null for the first). With a null position (a stream-scoped seal) the
 * position is left out and `scope: "stream"` is hashed in its place, so the two kinds of seal never
 * hash the same body: neither can be passed off as the other. The writer's sealer and the offline
 * evidence verifier both compute it here, so they cannot drift apart.
 */
export function eventSealHash(e: SealHashedEvent, prev: string | null): string {
  const common = {
    streamId: e.streamId,
    streamVersion: e.streamVersion,
    id: e.id,
    type: e.type,
    data: e.data,
    metadata: metadataWithoutSeal(e.metadata),
    prev,
  };
  // The position-scoped body is exactly the one every seal had before stream scopes: old seals verify unchanged.
  const body = e.globalPosition === null ? { ...common, scope: STREAM_SEAL_SCOPE } : { ...common, globalPosition: e.globalPosition.toString() };
  return createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');
}
