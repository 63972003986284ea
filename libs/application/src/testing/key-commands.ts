import { randomUUID } from 'node:crypto';
import { type KeyCommand, keyDecider, keyEventCodec, keyStreamId } from '@kms/domain';
import type { EventStore } from '@kms/event-store';
import { loadAggregate } from '../changes/handle-command';

/**
 * Append to a key's stream what the key decider decides for `command`, as the key service would, but
 * without its services: for tests that need real key history in a store (read models, followers).
 */
export async function appendKeyCommand(store: EventStore, keyId: string, command: KeyCommand): Promise<void> {
  const { state, version } = await loadAggregate(store, keyDecider, keyEventCodec, keyStreamId(keyId));
  const events = keyDecider.decide(command, state);
  await store.appendToStream(
    keyStreamId(keyId),
    events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data }, metadata: { ...e.metadata } })),
    { expectedVersion: version < 0 ? 'no_stream' : version },
  );
}
