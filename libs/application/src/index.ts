export * from './ports';
export * from './keys/key-repository';
export * from './keys/key-catalog';
export * from './keys/key-lifecycle.service';
export * from './crypto/crypto.service';
export * from './crypto/request-validation';
export * from './audit/audited-operation';
export * from './audit/in-memory-audit-log';
