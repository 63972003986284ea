import type { KeyMaterialStore, VersionHandle, WrappedMaterialRecord } from '@kms/application';
import { keyBackendContract, keyMaterialStoreContract } from '@kms/application/testing';
import { KmsError, type Algorithm } from '@kms/domain';
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { InMemoryKeyMaterialStore } from './in-memory-key-material-store';
import { materialAad } from './key-material';
import { MasterKey } from './master-key';
import { SoftwareKeyBackend } from './software-key-backend';

keyBackendContract('software backend, in-memory store', () => new SoftwareKeyBackend({ store: new InMemoryKeyMaterialStore(), masterKey: MasterKey.generate() }));

keyMaterialStoreContract('in-memory', () => new InMemoryKeyMaterialStore());

/** Wraps the in-memory store to count reads, fail on demand, or hold reads until released. */
class InstrumentedStore implements KeyMaterialStore {
  readonly inner = new InMemoryKeyMaterialStore();
  gets = 0;
  failing = false;
  private held?: Promise<void>;
  private release?: () => void;

  hold(): void {
    this.held = new Promise((resolve) => (this.release = resolve));
  }

  unhold(): void {
    this.release?.();
    this.held = undefined;
  }

  async put(record: WrappedMaterialRecord): Promise<void> {
    if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    await this.inner.put(record);
  }

  async get(materialId: string): Promise<WrappedMaterialRecord | undefined> {
    this.gets += 1;
    if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    // Read first, then wait: a held read has already seen the row, like a query racing a delete.
    const row = await this.inner.get(materialId);
    await this.held;
    return row;
  }

  async delete(materialId: string): Promise<boolean> {
    if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return this.inner.delete(materialId);
  }
}

async function caught(p: Promise<unknown>): Promise<KmsError> {
  const outcome = await p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(KmsError);
  return outcome as KmsError;
}

