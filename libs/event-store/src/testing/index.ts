export * from './event-store.contract';
export * from './checkpoint-store.contract';
export * from './stored-stream-reader.contract';
