import {
  ErrorType,
  InvalidArgumentError,
  MaxAppendSizeExceededError,
  StreamDeletedError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  isCommandError,
  jsonEvent,
  type AppendExpectedRevision,
  type CurrentRevision,
  type EventData,
  type Position,
  type RecordedEvent,
} from '@eventstore/db-client';
import { EventStoreUnavailableError, WrongExpectedVersionError, type ExpectedVersion, type NewEvent, type StoredEvent } from '@kms/event-store';

/** globalPosition of an event the server gave no $all position for (servers before 22.6 on stream reads). */
export const UNKNOWN_POSITION = -1n;

/** EventStoreDB sends 2^64-1 where a stream read has no real transaction-log position. */
const NO_POSITION = 0xffff_ffff_ffff_ffffn;

/** Maps the port's expected version to the client's expected revision. */
export function toExpectedRevision(expected: ExpectedVersion): AppendExpectedRevision {
  switch (expected) {
    case 'no_stream':
      return 'no_stream';
    case 'stream_exists':
      return 'stream_exists';
    case 'any':
      return 'any';
    default:
      return BigInt(expected);
  }
}

/** Maps the client's current revision to the port's version (-1 for a missing stream). */
export function fromCurrentRevision(current: CurrentRevision): number {
  return current === 'no_stream' ? -1 : Number(current);
}

/** A JSON event whose EventStoreDB event id is the caller's NewEvent.id. */
export function toEventData(event: NewEvent): EventData {
  return jsonEvent({ id: event.id, type: event.type, data: event.data, metadata: event.metadata });
}

/** The $all commit position of an event, which the port exposes as globalPosition. */
export function globalPositionOf(position: Position | undefined): bigint {
  return position === undefined || position.commit === NO_POSITION ? UNKNOWN_POSITION : position.commit;
}

/** Events the server writes for itself ($stats, $metadata, projections' links): never delivered. */
export function isSystemEvent(event: { type: string; streamId: string }): boolean {
  return event.type.startsWith('$') || event.streamId.startsWith('$');
}

/** Maps a recorded event to the port's StoredEvent. */
export function toStoredEvent(event: RecordedEvent, globalPosition: bigint): StoredEvent {
  return {
    id: event.id,
    streamId: event.streamId,
    streamVersion: Number(event.revision),
    globalPosition,
    type: event.type,
    data: asRecord(event.data),
    metadata: asRecord(event.metadata),
    recordedAt: event.created,
  };
}

/** Data and metadata we wrote are JSON objects; anything else (written by another tool) is wrapped, not lost. */
function asRecord(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (value instanceof Uint8Array) {
    const text = Buffer.from(value).toString('utf8');
    try {
      return asRecord(JSON.parse(text));
    } catch {
      return { value: text };
    }
  }
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  return { value };
}

const TRANSIENT_ERRORS = new Set<ErrorType>([
  ErrorType.UNAVAILABLE,
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.TIMEOUT,
  ErrorType.NOT_LEADER,
  ErrorType.CANCELLED,
  ErrorType.UNKNOWN,
]);

/** True for failures that a retry may cure: the server is unreachable, restarting or changed leader. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  // Errors that are not command errors come from the transport (discovery, sockets, closed streams).
  return isCommandError(error) ? TRANSIENT_ERRORS.has(error.type) : true;
}

/**
 * Maps a client error to the port. A version conflict becomes WrongExpectedVersionError; bad input
 * (oversized append, deleted stream, invalid argument) a plain Error; the rest EventStoreUnavailableError.
 */
export function toPortError(error: unknown, streamId: string, what: string, expected?: ExpectedVersion): Error {
  if (error instanceof EsdbWrongExpectedVersionError && expected !== undefined) {
    return new WrongExpectedVersionError(streamId, expected, fromCurrentRevision(error.actualVersion));
  }
  const message = `event store: ${what} stream ${streamId} failed: ${error instanceof Error ? error.message : String(error)}`;
  if (error instanceof MaxAppendSizeExceededError || error instanceof StreamDeletedError || error instanceof InvalidArgumentError) {
    return new Error(message, { cause: error });
  }
  return new EventStoreUnavailableError(message, error);
}