describe('SoftwareKeyBackend', () => {
  const masterKey = MasterKey.generate();
  let store: InstrumentedStore;
  let backend: SoftwareKeyBackend;

  beforeEach(() => {
    store = new InstrumentedStore();
    backend = new SoftwareKeyBackend({ store, masterKey });
  });

  async function newVersion(algorithm: Algorithm, version = 4): Promise<VersionHandle> {
    const keyId = randomUUID();
    const { materialRef } = await backend.createVersion({ keyId, version, algorithm });
    return { keyId, version, algorithm, materialRef };
  }

  async function storedRecord(h: VersionHandle): Promise<WrappedMaterialRecord> {
    const record = await store.inner.get(h.materialRef);
    if (!record) throw new Error('no row');
    return record;
  }

  function unwrapped(record: WrappedMaterialRecord): Buffer {
    const plain = masterKey.unwrap(record.wrapped, materialAad(record));
    if (!plain) throw new Error('did not unwrap');
    return plain;
  }

  describe('material format and wrapping', () => {
    it('stores AES material as 32 raw bytes, wrapped under the master key and not readable in the row', async () => {
      const h = await newVersion('AES_256_GCM');
      const record = await storedRecord(h);
      expect(record).toMatchObject({ keyId: h.keyId, version: 4, algorithm: 'AES_256_GCM', kekId: masterKey.kekId });
      const raw = unwrapped(record);
      expect(raw.length).toBe(32);
      expect(record.wrapped.includes(raw.subarray(0, 8))).toBe(false);
      // The raw bytes are the AES key: a body made with them by node:crypto decrypts in the backend.
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', raw, iv).setAAD(Buffer.from('aad'));
      const body = Buffer.concat([iv, cipher.update(Buffer.from('hello')), cipher.final(), cipher.getAuthTag()]);
      expect(await backend.decrypt(h, body, Buffer.from('aad'))).toEqual(Buffer.from('hello'));
    });

    it('stores key pairs as PKCS#8 DER whose public half is what getPublicKey returns', async () => {
      const h = await newVersion('ECDSA_P256_SHA256');
      const record = await storedRecord(h);
      const pkcs8 = unwrapped(record);
      const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
      expect(spki).toEqual(await backend.getPublicKey(h));
      expect(record.wrapped.includes(pkcs8.subarray(pkcs8.length - 16))).toBe(false);
    });

    it('a row copied to another material id does not unwrap', async () => {
      const h = await newVersion('HMAC_SHA256');
      const copy = { ...(await storedRecord(h)), materialId: randomUUID() };
      await store.inner.put(copy);
      const err = await caught(backend.mac({ ...h, materialRef: copy.materialId }, Buffer.from('x')));
      expect(err.code).toBe('BACKEND_UNAVAILABLE');
      expect(err.message).toBe('key material for version 4 failed its integrity check');
    });

    it.each([
      ['another version', { version: 5 }],
      ['another key', { keyId: randomUUID() }],
    ])('a handle naming %s for the same material fails, cached or not', async (_what, change) => {
      const h = await newVersion('AES_256_GCM');
      const cold = await caught(backend.encrypt({ ...h, ...change }, Buffer.from('x'), Buffer.alloc(0)));
      expect(cold.code).toBe('BACKEND_UNAVAILABLE');
      await backend.encrypt(h, Buffer.from('x'), Buffer.alloc(0));
      const warm = await caught(backend.encrypt({ ...h, ...change }, Buffer.from('x'), Buffer.alloc(0)));
      expect(warm.code).toBe('BACKEND_UNAVAILABLE');
    });

    it('refuses material wrapped under another master key, without naming the material', async () => {
      const h = await newVersion('AES_256_GCM');
      const other = new SoftwareKeyBackend({ store, masterKey: MasterKey.generate() });
      const err = await caught(other.encrypt(h, Buffer.from('x'), Buffer.alloc(0)));
      expect(err.code).toBe('BACKEND_UNAVAILABLE');
      expect(err.message).toBe('key material for version 4 is wrapped under a master key that is not configured');
    });

    it('wraps a key of a jurisdiction under that jurisdiction\'s master key, and refuses a jurisdiction without one', async () => {
      const eu = MasterKey.generate();
      const multi = new SoftwareKeyBackend({ store, masterKey, jurisdictionMasterKeys: new Map([['eu', eu]]) });
      expect([...multi.jurisdictions()].sort()).toEqual(['default', 'eu']);
      const keyId = randomUUID();
      const { materialRef } = await multi.createVersion({ keyId, version: 1, algorithm: 'AES_256_GCM', jurisdiction: 'eu' });
      expect((await store.get(materialRef))?.kekId).toBe(eu.kekId);
      const h = { keyId, version: 1, algorithm: 'AES_256_GCM' as const, materialRef };
      const body = await multi.encrypt(h, Buffer.from('resident'), Buffer.alloc(0));
      expect(await multi.decrypt(h, body, Buffer.alloc(0))).toEqual(Buffer.from('resident'));
      // Only the eu master key opens it: the default one alone does not.
      expect((await caught(backend.decrypt(h, body, Buffer.alloc(0)))).code).toBe('BACKEND_UNAVAILABLE');
      const refused = await caught(multi.createVersion({ keyId: randomUUID(), version: 1, algorithm: 'AES_256_GCM', jurisdiction: 'us' }));
      expect(refused.code).toBe('INVALID_ARGUMENT');
      expect(refused.field).toBe('jurisdiction');
    });

    it('a new backend with the same master key and store serves existing versions', async () => {
      const h = await newVersion('AES_256_GCM');
      const body = await backend.encrypt(h, Buffer.from('persisted'), Buffer.alloc(0));
      const restarted = new SoftwareKeyBackend({ store, masterKey });
      expect(await restarted.decrypt(h, body, Buffer.alloc(0))).toEqual(Buffer.from('persisted'));
    });
  });

  describe('cache', () => {
    it('reads the store once; later operations do no store I/O', async () => {
      const h = await newVersion('AES_256_GCM');
      for (let i = 0; i < 50; i++) {
        const body = await backend.encrypt(h, Buffer.from(`m${i}`), Buffer.alloc(0));
        await backend.decrypt(h, body, Buffer.alloc(0));
      }
      expect(store.gets).toBe(1);
    });

    it('concurrent first uses share one store read', async () => {
      const h = await newVersion('ED25519');
      store.hold();
      const pending = Array.from({ length: 20 }, () => backend.sign(h, { message: Buffer.from('m') }));
      store.unhold();
      expect(await Promise.all(pending)).toHaveLength(20);
      expect(store.gets).toBe(1);
    });

    it('is bounded: the least recently used version is read again', async () => {
      const small = new SoftwareKeyBackend({ store, masterKey, cacheSize: 2 });
      const [a, b, c] = [await newVersion('HMAC_SHA256'), await newVersion('HMAC_SHA256'), await newVersion('HMAC_SHA256')];
      for (const h of [a, b, a, c]) await small.mac(h, Buffer.from('x'));
      expect(store.gets).toBe(3);
      await small.mac(a, Buffer.from('x'));
      expect(store.gets).toBe(3);
      await small.mac(b, Buffer.from('x'));
      expect(store.gets).toBe(4);
    });

    it('a destroy during a cache fill leaves nothing usable behind', async () => {
      const h = await newVersion('HMAC_SHA256');
      store.hold();
      const inFlight = backend.mac(h, Buffer.from('x'));
      await backend.destroyVersion(h);
      store.unhold();
      // The racing call began before the destroy and may still finish; nothing after the destroy may.
      await inFlight.catch(() => undefined);
      const err = await caught(backend.mac(h, Buffer.from('x')));
      expect(err.message).toBe('key material for version 4 is missing');
    });
  });

  describe('failures', () => {
    it('an unreachable store is BACKEND_UNAVAILABLE for reads, creates and destroys', async () => {
      const h = await newVersion('AES_256_GCM');
      store.failing = true;
      for (const p of [
        backend.encrypt(h, Buffer.from('x'), Buffer.alloc(0)),
        backend.createVersion({ keyId: randomUUID(), version: 1, algorithm: 'HMAC_SHA256' }),
        backend.destroyVersion(h),
      ]) {
        const err = await caught(p);
        expect(err.code).toBe('BACKEND_UNAVAILABLE');
        expect(err.message).toBe('key material store unavailable');
      }
    });

    it('a missing row is BACKEND_UNAVAILABLE naming the version but not the material reference', async () => {
      const h = await newVersion('ECDSA_P256_SHA256');
      await store.inner.delete(h.materialRef);
      const err = await caught(backend.sign(h, { message: Buffer.from('x') }));
      expect(err.code).toBe('BACKEND_UNAVAILABLE');
      expect(err.message).toBe('key material for version 4 is missing');
      expect(err.message).not.toContain(h.materialRef);
    });

    it('an authentication failure says what happened and names the ciphertext field', async () => {
      const h = await newVersion('AES_256_GCM');
      const body = await backend.encrypt(h, Buffer.from('x'), Buffer.from('a'));
      const err = await caught(backend.decrypt(h, body, Buffer.from('b')));
      expect(err).toMatchObject({
        code: 'INVALID_CIPHERTEXT',
        field: 'ciphertext',
        message: 'ciphertext: authentication failed: the ciphertext was altered or the aad does not match',
      });
    });

    it('usage is checked before any store I/O', async () => {
      const h = await newVersion('HMAC_SHA256');
      const err = await caught(backend.encrypt(h, Buffer.from('x'), Buffer.alloc(0)));
      expect(err.code).toBe('USAGE_MISMATCH');
      expect(err.message).toBe('key version 4 (HMAC_SHA256) is for MACs; it cannot encrypt');
      expect(store.gets).toBe(0);
    });

    it('Ed25519 refuses a digest with INVALID_ARGUMENT on field digest', async () => {
      const h = await newVersion('ED25519');
      const err = await caught(backend.sign(h, { digest: randomBytes(32) }));
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'digest' });
      expect(err.message).toContain('Ed25519 signs messages, not digests');
    });

    it.each([
      ['a key id that is not a UUID', 'INVALID_ARGUMENT', 'key_id', { keyId: 'not-a-uuid', version: 1, algorithm: 'AES_256_GCM' }],
      ['version 0', 'INVALID_ARGUMENT', 'version', { keyId: randomUUID(), version: 0, algorithm: 'AES_256_GCM' }],
      ['a fractional version', 'INVALID_ARGUMENT', 'version', { keyId: randomUUID(), version: 1.5, algorithm: 'AES_256_GCM' }],
      ['an unknown algorithm', 'UNSUPPORTED_ALGORITHM', 'algorithm', { keyId: randomUUID(), version: 1, algorithm: 'DES_CBC' }],
    ])('createVersion with %s is %s on field %s, and stores nothing', async (_what, code, field, req) => {
      const err = await caught(backend.createVersion(req as { keyId: string; version: number; algorithm: Algorithm }));
      expect(err).toMatchObject({ code, field });
      expect(store.inner.size).toBe(0);
    });
  });
});

