import type { AttestationSigner } from '@kms/application';
import { p256 } from '@noble/curves/p256';
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';

/**
 * ECDSA P-256 attestation signer in software, for tests and for deployments without an HSM.
 * Production uses the HSM's attestation key (Pkcs11AttestationSigner); this one exists so the
 * ledger can still be signed where no HSM is configured, and says so in its logs.
 */
export class SoftwareAttestationSigner implements AttestationSigner {
  private readonly publicKey: KeyObject;

  private constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
  }

  /** A fresh random key pair (tests). */
  static generate(): SoftwareAttestationSigner {
    return SoftwareAttestationSigner.fromSeed(Buffer.from(p256.utils.randomPrivateKey()));
  }

  /** A stable key pair from 32 secret bytes (e.g. MasterKey.derive('audit-attestation-v1')), so restarts keep the key. */
  static fromSeed(seed: Buffer): SoftwareAttestationSigner {
    // Reduce into [1, n-1] so any 32 bytes give a valid scalar.
    const n = p256.CURVE.n;
    const d = (BigInt(`0x${seed.toString('hex')}`) % (n - 1n)) + 1n;
    const dBytes = Buffer.from(d.toString(16).padStart(64, '0'), 'hex');
    const pub = Buffer.from(p256.getPublicKey(dBytes, false));
    const jwk = {
      kty: 'EC',
      crv: 'P-256',
      d: dBytes.toString('base64url'),
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33, 65).toString('base64url'),
    };
    return new SoftwareAttestationSigner(createPrivateKey({ key: jwk, format: 'jwk' }));
  }

  async publicKeyPem(): Promise<string> {
    return this.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  }

  async keyFingerprint(): Promise<string> {
    return createHash('sha256').update(this.publicKey.export({ format: 'der', type: 'spki' })).digest('hex');
  }

  async sign(data: Buffer): Promise<Buffer> {
    return sign('sha256', data, { key: this.privateKey, dsaEncoding: 'der' });
  }
}
