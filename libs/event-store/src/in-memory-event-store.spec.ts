import { InMemoryEventStore } from './in-memory-event-store';
import { eventStoreContract, storedStreamReaderContract, streamsByPrefixReaderContract } from './testing';

eventStoreContract('InMemoryEventStore', async () => {
  const store = new InMemoryEventStore();
  return { store, cleanup: () => store.close() };
});

storedStreamReaderContract('InMemoryEventStore', async () => {
  const store = new InMemoryEventStore();
  return { store, cleanup: () => store.close() };
});

streamsByPrefixReaderContract('InMemoryEventStore', async () => {
  const store = new InMemoryEventStore();
  return { store, cleanup: () => store.close() };
});
