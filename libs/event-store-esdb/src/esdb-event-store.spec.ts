import { EventStoreDBClient } from '@eventstore/db-client';
import { EventStoreUnavailableError } from '@kms/event-store';
import { randomUUID } from 'node:crypto';
import { EsdbEventStore } from './esdb-event-store';

// Nothing listens on port 1: these run without EventStoreDB and check how the adapter behaves when it is down.
describe('EsdbEventStore with no server reachable', () => {
  let client: EventStoreDBClient;
  let store: EsdbEventStore;

  beforeEach(() => {
    client = EventStoreDBClient.connectionString('esdb://127.0.0.1:1?tls=false');
    store = new EsdbEventStore(client, { maxReconnectDelayMs: 50 });
  });

  afterEach(async () => {
    await store.close();
    await client.dispose();
  });

  it('raises EventStoreUnavailableError from readStream and appendToStream', async () => {
    await expect(store.readStream('key-1')).rejects.toBeInstanceOf(EventStoreUnavailableError);
    const event = { id: randomUUID(), type: 'KeyCreated', data: { keyId: 'key-1' }, metadata: {} };
    await expect(store.appendToStream('key-1', [event], { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });

  it('keeps a subscription retrying rather than failing it, and stop() ends it', async () => {
    const errors: Error[] = [];
    const reads = jest.spyOn(client, 'readAll');
    const subscription = store.subscribeToAll({}, { onEvent: () => undefined, onError: (e) => void errors.push(e) });

    await new Promise((resolve) => setTimeout(resolve, 500));
    await subscription.stop();

    expect(errors).toEqual([]);
    expect(reads.mock.calls.length).toBeGreaterThan(1);
  });
});
