export * from './proto-paths';
export * from './kms-client';
