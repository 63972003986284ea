export * from './key-backend.port';
export * from './key-material-store.port';
export * from './audit-log.port';
export * from './import-parameters-store.port';
export * from './ceremony-key-store.port';
