export * from './proto-paths';
export * from './kms-client';
export * from './generated/kms/v1';
