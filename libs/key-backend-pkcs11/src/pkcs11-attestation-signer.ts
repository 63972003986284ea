import type { AttestationSigner } from '@kms/application';
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { ALGORITHM_SPECS, type KeyPairSpec, type ObjectName } from './pkcs11-algorithms';
import { ckrOf } from './pkcs11-errors';
import { findObjects, readSpki } from './pkcs11-objects';
import type { Pkcs11Session, Pkcs11SessionPool } from './pkcs11-session-pool';
import { ecdsaP256RawToDer, spkiFingerprint } from './public-key-encoding';

/** CKA_LABEL of the KMS attestation key pair. */
export const ATTESTATION_KEY_LABEL = 'kms-attestation-v1';

const ECDSA_P256_RAW_LENGTH = 64;
const OBJECT_ID_BYTES = 16;

interface AttestationKey {
  generation: number;
  privateKey: Buffer;
  publicKey: Buffer;
  spki: Buffer;
}

/**
 * The KMS attestation key: an ECDSA P-256 pair on the token labelled `kms-attestation-v1`, created
 * (sensitive, non-extractable) on first use when absent. Signs evidence as DER ECDSA over SHA-256.
 */
export class Pkcs11AttestationSigner implements AttestationSigner {
  private key?: AttestationKey;
  /** One find-or-create at a time, so concurrent first uses do not make two key pairs. */
  private loading?: Promise<AttestationKey>;

  constructor(
    private readonly pool: Pkcs11SessionPool,
    private readonly label: string = ATTESTATION_KEY_LABEL,
  ) {}

  async publicKeyPem(): Promise<string> {
    const spki = await this.spki();
    return createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
  }

  async keyFingerprint(): Promise<string> {
    return spkiFingerprint(await this.spki());
  }

  async sign(data: Buffer): Promise<Buffer> {
    const digest = createHash('sha256').update(data).digest();
    return this.pool.withSession('attestation.sign', async (s) => {
      const key = await this.keyOn(s);
      s.module.C_SignInit(s.handle, { mechanism: pkcs11js.CKM_ECDSA }, key.privateKey);
      try {
        return ecdsaP256RawToDer(await s.module.C_SignAsync(s.handle, digest, Buffer.alloc(ECDSA_P256_RAW_LENGTH)));
      } catch (e) {
        const code = ckrOf(e);
        if (code === pkcs11js.CKR_KEY_HANDLE_INVALID || code === pkcs11js.CKR_OBJECT_HANDLE_INVALID) this.key = undefined;
        throw e;
      }
    });
  }

  private async spki(): Promise<Buffer> {
    // The pair is a token object: once known, its public key does not change while it exists.
    if (this.key) return this.key.spki;
    return this.pool.withSession('attestation.publicKey', async (s) => (await this.keyOn(s)).spki);
  }

  private async keyOn(s: Pkcs11Session): Promise<AttestationKey> {
    if (this.key && this.key.generation === s.generation) return this.key;
    this.loading ??= this.findOrCreate(s).finally(() => {
      this.loading = undefined;
    });
    const key = await this.loading;
    // A load that ran on an older connection gives handles that are stale here.
    return key.generation === s.generation ? key : this.findOrCreate(s);
  }

  private async findOrCreate(s: Pkcs11Session): Promise<AttestationKey> {
    const key = this.find(s) ?? (await this.create(s));
    this.key = key;
    return key;
  }

  private find(s: Pkcs11Session): AttestationKey | undefined {
    const objects = findObjects(s, [{ type: pkcs11js.CKA_LABEL, value: this.label }]);
    const privates = objects.filter((o) => o.objectClass === pkcs11js.CKO_PRIVATE_KEY && o.keyType === pkcs11js.CKK_EC);
    // Two processes creating the key at once could leave two pairs: all choose the lowest CKA_ID.
    privates.sort((a, b) => Buffer.compare(a.id, b.id));
    for (const privateKey of privates) {
      const publicKey = objects.find((o) => o.objectClass === pkcs11js.CKO_PUBLIC_KEY && o.id.equals(privateKey.id));
      if (publicKey) {
        return { generation: s.generation, privateKey: privateKey.handle, publicKey: publicKey.handle, spki: readSpki(s, publicKey.handle, 'ECDSA_P256_SHA256') };
      }
    }
    return undefined;
  }

  private async create(s: Pkcs11Session): Promise<AttestationKey> {
    const spec = ALGORITHM_SPECS.ECDSA_P256_SHA256 as KeyPairSpec;
    const name: ObjectName = { label: this.label, id: randomBytes(OBJECT_ID_BYTES) };
    const pair = await s.module.C_GenerateKeyPairAsync(s.handle, { mechanism: spec.generate }, spec.publicTemplate(name), spec.privateTemplate(name));
    return { generation: s.generation, privateKey: pair.privateKey, publicKey: pair.publicKey, spki: readSpki(s, pair.publicKey, 'ECDSA_P256_SHA256') };
  }
}
