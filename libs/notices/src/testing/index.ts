export * from './notice-publisher.contract';
export * from './notice-store.contract';
export * from './notice.fixtures';
export * from './key-events.fixtures';
