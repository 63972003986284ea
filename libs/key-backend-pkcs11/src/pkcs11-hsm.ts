import { Pkcs11AttestationSigner } from './pkcs11-attestation-signer';
import { Pkcs11KeyBackend, type Pkcs11KeyBackendOptions } from './pkcs11-key-backend';
import { Pkcs11SessionPool, type Pkcs11SessionPoolOptions } from './pkcs11-session-pool';

export interface Pkcs11HsmOptions extends Pkcs11SessionPoolOptions, Pkcs11KeyBackendOptions {
  /** CKA_LABEL of the attestation key pair. Default "kms-attestation-v1". */
  attestationKeyLabel?: string;
}

/** The HSM as the service uses it: one session pool shared by the key backend and the attestation signer. */
export interface Pkcs11Hsm {
  pool: Pkcs11SessionPool;
  keyBackend: Pkcs11KeyBackend;
  attestationSigner: Pkcs11AttestationSigner;
  /** Finalize the module. */
  close(): Promise<void>;
}

/** Build the HSM adapters from options (KmsConfig's enabled `hsm` section fits). Does no I/O. */
export function createPkcs11Hsm(options: Pkcs11HsmOptions): Pkcs11Hsm {
  const pool = new Pkcs11SessionPool(options);
  return {
    pool,
    keyBackend: new Pkcs11KeyBackend(pool, options),
    attestationSigner: new Pkcs11AttestationSigner(pool, options.attestationKeyLabel),
    close: () => pool.close(),
  };
}
