import type { Algorithm, ProtectionLevel } from '@kms/domain';

/** The version whose public key is wanted, with what a key backend needs to find it. */
export interface PublicKeyVersionRef {
  keyId: string;
  version: number;
  algorithm: Algorithm;
  protectionLevel: ProtectionLevel;
  /** Backend reference from KeyVersionCreated. */
  materialRef: string;
}

/**
 * Where public keys come from. The key service wires it to its backends:
 * `spki: (ref) => backends[ref.protectionLevel].getPublicKey(ref)` (DER SubjectPublicKeyInfo).
 */
export interface PublicKeySource {
  spki(ref: PublicKeyVersionRef): Promise<Buffer>;
}
