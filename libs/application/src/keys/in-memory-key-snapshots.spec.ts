import { keySnapshotStoreContract } from '../testing/key-snapshots.contract';
import { InMemoryKeySnapshots } from './in-memory-key-snapshots';

keySnapshotStoreContract('InMemoryKeySnapshots', async () => new InMemoryKeySnapshots());
