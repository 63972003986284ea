import { checkpointStoreContract } from '@kms/event-store/testing';
import { noticeStoreContract } from '../testing/notice-store.contract';
import { InMemoryNoticeStore } from './in-memory-notice-store';

noticeStoreContract('InMemoryNoticeStore', async () => ({ store: new InMemoryNoticeStore(), cleanup: async () => undefined }));
checkpointStoreContract('InMemoryNoticeStore', async () => ({ store: new InMemoryNoticeStore(), cleanup: async () => undefined }));
