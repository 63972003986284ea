// Test helpers. The jest environment itself is referenced by path in a docblock, not imported:
//   @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
export * from './softhsm-test-token';
export * from './softhsm-test-root';
export * from './softhsm-jurisdiction-test-tokens';
