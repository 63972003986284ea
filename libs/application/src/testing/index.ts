export * from './key-backend.contract';
export * from './application-fixture';