describe('SoftwareKeyBackend.exportSecretMaterial (exportable keys, KMIP Get)', () => {
  it('returns the 32 bytes an AES version encrypts with, and refuses key pairs', async () => {
    const backend = new SoftwareKeyBackend({ store: new InMemoryKeyMaterialStore(), masterKey: MasterKey.generate() });
    const keyId = randomUUID();
    const created = await backend.createVersion({ keyId, version: 1, algorithm: 'AES_256_GCM' });
    const h: VersionHandle = { keyId, version: 1, algorithm: 'AES_256_GCM', materialRef: created.materialRef };
    const material = await backend.exportSecretMaterial(h);
    expect(material.length).toBe(32);
    // What the backend encrypts with is that material: IV | ciphertext | tag under AES-256-GCM.
    const sealed = await backend.encrypt(h, Buffer.from('exported'), Buffer.from('aad'));
    const d = createDecipheriv('aes-256-gcm', material, sealed.subarray(0, 12));
    d.setAAD(Buffer.from('aad'));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    expect(Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]).toString()).toBe('exported');

    const pairId = randomUUID();
    const pair = await backend.createVersion({ keyId: pairId, version: 1, algorithm: 'ECDSA_P256_SHA256' });
    const refused = await caught(backend.exportSecretMaterial({ keyId: pairId, version: 1, algorithm: 'ECDSA_P256_SHA256', materialRef: pair.materialRef }));
    expect(refused.code).toBe('PERMISSION_DENIED');
  });
});
