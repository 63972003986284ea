import { createHash } from 'node:crypto';
import { canonicalJsonBytes } from '@kms/evidence';
import { leafHash } from './merkle-tree';

/** The two append-only logs: one leaf per stored event, one per audit record, each in its source order. */
export const LEDGER_LOGS = ['events', 'audit'] as const;
export type LedgerLog = (typeof LEDGER_LOGS)[number];

/** JSON value as found in event data. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** Leaf of the events log: a stored event, normalised. */
export interface EventLeafRecord {
  kind: 'event';
  /** Global position in the event store, as a decimal string (it is a bigint). */
  position: string;
  eventId: string;
  streamId: string;
  streamVersion: number;
  type: string;
  data: { [k: string]: JsonValue };
  metadata: { [k: string]: JsonValue };
  recordedAt: string;
}

/** Leaf of the audit log: an audit record in the normalised schema. */
export interface AuditLeafRecord {
  kind: 'audit';
  position: string;
  id: string;
  time: string;
  requestId: string;
  operation: string;
  keyId: string | null;
  keyVersion: number | null;
  actor: string;
  actorRole: string | null;
  outcome: string;
  errorCode: string | null;
  sourceAddress: string | null;
  details: { [k: string]: string | number | boolean } | null;
}

export type LeafRecord = EventLeafRecord | AuditLeafRecord;

/** Event fields never copied into a leaf as they are: replaced by "sha256:<hex>" of their value. */
export const DIGESTED_EVENT_FIELDS: readonly string[] = ['credentialVerifier'];

/** Structural shape of a stored event (the event store's StoredEvent fits). */
export interface StoredEventLike {
  id: string;
  streamId: string;
  streamVersion: number;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  globalPosition: bigint;
  recordedAt: Date;
}

function toJson(value: unknown): JsonValue {
  // A JSON round trip drops undefined and turns dates into strings, as the event store itself does.
  return JSON.parse(JSON.stringify(value ?? null)) as JsonValue;
}

/** The events-log leaf record of a stored event. Credential verifiers are only referenced by digest. */
export function eventLeafRecord(e: StoredEventLike): EventLeafRecord {
  const data = toJson(e.data) as { [k: string]: JsonValue };
  for (const field of DIGESTED_EVENT_FIELDS) {
    const v = data[field];
    if (typeof v === 'string') data[field] = `sha256:${createHash('sha256').update(v, 'utf8').digest('hex')}`;
  }
  return {
    kind: 'event',
    position: e.globalPosition.toString(),
    eventId: e.id,
    streamId: e.streamId,
    streamVersion: e.streamVersion,
    type: e.type,
    data,
    metadata: toJson(e.metadata) as { [k: string]: JsonValue },
    recordedAt: e.recordedAt.toISOString(),
  };
}

/** The bytes a leaf hashes: RFC 8785 canonical JSON of the record, UTF-8. */
export function leafData(record: LeafRecord): Buffer {
  return canonicalJsonBytes(record);
}

/** RFC 9162 leaf hash of a record. */
export function recordLeafHash(record: LeafRecord): Buffer {
  return leafHash(leafData(record));
}

/** Which log a record belongs to. */
export function logOf(record: LeafRecord): LedgerLog {
  return record.kind === 'event' ? 'events' : 'audit';
}
