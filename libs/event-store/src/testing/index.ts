export * from './event-store.contract';
export * from './checkpoint-store.contract';
export * from './stored-stream-reader.contract';
export * from './streams-by-prefix-reader.contract';
