export * from './hsm-pin-source';
export * from './pkcs11-attestation-signer';
export * from './pkcs11-hsm';
export * from './pkcs11-key-backend';
export * from './softhsm-token';
export { RECONNECT_CODES, FATAL_LOGIN_CODES, ckrName } from './pkcs11-errors';
export {
  DEFAULT_HSM_SESSIONS,
  Pkcs11SessionPool,
  type HsmFailure,
  type HsmModuleIdentity,
  type Pkcs11PoolState,
  type Pkcs11PoolStats,
  type Pkcs11Session,
  type Pkcs11SessionPoolOptions,
  type TokenSelector,
} from './pkcs11-session-pool';
export * from './pkcs11-seal-keys';
export * from './history-seal-keys';
export * from './jurisdictions/index';
