import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { ALGORITHMS, ALGORITHM_USAGE, ASYMMETRIC_USAGES, KmsError, type Algorithm, type KeyUsage, type KmsErrorCode } from '@kms/domain';
import { constants, createHash, createPublicKey, publicEncrypt, randomBytes, randomUUID, verify, type KeyObject } from 'node:crypto';
import type { CreatedVersionMaterial, KeyBackend, VersionHandle } from '../ports/key-backend.port';
import type { KeyMaterialStore, WrappedMaterialRecord } from '../ports/key-material-store.port';

export interface KeyBackendContractOptions {
  /** Sign algorithms that accept a caller-computed SHA-256 digest. Default: ECDSA P-256 and RSA-PSS 3072. */
  digestSigning?: readonly Algorithm[];
}

interface Version {
  handle: VersionHandle;
  created: CreatedVersionMaterial;
}

const GCM_IV = 12;
const GCM_TAG = 16;
const EMPTY = Buffer.alloc(0);

async function rejection(p: Promise<unknown>): Promise<KmsError> {
  const outcome = await p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(KmsError);
  return outcome as KmsError;
}

async function expectKmsError(p: Promise<unknown>, code: KmsErrorCode, field?: string): Promise<void> {
  const err = await rejection(p);
  expect(err.code).toBe(code);
  if (field !== undefined) expect(err.field).toBe(field);
}

function flipped(b: Buffer, at: number): Buffer {
  const copy = Buffer.from(b);
  copy[at] ^= 0x01;
  return copy;
}

