import { Authorizer, denied, type KeyAccessCheck, UNRESTRICTED_ACCESS } from '../access/authorizer';
import { type Algorithm, CIPHERTEXT_HEADER_LENGTH, GCM_IV_LENGTH, GCM_TAG_LENGTH, type KeyRecord } from '@kms/domain';
import { constants, createHash, createPublicKey, type JsonWebKey, type KeyObject, verify as nodeVerify } from 'node:crypto';
import { CryptoService, type OperationFacts, undecryptableMessage } from './crypto.service';
import { KeyCatalog } from '../keys/key-catalog';
import { ciphertextRef } from '../audit/ciphertext-tracking';
import { type ApplicationFixture, applicationFixture, InMemoryKeyBackend, keyInput, kmsErrorOf, TEST_CALL, TEST_CHANGE } from '../testing/application-fixture';
import { keyBackendContract } from '../testing/key-backend.contract';

// These specs run on the in-memory fake backend: first hold it to the contract every real backend passes.
keyBackendContract('InMemoryKeyBackend (test fake)', () => new InMemoryKeyBackend());

const EMPTY = Buffer.alloc(0);
const KiB = 1024;

function sha256(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

function flipped(b: Buffer, at: number, mask: number): Buffer {
  const copy = Buffer.from(b);
  copy[at] ^= mask;
  return copy;
}

/** Verify with node:crypto and the public key alone, as a client would. */
function verifiesIndependently(algorithm: Algorithm, key: KeyObject, message: Buffer, signature: Buffer): boolean {
  switch (algorithm) {
    case 'ED25519':
      return nodeVerify(null, message, key, signature);
    case 'RSA_PSS_3072_SHA256':
      return nodeVerify('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
    default:
      return nodeVerify('sha256', message, key, signature);
  }
}

describe('CryptoService', () => {
  let app: ApplicationFixture;

  beforeEach(() => {
    app = applicationFixture();
  });

  afterEach(() => app.store.close());

  function createKey(overrides: Parameters<typeof keyInput>[0] = {}): Promise<KeyRecord> {
    return app.lifecycle.createKey(keyInput(overrides), TEST_CHANGE);
  }

  describe('a key the catalog holds and one it must read', () => {
    const aad = Buffer.from('tenant=acme');
    const secret = Buffer.from('held or read');
    /** The same service over a catalog that holds no key yet: every key it uses is read from the store. */
    const cold = () => new CryptoService(new KeyCatalog(app.store), { [app.backend.protectionLevel]: app.backend }, app.clock);
    const refusing: KeyAccessCheck = { check: () => { throw denied('not granted'); }, hidesMissingKeys: true };

    async function outcome(p: Promise<unknown>): Promise<unknown> {
      try {
        const r = (await p) as { keyId?: string; keyVersion?: number };
        return { ok: [r.keyId, r.keyVersion] };
      } catch (e) {
        const err = e as { code?: string; field?: string; message?: string };
        return { error: [err.code, err.field, err.message] };
      }
    }

    it('a held key is used without reading the store, and a key read from the store answers the same, errors and their fields included', async () => {
      const key = await createKey();
      const macKey = await createKey({ algorithm: 'HMAC_SHA256' });
      const missing = '00000000-0000-4000-8000-000000000000';
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, secret, aad);
      const calls = (crypto: CryptoService): Array<Promise<unknown>> => [
        crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, secret, aad),
        crypto.decrypt(UNRESTRICTED_ACCESS, ciphertext, aad),
        crypto.encrypt(refusing, key.keyId, secret, aad),
        crypto.encrypt(refusing, missing, secret, aad),
        crypto.encrypt(UNRESTRICTED_ACCESS, macKey.keyId, secret, aad),
        crypto.encrypt(UNRESTRICTED_ACCESS, missing, secret, aad),
        crypto.reEncrypt(UNRESTRICTED_ACCESS, ciphertext, aad, macKey.keyId, aad),
        crypto.reEncrypt(UNRESTRICTED_ACCESS, ciphertext, aad, missing, aad),
        crypto.generateMac(UNRESTRICTED_ACCESS, macKey.keyId, secret),
      ];
      const reads = jest.spyOn(app.store, 'readStream');
      const held = [];
      for (const call of calls(app.crypto)) held.push(await outcome(call));
      expect(reads.mock.calls.map(([id]) => id).filter((id) => id.endsWith(key.keyId) || id.endsWith(macKey.keyId))).toEqual([]);

      const read = [];
      for (const call of calls(cold())) read.push(await outcome(call));
      expect(reads.mock.calls.map(([id]) => id).filter((id) => id.endsWith(key.keyId))).not.toEqual([]);
      expect(read).toEqual(held);
      expect(held.slice(2).map((o) => (o as { error?: unknown[] }).error?.slice(0, 2))).toEqual([
        ['PERMISSION_DENIED', undefined],
        ['PERMISSION_DENIED', undefined],
        ['USAGE_MISMATCH', 'key_id'],
        ['KEY_NOT_FOUND', 'key_id'],
        ['USAGE_MISMATCH', 'destination_key_id'],
        ['KEY_NOT_FOUND', 'destination_key_id'],
        undefined,
      ]);
    });
  });

  describe('encrypt / decrypt', () => {
    let key: KeyRecord;
    const aad = Buffer.from('tenant=acme;table=cards');

    beforeEach(async () => {
      key = await createKey();
    });

    it('round-trips with aad; the ciphertext names the key and version and does not contain the plaintext', async () => {
      const plaintext = Buffer.from('4111 1111 1111 1111');
      const facts: OperationFacts = {};

      const sealed = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, plaintext, aad, facts);

      expect(sealed).toMatchObject({ keyId: key.keyId, keyVersion: 1 });
      expect(sealed.ciphertext.length).toBe(CIPHERTEXT_HEADER_LENGTH + GCM_IV_LENGTH + plaintext.length + GCM_TAG_LENGTH);
      expect(sealed.ciphertext.subarray(0, 2).toString()).toBe('KM');
      expect(sealed.ciphertext.includes(plaintext)).toBe(false);
      expect(facts).toEqual({
        keyId: key.keyId,
        keyVersion: 1,
        details: { plaintextBytes: plaintext.length, aadBytes: aad.length },
        ciphertexts: { handedOut: { ref: ciphertextRef(sealed.ciphertext), keyId: key.keyId, version: 1 } },
      });

      const opened = await app.crypto.decrypt(UNRESTRICTED_ACCESS, sealed.ciphertext, aad);
      expect(opened).toEqual({ plaintext, keyId: key.keyId, keyVersion: 1, purpose: 'DATA_PROTECTION', tenant: 'acme', jurisdiction: 'default' });
    });

    it('refuses an empty plaintext naming the field; round-trips one byte without aad, and exactly 64 KiB', async () => {
      for (const empty of [EMPTY, undefined]) {
        expect(await kmsErrorOf(app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, empty, undefined))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'plaintext' });
      }
      const one = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.of(1), undefined);
      expect((await app.crypto.decrypt(UNRESTRICTED_ACCESS, one.ciphertext, undefined)).plaintext).toEqual(Buffer.of(1));
      const max = Buffer.alloc(64 * KiB, 7);
      const big = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, max, aad);
      expect((await app.crypto.decrypt(UNRESTRICTED_ACCESS, big.ciphertext, aad)).plaintext.equals(max)).toBe(true);
    });

    it('given a ciphertext with any single byte altered (header, iv, body or tag), then INVALID_CIPHERTEXT and never plaintext', async () => {
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('hi'), aad);
      expect((await app.crypto.decrypt(UNRESTRICTED_ACCESS, ciphertext, aad)).plaintext.toString()).toBe('hi');

      const wrong: string[] = [];
      for (let at = 0; at < ciphertext.length; at++) {
        for (const mask of [0x01, 0x80]) {
          const outcome = await app.crypto.decrypt(UNRESTRICTED_ACCESS, flipped(ciphertext, at, mask), aad).then(
            (r) => `returned plaintext "${r.plaintext.toString()}"`,
            (e: { code?: string; field?: string }) => `${e.code}/${e.field}`,
          );
          if (outcome !== 'INVALID_CIPHERTEXT/ciphertext') wrong.push(`byte ${at} ^ 0x${mask.toString(16)}: ${outcome}`);
        }
      }
      expect(wrong).toEqual([]);
    });

    it('given a ciphertext cut short, then INVALID_CIPHERTEXT; given none, INVALID_ARGUMENT on ciphertext', async () => {
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('hello'), aad);
      for (const cut of [ciphertext.subarray(0, ciphertext.length - 1), ciphertext.subarray(0, 40), ciphertext.subarray(0, 10)]) {
        const err = await kmsErrorOf(app.crypto.decrypt(UNRESTRICTED_ACCESS, cut, aad));
        expect([err.code, err.field]).toEqual(['INVALID_CIPHERTEXT', 'ciphertext']);
      }
      const none = await kmsErrorOf(app.crypto.decrypt(UNRESTRICTED_ACCESS, EMPTY, aad));
      expect([none.code, none.field]).toEqual(['INVALID_ARGUMENT', 'ciphertext']);
    });

    it('given the body of one key moved under the header of another, then INVALID_CIPHERTEXT', async () => {
      const other = await createKey();
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('hello'), aad);
      const { ciphertext: foreign } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, other.keyId, Buffer.from('x'), aad);
      const spliced = Buffer.concat([foreign.subarray(0, CIPHERTEXT_HEADER_LENGTH), ciphertext.subarray(CIPHERTEXT_HEADER_LENGTH)]);
      expect((await kmsErrorOf(app.crypto.decrypt(UNRESTRICTED_ACCESS, spliced, aad))).code).toBe('INVALID_CIPHERTEXT');
    });

    it('given a different, missing or extra aad, then INVALID_CIPHERTEXT', async () => {
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('hello'), aad);
      const bare = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('hello'), EMPTY);
      for (const [ct, wrongAad] of [
        [ciphertext, Buffer.from('tenant=acme;table=carts')],
        [ciphertext, EMPTY],
        [bare.ciphertext, aad],
      ] as const) {
        expect((await kmsErrorOf(app.crypto.decrypt(UNRESTRICTED_ACCESS, ct, wrongAad))).code).toBe('INVALID_CIPHERTEXT');
      }
    });

    it('given plaintext over 64 KiB, then INVALID_ARGUMENT on plaintext', async () => {
      const err = await kmsErrorOf(app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.alloc(64 * KiB + 1), aad));
      expect([err.code, err.field]).toEqual(['INVALID_ARGUMENT', 'plaintext']);
    });

    it('given aad over 8 KiB or plaintext that is not bytes, then INVALID_ARGUMENT naming the field', async () => {
      const bigAad = await kmsErrorOf(app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('x'), Buffer.alloc(8 * KiB + 1)));
      expect([bigAad.code, bigAad.field]).toEqual(['INVALID_ARGUMENT', 'aad']);
      const text = await kmsErrorOf(app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, 'not bytes', aad));
      expect([text.code, text.field]).toEqual(['INVALID_ARGUMENT', 'plaintext']);
    });

    it.each([['payments-key'], [''], [undefined], [42], [`${'0'.repeat(8)}-0000-4000-8000-00000000000`]])(
      'given key id %p, which is not a UUID, then INVALID_ARGUMENT on key_id',
      async (keyId) => {
        const facts: OperationFacts = {};
        const err = await kmsErrorOf(app.crypto.encrypt(UNRESTRICTED_ACCESS, keyId, Buffer.from('x'), aad, facts));
        expect([err.code, err.field]).toEqual(['INVALID_ARGUMENT', 'key_id']);
        expect(facts.keyId).toBeUndefined();
      },
    );

    it('given a UUID that names no key, then KEY_NOT_FOUND on key_id', async () => {
      const err = await kmsErrorOf(app.crypto.encrypt(UNRESTRICTED_ACCESS, '00000000-0000-4000-8000-000000000000', Buffer.from('x'), aad));
      expect([err.code, err.field]).toEqual(['KEY_NOT_FOUND', 'key_id']);
    });
  });

  describe('reEncrypt', () => {
    const sourceAad = Buffer.from('source-context');
    const destinationAad = Buffer.from('destination-context');
    const secret = Buffer.from('re-encrypt me');

    it('to another key: the result is under the destination key and opens only with the destination aad', async () => {
      const source = await createKey();
      const destination = await createKey();
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, source.keyId, secret, sourceAad);
      const facts: OperationFacts = {};

      const out = await app.crypto.reEncrypt(UNRESTRICTED_ACCESS, ciphertext, sourceAad, destination.keyId, destinationAad, facts);

      expect(out).toMatchObject({ keyId: destination.keyId, keyVersion: 1, sourceKeyId: source.keyId, sourceKeyVersion: 1 });
      expect(out.ciphertext.includes(secret)).toBe(false);
      expect((await app.crypto.decrypt(UNRESTRICTED_ACCESS, out.ciphertext, destinationAad)).plaintext).toEqual(secret);
      expect((await kmsErrorOf(app.crypto.decrypt(UNRESTRICTED_ACCESS, out.ciphertext, sourceAad))).code).toBe('INVALID_CIPHERTEXT');
      expect((await kmsErrorOf(app.crypto.decrypt(UNRESTRICTED_ACCESS, out.ciphertext, EMPTY))).code).toBe('INVALID_CIPHERTEXT');
      expect(facts).toEqual({
        keyId: source.keyId,
        keyVersion: 1,
        details: {
          sourceKeyId: source.keyId,
          sourceKeyVersion: 1,
          destinationKeyId: destination.keyId,
          destinationKeyVersion: 1,
        },
        // DATA_PROTECTION keys: the ciphertext moved from the source version to the destination one.
        ciphertexts: { released: ciphertextRef(ciphertext), handedOut: { ref: ciphertextRef(out.ciphertext), keyId: destination.keyId, version: 1 } },
      });
    });

    it("without a destination: moves data to the same key's new primary, which survives raising the minimum decryption version", async () => {
      const key = await createKey();
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, secret, sourceAad);
      await app.lifecycle.rotateKey(key.keyId, 'SCHEDULED', TEST_CHANGE);

      const out = await app.crypto.reEncrypt(UNRESTRICTED_ACCESS, ciphertext, sourceAad, undefined, destinationAad);

      expect(out).toMatchObject({ keyId: key.keyId, keyVersion: 2, sourceKeyId: key.keyId, sourceKeyVersion: 1 });
      expect((await kmsErrorOf(app.crypto.decrypt(UNRESTRICTED_ACCESS, out.ciphertext, sourceAad))).code).toBe('INVALID_CIPHERTEXT');
      await app.lifecycle.setMinDecryptionVersion(key.keyId, 2, TEST_CHANGE);
      expect((await app.crypto.decrypt(UNRESTRICTED_ACCESS, out.ciphertext, destinationAad)).plaintext).toEqual(secret);
      expect((await kmsErrorOf(app.crypto.decrypt(UNRESTRICTED_ACCESS, ciphertext, sourceAad))).code).toBe('KEY_VERSION_BELOW_MIN_DECRYPTION');
    });

    it('given the wrong source aad, then INVALID_CIPHERTEXT on ciphertext', async () => {
      const key = await createKey();
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, secret, sourceAad);
      const err = await kmsErrorOf(app.crypto.reEncrypt(UNRESTRICTED_ACCESS, ciphertext, destinationAad, undefined, destinationAad));
      expect([err.code, err.field]).toEqual(['INVALID_CIPHERTEXT', 'ciphertext']);
    });

    it('given a destination that is not a UUID, then INVALID_ARGUMENT on destination_key_id', async () => {
      const key = await createKey();
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, secret, sourceAad);
      const err = await kmsErrorOf(app.crypto.reEncrypt(UNRESTRICTED_ACCESS, ciphertext, sourceAad, 'elsewhere', destinationAad));
      expect([err.code, err.field]).toEqual(['INVALID_ARGUMENT', 'destination_key_id']);
    });

    it('given a destination that cannot encrypt or does not exist, then the error names destination_key_id', async () => {
      const key = await createKey();
      const macKey = await createKey({ algorithm: 'HMAC_SHA256' });
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, secret, sourceAad);
      const mismatch = await kmsErrorOf(app.crypto.reEncrypt(UNRESTRICTED_ACCESS, ciphertext, sourceAad, macKey.keyId, destinationAad));
      const missing = await kmsErrorOf(app.crypto.reEncrypt(UNRESTRICTED_ACCESS, ciphertext, sourceAad, '00000000-0000-4000-8000-000000000000', destinationAad));
      expect([mismatch.code, mismatch.field, missing.code, missing.field]).toEqual([
        'USAGE_MISMATCH',
        'destination_key_id',
        'KEY_NOT_FOUND',
        'destination_key_id',
      ]);
    });
  });

  describe('a ciphertext the caller cannot decrypt', () => {
    // A workload as the authorizer sees it: key use only where a key policy grants it.
    const WORKLOAD = { identityId: 'b2f3c1de-0000-4000-8000-000000000001', name: 'orders-service', kind: 'WORKLOAD' as const, roles: [], authMethods: [] };
    const OTHER = 'b2f3c1de-0000-4000-8000-000000000002';
    const aad = Buffer.from('tenant=acme');
    const ANSWER = { code: 'INVALID_CIPHERTEXT', message: undecryptableMessage('ciphertext'), field: 'ciphertext' };
    let usable: KeyRecord;
    let forbidden: KeyRecord;
    let own: Buffer;
    let foreign: Buffer;

    beforeEach(async () => {
      usable = await createKey({ policy: { grants: { [WORKLOAD.identityId]: ['ENCRYPT', 'DECRYPT'] } } });
      forbidden = await createKey({ policy: { grants: { [OTHER]: ['ENCRYPT', 'DECRYPT'] } } });
      own = (await app.crypto.encrypt(UNRESTRICTED_ACCESS, usable.keyId, Buffer.from('mine'), aad)).ciphertext;
      foreign = (await app.crypto.encrypt(UNRESTRICTED_ACCESS, forbidden.keyId, Buffer.from('theirs'), aad)).ciphertext;
    });

    /** Decrypt as the workload through the audited executor: the error it gets and the record left behind. */
    async function decryptAsWorkload(ciphertext: Buffer, requestId: string) {
      const access = new Authorizer().forOperation(WORKLOAD, 'Decrypt');
      const error = await kmsErrorOf(app.executor.run({ ...TEST_CALL, requestId }, 'Decrypt', (facts) => app.crypto.decrypt(access, ciphertext, aad, facts)));
      const record = app.audit.records.find((r) => r.requestId === requestId);
      return { answer: { code: error.code, message: error.message, field: error.field }, record };
    }

    it('answers a missing key, a forbidden key and altered header bytes identically; the audit record tells them apart', async () => {
      expect((await app.crypto.decrypt(new Authorizer().forOperation(WORKLOAD, 'Decrypt'), own, aad)).plaintext.toString()).toBe('mine');
      const missingKeyId = flipped(own, 5, 0x01); // the key id bytes now name no key
      const cases = {
        missing: await decryptAsWorkload(missingKeyId, 'req-missing'),
        forbidden: await decryptAsWorkload(foreign, 'req-forbidden'),
        alteredVersion: await decryptAsWorkload(flipped(own, 22, 0x02), 'req-version'),
        alteredMagic: await decryptAsWorkload(flipped(own, 0, 0x01), 'req-magic'),
        alteredTag: await decryptAsWorkload(flipped(own, own.length - 1, 0x01), 'req-tag'),
      };

      for (const c of Object.values(cases)) expect(c.answer).toEqual(ANSWER);
      expect(ANSWER.message).not.toContain(forbidden.keyId);
      expect(ANSWER.message).not.toContain(usable.keyId);
      const audited = Object.fromEntries(
        Object.entries(cases).map(([name, c]) => [name, [c.record?.outcome, c.record?.errorCode, c.record?.keyId, c.record?.details?.['ciphertextRefusal']]]),
      );
      expect(audited).toEqual({
        missing: ['FAILURE', 'INVALID_CIPHERTEXT', missingKeyId.subarray(3, 19).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'), 'KEY_NOT_FOUND'],
        forbidden: ['DENIED', 'INVALID_CIPHERTEXT', forbidden.keyId, 'NO_DECRYPT_GRANT'],
        alteredVersion: ['FAILURE', 'INVALID_CIPHERTEXT', usable.keyId, 'KEY_VERSION_NOT_FOUND'],
        alteredMagic: ['FAILURE', 'INVALID_CIPHERTEXT', undefined, 'UNKNOWN_FORMAT'],
        alteredTag: ['FAILURE', 'INVALID_CIPHERTEXT', usable.keyId, 'AUTHENTICATION_FAILED'],
      });
    });

    it('answers ReEncrypt of such a source the same way, and still refuses a destination key named explicitly with PERMISSION_DENIED', async () => {
      const access = new Authorizer().forOperation(WORKLOAD, 'ReEncrypt');
      for (const source of [foreign, flipped(own, 5, 0x01), flipped(own, 22, 0x02)]) {
        const e = await kmsErrorOf(app.crypto.reEncrypt(access, source, aad, usable.keyId, undefined));
        expect({ code: e.code, message: e.message, field: e.field }).toEqual(ANSWER);
      }
      const explicit = await kmsErrorOf(app.crypto.reEncrypt(access, own, aad, forbidden.keyId, undefined));
      expect([explicit.code, explicit.field]).toEqual(['PERMISSION_DENIED', undefined]);
      const encrypt = await kmsErrorOf(app.crypto.encrypt(new Authorizer().forOperation(WORKLOAD, 'Encrypt'), forbidden.keyId, Buffer.from('x'), aad));
      expect(encrypt.code).toBe('PERMISSION_DENIED');
    });
  });

  describe('generateDataKey', () => {
    const aad = Buffer.from('bucket=invoices');

    it('with plaintext: returns a 32-byte key and its wrapped form, which decrypts to the same bytes', async () => {
      const key = await createKey();
      const facts: OperationFacts = {};
      const out = await app.crypto.generateDataKey(UNRESTRICTED_ACCESS, key.keyId, aad, undefined, false, facts);
      expect(out.plaintext?.length).toBe(32);
      expect(out.keyVersion).toBe(1);
      expect((await app.crypto.decrypt(UNRESTRICTED_ACCESS, out.ciphertext, aad)).plaintext).toEqual(out.plaintext);
      expect((await kmsErrorOf(app.crypto.decrypt(UNRESTRICTED_ACCESS, out.ciphertext, EMPTY))).code).toBe('INVALID_CIPHERTEXT');
      expect(facts.details).toEqual({ dataKeyBytes: 32, withoutPlaintext: false });
      expect(facts.ciphertexts).toEqual({ handedOut: { ref: ciphertextRef(out.ciphertext), keyId: key.keyId, version: 1 } });
    });

    it('without plaintext: returns only the wrapped form, which decrypts to a key of the requested length', async () => {
      const key = await createKey();
      for (const length of [16, 64]) {
        const out = await app.crypto.generateDataKey(UNRESTRICTED_ACCESS, key.keyId, aad, length, true);
        expect(out).not.toHaveProperty('plaintext');
        expect((await app.crypto.decrypt(UNRESTRICTED_ACCESS, out.ciphertext, aad)).plaintext.length).toBe(length);
      }
    });

    it('each call makes a different key', async () => {
      const key = await createKey();
      const a = await app.crypto.generateDataKey(UNRESTRICTED_ACCESS, key.keyId, aad, 32, false);
      const b = await app.crypto.generateDataKey(UNRESTRICTED_ACCESS, key.keyId, aad, 32, false);
      expect(a.plaintext?.equals(b.plaintext ?? EMPTY)).toBe(false);
    });

    it.each([[15], [65], [1.5], ['32']])('given length %p, then INVALID_ARGUMENT on length_bytes', async (length) => {
      const key = await createKey();
      const err = await kmsErrorOf(app.crypto.generateDataKey(UNRESTRICTED_ACCESS, key.keyId, aad, length, false));
      expect([err.code, err.field]).toEqual(['INVALID_ARGUMENT', 'length_bytes']);
    });
  });

  describe.each([
    ['ECDSA_P256_SHA256', 'ES256', true],
    ['ED25519', 'EdDSA', false],
    ['RSA_PSS_3072_SHA256', 'PS256', true],
  ] as const)('sign / verify / getPublicKey with %s', (algorithm, jwsAlg, digestSigning) => {
    const message = Buffer.from('transfer 100 EUR to alice');
    let signing: ApplicationFixture;
    let key: KeyRecord;

    // One key per algorithm for these read-only checks: RSA-3072 generation takes about a second.
    beforeAll(async () => {
      signing = applicationFixture();
      key = await signing.lifecycle.createKey(keyInput({ algorithm }), TEST_CHANGE);
    });

    afterAll(() => signing.store.close());

    it('refuses to sign an empty message, naming the field', async () => {
      expect(await kmsErrorOf(signing.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, Buffer.alloc(0), undefined))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'message' });
    });

    it('a message signature verifies in the service and with node:crypto using the PEM and the JWK', async () => {
      const signed = await signing.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, message, undefined);
      expect(signed).toMatchObject({ keyId: key.keyId, keyVersion: 1, algorithm });

      expect((await signing.crypto.verify(UNRESTRICTED_ACCESS, key.keyId, undefined, message, undefined, signed.signature)).valid).toBe(true);
      expect((await signing.crypto.verify(UNRESTRICTED_ACCESS, key.keyId, undefined, Buffer.from('transfer 900 EUR to alice'), undefined, signed.signature)).valid).toBe(false);
      expect((await signing.crypto.verify(UNRESTRICTED_ACCESS, key.keyId, undefined, message, undefined, flipped(signed.signature, 10, 0x01))).valid).toBe(false);

      const pub = await signing.crypto.getPublicKey(UNRESTRICTED_ACCESS, key.keyId, undefined);
      const jwk = JSON.parse(pub.jwk) as JsonWebKey & { kid: string };
      expect(verifiesIndependently(algorithm, createPublicKey(pub.pem), message, signed.signature)).toBe(true);
      expect(verifiesIndependently(algorithm, createPublicKey({ key: jwk, format: 'jwk' }), message, signed.signature)).toBe(true);
    });

    it('getPublicKey returns PEM and a JWK with kid <keyId>:<version>, and the fingerprint recorded at creation', async () => {
      const pub = await signing.crypto.getPublicKey(UNRESTRICTED_ACCESS, key.keyId, undefined);

      expect(pub).toMatchObject({ keyId: key.keyId, keyVersion: 1, algorithm });
      expect(pub.pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
      expect(JSON.parse(pub.jwk)).toMatchObject({ kid: `${key.keyId}:1`, use: 'sig', alg: jwsAlg });
      const der = createPublicKey(pub.pem).export({ format: 'der', type: 'spki' });
      expect(pub.fingerprint).toBe(sha256(der).toString('hex'));
      expect(pub.fingerprint).toBe(key.versions[0].publicKeyFingerprint);
    });

    if (digestSigning) {
      it('a signature over a SHA-256 digest is a signature over the message', async () => {
        const signed = await signing.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, undefined, sha256(message));
        const pub = await signing.crypto.getPublicKey(UNRESTRICTED_ACCESS, key.keyId, undefined);
        expect(verifiesIndependently(algorithm, createPublicKey(pub.pem), message, signed.signature)).toBe(true);
        expect((await signing.crypto.verify(UNRESTRICTED_ACCESS, key.keyId, undefined, message, undefined, signed.signature)).valid).toBe(true);
        expect((await signing.crypto.verify(UNRESTRICTED_ACCESS, key.keyId, undefined, undefined, sha256(message), signed.signature)).valid).toBe(true);
        expect((await signing.crypto.verify(UNRESTRICTED_ACCESS, key.keyId, undefined, undefined, sha256(Buffer.from('other')), signed.signature)).valid).toBe(false);
      });
    }
  });

  describe('sign / verify across versions and bad input', () => {
    it('after rotation, a version 1 signature verifies with key_version 1, not with the new primary; getPublicKey serves both', async () => {
      const key = await createKey({ algorithm: 'ECDSA_P256_SHA256' });
      const message = Buffer.from('m');
      const old = await app.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, message, undefined);
      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);

      expect((await app.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, message, undefined)).keyVersion).toBe(2);
      expect(await app.crypto.verify(UNRESTRICTED_ACCESS, key.keyId, 1, message, undefined, old.signature)).toMatchObject({ valid: true, keyVersion: 1 });
      expect(await app.crypto.verify(UNRESTRICTED_ACCESS, key.keyId, undefined, message, undefined, old.signature)).toMatchObject({ valid: false, keyVersion: 2 });
      expect(JSON.parse((await app.crypto.getPublicKey(UNRESTRICTED_ACCESS, key.keyId, undefined)).jwk).kid).toBe(`${key.keyId}:2`);
      expect(JSON.parse((await app.crypto.getPublicKey(UNRESTRICTED_ACCESS, key.keyId, 1)).jwk).kid).toBe(`${key.keyId}:1`);
    });

    it('refuses both or neither of message and digest, a digest that is not 32 bytes, and an empty signature, naming the field', async () => {
      const key = await createKey({ algorithm: 'ECDSA_P256_SHA256' });
      const cases: Array<[Promise<unknown>, string]> = [
        [app.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('m'), sha256(Buffer.from('m'))), 'message'],
        [app.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, undefined, undefined), 'message'],
        [app.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, undefined, Buffer.alloc(31)), 'digest'],
        [app.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, Buffer.alloc(64 * KiB + 1), undefined), 'message'],
        [app.crypto.verify(UNRESTRICTED_ACCESS, key.keyId, undefined, Buffer.from('m'), undefined, EMPTY), 'signature'],
        [app.crypto.verify(UNRESTRICTED_ACCESS, key.keyId, -1, Buffer.from('m'), undefined, Buffer.alloc(64)), 'key_version'],
      ];
      for (const [call, field] of cases) {
        const err = await kmsErrorOf(call);
        expect([err.code, err.field]).toEqual(['INVALID_ARGUMENT', field]);
      }
    });
  });

  describe('generateMac / verifyMac', () => {
    it('computes a 32-byte MAC that verifies; other data or a flipped byte do not; old versions verify by number', async () => {
      const key = await createKey({ algorithm: 'HMAC_SHA256' });
      const data = Buffer.from('GET /accounts/42');

      expect(await kmsErrorOf(app.crypto.generateMac(UNRESTRICTED_ACCESS, key.keyId, Buffer.alloc(0)))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'data' });
      const { mac, keyVersion } = await app.crypto.generateMac(UNRESTRICTED_ACCESS, key.keyId, data);

      expect(mac.length).toBe(32);
      expect(keyVersion).toBe(1);
      expect((await app.crypto.generateMac(UNRESTRICTED_ACCESS, key.keyId, data)).mac).toEqual(mac);
      expect((await app.crypto.verifyMac(UNRESTRICTED_ACCESS, key.keyId, undefined, data, mac)).valid).toBe(true);
      expect((await app.crypto.verifyMac(UNRESTRICTED_ACCESS, key.keyId, undefined, Buffer.from('GET /accounts/43'), mac)).valid).toBe(false);
      expect((await app.crypto.verifyMac(UNRESTRICTED_ACCESS, key.keyId, undefined, data, flipped(mac, 31, 0x01))).valid).toBe(false);

      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);
      expect((await app.crypto.generateMac(UNRESTRICTED_ACCESS, key.keyId, data)).keyVersion).toBe(2);
      expect((await app.crypto.verifyMac(UNRESTRICTED_ACCESS, key.keyId, 1, data, mac)).valid).toBe(true);
      expect((await app.crypto.verifyMac(UNRESTRICTED_ACCESS, key.keyId, undefined, data, mac)).valid).toBe(false);
    });
  });

  describe('usage', () => {
    it.each([
      ['sign with an AES key', 'AES_256_GCM', (id: string, app: ApplicationFixture) => app.crypto.sign(UNRESTRICTED_ACCESS, id, Buffer.from('m'), undefined)],
      ['get the public key of an AES key', 'AES_256_GCM', (id: string, app: ApplicationFixture) => app.crypto.getPublicKey(UNRESTRICTED_ACCESS, id, undefined)],
      ['mac with an AES key', 'AES_256_GCM', (id: string, app: ApplicationFixture) => app.crypto.generateMac(UNRESTRICTED_ACCESS, id, Buffer.from('m'))],
      ['encrypt with an HMAC key', 'HMAC_SHA256', (id: string, app: ApplicationFixture) => app.crypto.encrypt(UNRESTRICTED_ACCESS, id, Buffer.from('m'), EMPTY)],
      ['generate a data key with an Ed25519 key', 'ED25519', (id: string, app: ApplicationFixture) => app.crypto.generateDataKey(UNRESTRICTED_ACCESS, id, EMPTY, 32, false)],
      ['mac with an ECDSA key', 'ECDSA_P256_SHA256', (id: string, app: ApplicationFixture) => app.crypto.generateMac(UNRESTRICTED_ACCESS, id, Buffer.from('m'))],
    ] as const)('trying to %s is USAGE_MISMATCH on key_id', async (_case, algorithm, call) => {
      const key = await createKey({ algorithm });
      const err = await kmsErrorOf(call(key.keyId, app));
      expect([err.code, err.field]).toEqual(['USAGE_MISMATCH', 'key_id']);
    });
  });

  describe('facts for the audit record', () => {
    it('are filled when the call fails after the key version is known', async () => {
      const key = await createKey({ algorithm: 'ECDSA_P256_SHA256' });
      // The version's material is gone: the backend fails after the service resolved key and version.
      await app.backend.destroyVersion({ keyId: key.keyId, version: 1, algorithm: 'ECDSA_P256_SHA256', materialRef: key.versions[0].materialRef });
      const facts: OperationFacts = {};
      expect((await kmsErrorOf(app.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('m'), undefined, facts))).code).toBe('BACKEND_UNAVAILABLE');
      expect(facts).toMatchObject({ keyId: key.keyId, keyVersion: 1 });
    });

    it('carry the key and version from the ciphertext header when decryption fails', async () => {
      const key = await createKey();
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('x'), Buffer.from('a'));
      const facts: OperationFacts = {};
      expect((await kmsErrorOf(app.crypto.decrypt(UNRESTRICTED_ACCESS, ciphertext, Buffer.from('b'), facts))).code).toBe('INVALID_CIPHERTEXT');
      expect(facts).toEqual({ keyId: key.keyId, keyVersion: 1, details: { ciphertextRefusal: 'AUTHENTICATION_FAILED' } });
    });

    it('carry the key id when the key is known but refuses the operation', async () => {
      const aes = await createKey();
      const usage: OperationFacts = {};
      await kmsErrorOf(app.crypto.sign(UNRESTRICTED_ACCESS, aes.keyId, Buffer.from('m'), undefined, usage));
      expect(usage.keyId).toBe(aes.keyId);

      await app.lifecycle.disableKeyVersion(aes.keyId, 1, TEST_CHANGE);
      const disabled: OperationFacts = {};
      expect((await kmsErrorOf(app.crypto.encrypt(UNRESTRICTED_ACCESS, aes.keyId, Buffer.from('m'), EMPTY, disabled))).code).toBe('KEY_DISABLED');
      expect(disabled.keyId).toBe(aes.keyId);
    });

    it('carry the verification result', async () => {
      const key = await createKey({ algorithm: 'HMAC_SHA256' });
      const facts: OperationFacts = {};
      await app.crypto.verifyMac(UNRESTRICTED_ACCESS, key.keyId, undefined, Buffer.from('d'), Buffer.alloc(32), facts);
      expect(facts).toEqual({ keyId: key.keyId, keyVersion: 1, details: { valid: false } });
    });
  });

  describe('generateRandom', () => {
    it('returns the requested number of bytes, from 1 to 1024', () => {
      expect(app.crypto.generateRandom(1).length).toBe(1);
      expect(app.crypto.generateRandom(1024).length).toBe(1024);
      for (const bad of [0, 1025, 2.5, '8']) {
        expect(() => app.crypto.generateRandom(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'length_bytes' }));
      }
    });
  });
});
