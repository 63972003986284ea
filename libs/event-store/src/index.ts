export * from './event-store.port';
export * from './in-memory-event-store';
export * from './checkpoint/checkpoint-store.port';
export * from './checkpoint/in-memory-checkpoint-store';
export * from './follower/event.follower';
export * from './seal/event-seal';