function sha256(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

/** DER AlgorithmIdentifier of ML-DSA-65 (id-ml-dsa-65) and ML-KEM-768 (id-alg-ml-kem-768), as they open the SPKI. */
const PQ_SPKI_PREFIX: Partial<Record<Algorithm, Buffer>> = {
  ML_DSA_65: Buffer.from('308207b2300b0609608648016503040312038207a100', 'hex'),
  ML_KEM_768: Buffer.from('308204b2300b0609608648016503040402038204a100', 'hex'),
};

/** The raw public key inside a post-quantum SPKI, checked against the expected AlgorithmIdentifier. */
function postQuantumPublicKey(algorithm: Algorithm, spki: Buffer): Uint8Array {
  const prefix = PQ_SPKI_PREFIX[algorithm] ?? Buffer.alloc(0);
  expect(spki.subarray(0, prefix.length).toString('hex')).toBe(prefix.toString('hex'));
  return new Uint8Array(spki.subarray(prefix.length));
}

/** Verify with node:crypto alone, as a client holding only the DER SPKI would. */
function verifyIndependently(algorithm: Algorithm, spki: KeyObject, message: Buffer, signature: Buffer): boolean {
  switch (algorithm) {
    case 'ECDSA_P256_SHA256':
      return verify('sha256', message, spki, signature);
    case 'RSA_PSS_3072_SHA256':
      // MGF1 uses the signature hash (SHA-256) unless told otherwise.
      return verify('sha256', message, { key: spki, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
    case 'ED25519':
      return verify(null, message, spki, signature);
    default:
      throw new Error(`${algorithm} does not sign`);
  }
}

const EXPECTED_KEY_SHAPE: Partial<Record<Algorithm, (k: KeyObject) => boolean>> = {
  ECDSA_P256_SHA256: (k) => k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1',
  ED25519: (k) => k.asymmetricKeyType === 'ed25519',
  RSA_PSS_3072_SHA256: (k) => (k.asymmetricKeyType === 'rsa' || k.asymmetricKeyType === 'rsa-pss') && k.asymmetricKeyDetails?.modulusLength === 3072,
};

interface Operation {
  name: string;
  usages: readonly KeyUsage[];
  run(b: KeyBackend, h: VersionHandle): Promise<unknown>;
}

const OPERATIONS: readonly Operation[] = [
  { name: 'encrypt', usages: ['ENCRYPT_DECRYPT'], run: (b, h) => b.encrypt(h, Buffer.from('x'), EMPTY) },
  { name: 'decrypt', usages: ['ENCRYPT_DECRYPT'], run: (b, h) => b.decrypt(h, randomBytes(GCM_IV + 8 + GCM_TAG), EMPTY) },
  { name: 'sign', usages: ['SIGN_VERIFY'], run: (b, h) => b.sign(h, { message: Buffer.from('x') }) },
  { name: 'verify', usages: ['SIGN_VERIFY'], run: (b, h) => b.verify(h, { message: Buffer.from('x') }, randomBytes(64)) },
  { name: 'getPublicKey', usages: ASYMMETRIC_USAGES, run: (b, h) => b.getPublicKey(h) },
  { name: 'mac', usages: ['MAC'], run: (b, h) => b.mac(h, Buffer.from('x')) },
  { name: 'verifyMac', usages: ['MAC'], run: (b, h) => b.verifyMac(h, Buffer.from('x'), randomBytes(32)) },
  { name: 'asymmetricDecrypt', usages: ['ASYMMETRIC_DECRYPT'], run: (b, h) => b.asymmetricDecrypt(h, randomBytes(384)) },
  { name: 'decapsulate', usages: ['KEY_ENCAPSULATION'], run: (b, h) => b.decapsulate(h, randomBytes(1088)) },
];

/** One successful use of a version, whatever its usage. */
function exercise(b: KeyBackend, h: VersionHandle): Promise<unknown> {
  switch (ALGORITHM_USAGE[h.algorithm]) {
    case 'ENCRYPT_DECRYPT':
      return b.encrypt(h, Buffer.from('still here'), EMPTY);
    case 'MAC':
      return b.mac(h, Buffer.from('still here'));
    case 'SIGN_VERIFY':
      return b.sign(h, { message: Buffer.from('still here') });
    case 'ASYMMETRIC_DECRYPT':
    case 'KEY_ENCAPSULATION':
      // Needs the private key: a public key alone may be cached.
      return b.getPublicKey(h).then((spki) =>
        ALGORITHM_USAGE[h.algorithm] === 'KEY_ENCAPSULATION'
          ? b.decapsulate(h, Buffer.from(ml_kem768.encapsulate(postQuantumPublicKey(h.algorithm, spki)).cipherText))
          : b.asymmetricDecrypt(h, publicEncrypt({ key: createPublicKey({ key: spki, format: 'der', type: 'spki' }), oaepHash: 'sha256' }, Buffer.from('x'))),
      );
  }
}

/**
 * The behaviour every KeyBackend adapter must show. `factory` is called once, when the suite is
 * collected, so `supports()` decides which tests exist; it must do no I/O (connect on first use).
 * Algorithms the backend does not support get no tests.
 */
export function keyBackendContract(name: string, factory: () => KeyBackend, options: KeyBackendContractOptions = {}): void {
  const digestSigning = options.digestSigning ?? ['ECDSA_P256_SHA256', 'RSA_PSS_3072_SHA256'];

  describe(`KeyBackend contract: ${name}`, () => {
    const backend = factory();
    const algorithms = ALGORITHMS.filter((a) => backend.supports(a));

    async function newVersion(algorithm: Algorithm, version = 1): Promise<Version> {
      const keyId = randomUUID();
      const created = await backend.createVersion({ keyId, version, algorithm });
      return { created, handle: { keyId, version, algorithm, materialRef: created.materialRef } };
    }

    it('names a protection level and supports at least one algorithm', () => {
      expect(['SOFTWARE', 'HSM']).toContain(backend.protectionLevel);
      expect(algorithms.length).toBeGreaterThan(0);
    });

    for (const algorithm of algorithms) {
      const usage = ALGORITHM_USAGE[algorithm];

      describe(algorithm, () => {
        let v: Version;
        beforeAll(async () => {
          v = await newVersion(algorithm);
        });

        it('createVersion returns a material reference, and a public key fingerprint exactly for key pairs', async () => {
          expect(typeof v.created.materialRef).toBe('string');
          expect(v.created.materialRef.length).toBeGreaterThan(0);
          if (ASYMMETRIC_USAGES.includes(usage)) {
            expect(v.created.publicKeyFingerprint).toBe(sha256(await backend.getPublicKey(v.handle)).toString('hex'));
          } else {
            expect(v.created.publicKeyFingerprint).toBeUndefined();
          }
          const other = await newVersion(algorithm, 2);
          expect(other.created.materialRef).not.toBe(v.created.materialRef);
        });

        if (usage === 'ENCRYPT_DECRYPT') {
          describe('encrypt / decrypt', () => {
            const plaintext = Buffer.from('attack at dawn');
            const aad = Buffer.from('tenant=acme');

            it('round-trips with aad; the body is IV | ciphertext | tag', async () => {
              const body = await backend.encrypt(v.handle, plaintext, aad);
              expect(body.length).toBe(GCM_IV + plaintext.length + GCM_TAG);
              expect(body.includes(plaintext)).toBe(false);
              expect(await backend.decrypt(v.handle, body, aad)).toEqual(plaintext);
            });

            it('round-trips empty plaintext without aad, and 1 MiB', async () => {
              expect(await backend.decrypt(v.handle, await backend.encrypt(v.handle, EMPTY, EMPTY), EMPTY)).toEqual(EMPTY);
              const big = randomBytes(1 << 20);
              expect((await backend.decrypt(v.handle, await backend.encrypt(v.handle, big, aad), aad)).equals(big)).toBe(true);
            });

            it('uses a fresh IV: two encryptions of the same input differ', async () => {
              const a = await backend.encrypt(v.handle, plaintext, aad);
              const b = await backend.encrypt(v.handle, plaintext, aad);
              expect(a.subarray(0, GCM_IV).equals(b.subarray(0, GCM_IV))).toBe(false);
              expect(a.equals(b)).toBe(false);
            });

            it.each([
              ['the IV', 0],
              ['the ciphertext', GCM_IV + 3],
              ['the tag', GCM_IV + 14 + 5],
            ])('refuses a body with a byte of %s altered: INVALID_CIPHERTEXT', async (_part, at) => {
              const body = await backend.encrypt(v.handle, plaintext, aad);
              await expectKmsError(backend.decrypt(v.handle, flipped(body, at), aad), 'INVALID_CIPHERTEXT', 'ciphertext');
            });

            it('refuses altered or missing aad, and a truncated body: INVALID_CIPHERTEXT', async () => {
              const body = await backend.encrypt(v.handle, plaintext, aad);
              await expectKmsError(backend.decrypt(v.handle, body, Buffer.from('tenant=acmf')), 'INVALID_CIPHERTEXT', 'ciphertext');
              await expectKmsError(backend.decrypt(v.handle, body, EMPTY), 'INVALID_CIPHERTEXT', 'ciphertext');
              await expectKmsError(backend.decrypt(v.handle, body.subarray(0, body.length - 1), aad), 'INVALID_CIPHERTEXT', 'ciphertext');
              await expectKmsError(backend.decrypt(v.handle, body.subarray(0, GCM_IV + GCM_TAG - 1), aad), 'INVALID_CIPHERTEXT', 'ciphertext');
            });

            it("another version's key cannot decrypt it", async () => {
              const other = await newVersion(algorithm);
              const body = await backend.encrypt(v.handle, plaintext, aad);
              await expectKmsError(backend.decrypt(other.handle, body, aad), 'INVALID_CIPHERTEXT', 'ciphertext');
            });
          });
        }

        if (usage === 'SIGN_VERIFY' && algorithm === 'ML_DSA_65') {
          describe('sign / verify (ML-DSA-65)', () => {
            const message = Buffer.from('pay 100 to alice');

            it('a signature verifies in the backend and with the public key alone (FIPS 204, empty context)', async () => {
              const publicKey = postQuantumPublicKey(algorithm, await backend.getPublicKey(v.handle));
              const signature = await backend.sign(v.handle, { message });
              expect(signature.length).toBe(ml_dsa65.lengths.signature);
              expect(await backend.verify(v.handle, { message }, signature)).toBe(true);
              expect(ml_dsa65.verify(signature, message, publicKey)).toBe(true);
            });

            it('verify is false, not an error, for a flipped byte, another message, garbage or another version', async () => {
              const signature = await backend.sign(v.handle, { message });
              expect(await backend.verify(v.handle, { message }, flipped(signature, signature.length >> 1))).toBe(false);
              expect(await backend.verify(v.handle, { message: Buffer.from('pay 900 to alice') }, signature)).toBe(false);
              expect(await backend.verify(v.handle, { message }, EMPTY)).toBe(false);
              expect(await backend.verify(v.handle, { message }, randomBytes(signature.length))).toBe(false);
              const other = await newVersion(algorithm);
              expect(await backend.verify(other.handle, { message }, signature)).toBe(false);
            });

            it('refuses digest input, naming field digest', async () => {
              const err = await rejection(backend.sign(v.handle, { digest: sha256(message) }));
              expect(['INVALID_ARGUMENT', 'UNSUPPORTED_ALGORITHM']).toContain(err.code);
              expect(err.field).toBe('digest');
            });
          });
        }

        if (usage === 'ASYMMETRIC_DECRYPT') {
          describe('asymmetricDecrypt (RSA-OAEP-SHA256)', () => {
            let publicKey: KeyObject;
            beforeAll(async () => {
              publicKey = createPublicKey({ key: await backend.getPublicKey(v.handle), format: 'der', type: 'spki' });
            });

            it('decrypts what node:crypto encrypted offline with the public key', async () => {
              expect(publicKey.asymmetricKeyType).toBe('rsa');
              expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
              const secret = randomBytes(48);
              const ciphertext = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
              expect((await backend.asymmetricDecrypt(v.handle, ciphertext)).equals(secret)).toBe(true);
            });

            it('refuses an altered ciphertext, a wrong length and another version: INVALID_CIPHERTEXT', async () => {
              const ciphertext = publicEncrypt({ key: publicKey, oaepHash: 'sha256' }, Buffer.from('attack at dawn'));
              await expectKmsError(backend.asymmetricDecrypt(v.handle, flipped(ciphertext, 100)), 'INVALID_CIPHERTEXT', 'ciphertext');
              await expectKmsError(backend.asymmetricDecrypt(v.handle, ciphertext.subarray(1)), 'INVALID_CIPHERTEXT', 'ciphertext');
              const other = await newVersion(algorithm);
              await expectKmsError(backend.asymmetricDecrypt(other.handle, ciphertext), 'INVALID_CIPHERTEXT', 'ciphertext');
            });
          });
        }

        if (usage === 'KEY_ENCAPSULATION') {
          describe('decapsulate (ML-KEM-768)', () => {
            it('recovers the shared secret of an encapsulation made with the public key alone (FIPS 203)', async () => {
              const publicKey = postQuantumPublicKey(algorithm, await backend.getPublicKey(v.handle));
              const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey);
              expect((await backend.decapsulate(v.handle, Buffer.from(cipherText))).equals(Buffer.from(sharedSecret))).toBe(true);
            });

            it('an altered ciphertext yields another secret (implicit rejection); a wrong length is INVALID_CIPHERTEXT', async () => {
              const publicKey = postQuantumPublicKey(algorithm, await backend.getPublicKey(v.handle));
              const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey);
              const altered = await backend.decapsulate(v.handle, flipped(Buffer.from(cipherText), 7));
              expect(altered.equals(Buffer.from(sharedSecret))).toBe(false);
              await expectKmsError(backend.decapsulate(v.handle, Buffer.from(cipherText).subarray(1)), 'INVALID_CIPHERTEXT', 'ciphertext');
            });
          });
        }

        if (usage === 'SIGN_VERIFY' && algorithm !== 'ML_DSA_65') {
          describe('sign / verify', () => {
            const message = Buffer.from('pay 100 to alice');
            let publicKey: KeyObject;
            beforeAll(async () => {
              publicKey = createPublicKey({ key: await backend.getPublicKey(v.handle), format: 'der', type: 'spki' });
            });

            it('getPublicKey returns a DER SPKI of the right key type', () => {
              expect(EXPECTED_KEY_SHAPE[algorithm]?.(publicKey)).toBe(true);
            });

            it('a message signature verifies, in the backend and with node:crypto and the public key alone', async () => {
              const signature = await backend.sign(v.handle, { message });
              expect(await backend.verify(v.handle, { message }, signature)).toBe(true);
              expect(verifyIndependently(algorithm, publicKey, message, signature)).toBe(true);
            });

            it('verify is false, not an error, for a flipped byte, another message, garbage or another version', async () => {
              const signature = await backend.sign(v.handle, { message });
              expect(await backend.verify(v.handle, { message }, flipped(signature, signature.length >> 1))).toBe(false);
              expect(await backend.verify(v.handle, { message }, flipped(signature, signature.length - 1))).toBe(false);
              expect(await backend.verify(v.handle, { message: Buffer.from('pay 900 to alice') }, signature)).toBe(false);
              expect(await backend.verify(v.handle, { message }, EMPTY)).toBe(false);
              expect(await backend.verify(v.handle, { message }, randomBytes(signature.length))).toBe(false);
              const other = await newVersion(algorithm);
              expect(await backend.verify(other.handle, { message }, signature)).toBe(false);
            });

            if (digestSigning.includes(algorithm)) {
              it('a digest signature is a signature over the original message', async () => {
                const digest = sha256(message);
                const signature = await backend.sign(v.handle, { digest });
                expect(verifyIndependently(algorithm, publicKey, message, signature)).toBe(true);
                expect(await backend.verify(v.handle, { message }, signature)).toBe(true);
                expect(await backend.verify(v.handle, { digest }, signature)).toBe(true);
                const messageSignature = await backend.sign(v.handle, { message });
                expect(await backend.verify(v.handle, { digest }, messageSignature)).toBe(true);
              });

              it('digest verify is false for a flipped byte, another digest or garbage', async () => {
                const digest = sha256(message);
                const signature = await backend.sign(v.handle, { digest });
                expect(await backend.verify(v.handle, { digest }, flipped(signature, signature.length >> 1))).toBe(false);
                expect(await backend.verify(v.handle, { digest: sha256(Buffer.from('other')) }, signature)).toBe(false);
                expect(await backend.verify(v.handle, { digest }, randomBytes(signature.length))).toBe(false);
                expect(await backend.verify(v.handle, { digest }, EMPTY)).toBe(false);
              });

              it('a digest that is not 32 bytes is INVALID_ARGUMENT on field digest', async () => {
                await expectKmsError(backend.sign(v.handle, { digest: randomBytes(31) }), 'INVALID_ARGUMENT', 'digest');
                await expectKmsError(backend.sign(v.handle, { digest: randomBytes(33) }), 'INVALID_ARGUMENT', 'digest');
                await expectKmsError(backend.verify(v.handle, { digest: randomBytes(20) }, randomBytes(64)), 'INVALID_ARGUMENT', 'digest');
              });
            } else {
              it('refuses digest input, naming field digest', async () => {
                const err = await rejection(backend.sign(v.handle, { digest: sha256(message) }));
                expect(['INVALID_ARGUMENT', 'UNSUPPORTED_ALGORITHM']).toContain(err.code);
                expect(err.field).toBe('digest');
              });
            }
          });
        }

        if (usage === 'MAC') {
          describe('mac / verifyMac', () => {
            const data = Buffer.from('GET /accounts/42');

            it('computes a deterministic 32-byte MAC that verifies', async () => {
              const mac = await backend.mac(v.handle, data);
              expect(mac.length).toBe(32);
              expect((await backend.mac(v.handle, data)).equals(mac)).toBe(true);
              expect(await backend.verifyMac(v.handle, data, mac)).toBe(true);
            });

            it('verifyMac is false for a flipped byte, a wrong length, other data or another version', async () => {
              const mac = await backend.mac(v.handle, data);
              expect(await backend.verifyMac(v.handle, data, flipped(mac, 0))).toBe(false);
              expect(await backend.verifyMac(v.handle, data, flipped(mac, 31))).toBe(false);
              expect(await backend.verifyMac(v.handle, data, mac.subarray(0, 31))).toBe(false);
              expect(await backend.verifyMac(v.handle, data, Buffer.concat([mac, Buffer.of(0)]))).toBe(false);
              expect(await backend.verifyMac(v.handle, data, EMPTY)).toBe(false);
              expect(await backend.verifyMac(v.handle, Buffer.from('GET /accounts/43'), mac)).toBe(false);
              const other = await newVersion(algorithm);
              expect(await backend.verifyMac(other.handle, data, mac)).toBe(false);
            });
          });
        }

        for (const op of OPERATIONS.filter((o) => !o.usages.includes(usage))) {
          it(`refuses ${op.name} with USAGE_MISMATCH`, async () => {
            await expectKmsError(op.run(backend, v.handle), 'USAGE_MISMATCH');
          });
        }

        it('destroyVersion makes later use fail, and is idempotent', async () => {
          const doomed = await newVersion(algorithm);
          await exercise(backend, doomed.handle);
          await backend.destroyVersion(doomed.handle);
          await rejection(exercise(backend, doomed.handle));
          await expect(backend.destroyVersion(doomed.handle)).resolves.toBeUndefined();
          // Other versions are untouched.
          await exercise(backend, v.handle);
        });

        it('discardVersion forgets the material, and is idempotent', async () => {
          const lost = await newVersion(algorithm);
          await backend.discardVersion(lost.handle);
          await rejection(exercise(backend, lost.handle));
          await expect(backend.discardVersion(lost.handle)).resolves.toBeUndefined();
        });
      });
    }
  });
}

/** The behaviour every KeyMaterialStore adapter must show. `factory` is called once per test. */
export function keyMaterialStoreContract(name: string, factory: () => KeyMaterialStore): void {
  describe(`KeyMaterialStore contract: ${name}`, () => {
    function record(overrides: Partial<WrappedMaterialRecord> = {}): WrappedMaterialRecord {
      return {
        materialId: randomUUID(),
        keyId: randomUUID(),
        version: 3,
        algorithm: 'AES_256_GCM',
        kekId: '0123456789abcdef',
        wrapped: randomBytes(61),
        createdAt: new Date('2025-03-01T12:34:56.789Z'),
        ...overrides,
      };
    }

    it('get returns what put stored', async () => {
      const store = factory();
      const r = record({ algorithm: 'RSA_PSS_3072_SHA256', version: 7 });
      await store.put(r);
      expect(await store.get(r.materialId)).toEqual(r);
    });

    it('get of an unknown id is undefined', async () => {
      expect(await factory().get(randomUUID())).toBeUndefined();
    });

    it('put refuses an existing material id and keeps the first row', async () => {
      const store = factory();
      const r = record();
      await store.put(r);
      await expect(store.put({ ...r, wrapped: randomBytes(61) })).rejects.toThrow();
      expect((await store.get(r.materialId))?.wrapped).toEqual(r.wrapped);
    });

    it('delete removes only that row and reports whether it existed', async () => {
      const store = factory();
      const a = record();
      const b = record({ keyId: a.keyId, version: a.version + 1 });
      await store.put(a);
      await store.put(b);
      expect(await store.delete(a.materialId)).toBe(true);
      expect(await store.delete(a.materialId)).toBe(false);
      expect(await store.get(a.materialId)).toBeUndefined();
      expect(await store.get(b.materialId)).toEqual(b);
    });
  });
}
