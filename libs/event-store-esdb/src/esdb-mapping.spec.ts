import {
  StreamDeletedError,
  UnavailableError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  type RecordedEvent,
} from '@eventstore/db-client';
import { EventStoreUnavailableError, WrongExpectedVersionError } from '@kms/event-store';
import { globalPositionOf, isSystemEvent, toEventData, toExpectedRevision, toPortError, toStoredEvent, UNKNOWN_POSITION } from './esdb-mapping';

describe('EventStoreDB mapping', () => {
  it('maps expected versions to the client expected revisions', () => {
    expect(toExpectedRevision('no_stream')).toBe('no_stream');
    expect(toExpectedRevision('stream_exists')).toBe('stream_exists');
    expect(toExpectedRevision('any')).toBe('any');
    expect(toExpectedRevision(7)).toBe(7n);
  });

  it('turns a client version conflict into the port error with the actual version', () => {
    const onExisting = new EsdbWrongExpectedVersionError(undefined, { streamName: 'key-1', expected: 'no_stream', current: 4n });
    const onMissing = new EsdbWrongExpectedVersionError(undefined, { streamName: 'key-2', expected: 'stream_exists', current: 'no_stream' });

    expect(toPortError(onExisting, 'key-1', 'append to', 'no_stream')).toEqual(new WrongExpectedVersionError('key-1', 'no_stream', 4));
    expect(toPortError(onMissing, 'key-2', 'append to', 'stream_exists')).toMatchObject({ streamId: 'key-2', expected: 'stream_exists', actual: -1 });
  });

  it('reports an unreachable server as unavailable and a deleted stream as a plain error', () => {
    expect(toPortError(new UnavailableError(), 'key-1', 'read of')).toBeInstanceOf(EventStoreUnavailableError);
    expect(toPortError(new Error('socket hang up'), 'key-1', 'read of')).toBeInstanceOf(EventStoreUnavailableError);
    const deleted = toPortError(StreamDeletedError.fromStreamName('key-1'), 'key-1', 'append to', 0);
    expect(deleted).not.toBeInstanceOf(EventStoreUnavailableError);
    expect(deleted.message).toContain('key-1');
  });

  it('writes JSON events whose id is the caller event id', () => {
    const data = toEventData({ id: 'f6f1c7c6-4a40-4d55-9f5e-3c1c9b0a1e11', type: 'KeyCreated', data: { keyId: 'k' }, metadata: { actor: 'a' } });

    expect(data).toMatchObject({ id: 'f6f1c7c6-4a40-4d55-9f5e-3c1c9b0a1e11', contentType: 'application/json', type: 'KeyCreated', data: { keyId: 'k' } });
  });

  it('exposes the commit position as globalPosition, and unknown when the server sent none', () => {
    expect(globalPositionOf({ commit: 1234n, prepare: 1234n })).toBe(1234n);
    expect(globalPositionOf(undefined)).toBe(UNKNOWN_POSITION);
    expect(globalPositionOf({ commit: 0xffff_ffff_ffff_ffffn, prepare: 0xffff_ffff_ffff_ffffn })).toBe(UNKNOWN_POSITION);
  });

  it('maps a recorded event to a stored event, reading binary metadata as JSON', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    const recorded = {
      streamId: 'key-1',
      id: 'e1',
      isJson: true,
      revision: 3n,
      type: 'KeyDisabled',
      created,
      data: { keyId: 'key-1' },
      metadata: new TextEncoder().encode(JSON.stringify({ actor: 'alice' })),
    } as RecordedEvent;

    expect(toStoredEvent(recorded, 99n)).toEqual({
      id: 'e1',
      streamId: 'key-1',
      streamVersion: 3,
      globalPosition: 99n,
      type: 'KeyDisabled',
      data: { keyId: 'key-1' },
      metadata: { actor: 'alice' },
      recordedAt: created,
    });
  });

  it('recognises system events by type or stream', () => {
    expect(isSystemEvent({ type: '$metadata', streamId: 'key-1' })).toBe(true);
    expect(isSystemEvent({ type: 'KeyCreated', streamId: '$stats-127.0.0.1:2113' })).toBe(true);
    expect(isSystemEvent({ type: 'KeyCreated', streamId: 'key-1' })).toBe(false);
  });
});
