export * from './key-backend.contract';
export * from './application-fixture';
export * from './audit-log.contract';
export * from './key-snapshots.contract';
export * from './key-commands';
