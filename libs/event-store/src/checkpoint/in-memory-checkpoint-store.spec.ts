import { checkpointStoreContract } from '../testing/checkpoint-store.contract';
import { InMemoryCheckpointStore } from './in-memory-checkpoint-store';

checkpointStoreContract('InMemoryCheckpointStore', async () => ({ store: new InMemoryCheckpointStore(), cleanup: async () => undefined }));
