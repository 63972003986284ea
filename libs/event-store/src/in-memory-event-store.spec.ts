import { InMemoryEventStore } from './in-memory-event-store';
import { eventStoreContract, storedStreamReaderContract } from './testing';

eventStoreContract('InMemoryEventStore', async () => {
  const store = new InMemoryEventStore();
  return { store, cleanup: () => store.close() };
});

storedStreamReaderContract('InMemoryEventStore', async () => {
  const store = new InMemoryEventStore();
  return { store, cleanup: () => store.close() };
});
