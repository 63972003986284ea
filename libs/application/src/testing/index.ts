export * from './key-backend.contract';
