export * from './kms-config';
