export * from './errors/kms-error';
export * from './key/key-types';
export * from './key/key.events';
export * from './key/key.commands';
export * from './key/key.state';
export * from './key/key.validation';
export * from './key/key.decider';
export * from './ciphertext/ciphertext-format';
