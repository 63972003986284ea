import { InMemoryEventStore } from './in-memory-event-store';
import { eventStoreContract } from './testing';

eventStoreContract('InMemoryEventStore', async () => {
  const store = new InMemoryEventStore();
  return { store, cleanup: () => store.close() };
});
