import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import {
  KEY_ORIGIN_STATEMENT_TYPE,
  buildKeyOriginStatement,
  provesHsmCustodyOfImport,
  provesHsmOrigin,
  signKeyOriginStatement,
  statementDisagreement,
  verifySignedStatement,
  type KeyOriginStatementInput,
  type SignedKeyOriginStatement,
} from './key-origin-statement';

function attestationKey(): { privateKey: KeyObject; pem: string; fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    privateKey,
    pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    fingerprint: createHash('sha256').update(der).digest('hex'),
  };
}

function signerOf(privateKey: KeyObject): { sign(data: Buffer): Promise<Buffer> } {
  return { sign: async (data) => sign('sha256', data, privateKey) };
}

const subjectKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });

function input(attestationKeyFingerprint: string): KeyOriginStatementInput {
  return {
    keyId: '1f0e4c52-8c1c-4a43-9a2b-2f1d7f6c9e10',
    version: 3,
    algorithm: 'ECDSA_P256_SHA256',
    protectionLevel: 'HSM',
    createdAt: new Date('2026-03-01T09:00:00.000Z'),
    issuedAt: '2026-03-02T10:30:00Z',
    publicKeySpkiBase64: subjectKey.toString('base64'),
    keyFingerprint: createHash('sha256').update(subjectKey).digest('hex'),
    origin: {
      attributes: { local: true, neverExtractable: true, sensitive: true, extractable: false },
      module: {
        manufacturer: 'SoftHSM project',
        model: 'SoftHSM v2',
        serialNumber: 'fdcfceb6bf040f5c',
        firmwareVersion: '2.6',
        hardwareVersion: '2.6',
        tokenLabel: 'kms',
        libraryDescription: 'Implementation of PKCS11',
      },
      objectLabel: 'kms:1f0e4c52-8c1c-4a43-9a2b-2f1d7f6c9e10:v3',
      objectId: '00112233445566778899aabbccddeeff',
    },
    attestationKeyFingerprint,
  };
}

describe('key-origin statement', () => {
  const key = attestationKey();
  let signed: SignedKeyOriginStatement;

  beforeAll(async () => {
    signed = await signKeyOriginStatement(buildKeyOriginStatement(input(key.fingerprint)), signerOf(key.privateKey));
  });

  describe('buildKeyOriginStatement', () => {
    it('adds the type, normalises times to ISO UTC and keeps only the named fields', () => {
      const base = input(key.fingerprint);
      const statement = buildKeyOriginStatement({
        ...base,
        origin: { ...base.origin, extra: 'not signed' } as typeof base.origin,
      });
      expect(statement.type).toBe(KEY_ORIGIN_STATEMENT_TYPE);
      expect(statement.createdAt).toBe('2026-03-01T09:00:00.000Z');
      expect(statement.issuedAt).toBe('2026-03-02T10:30:00.000Z');
      expect(JSON.stringify(statement)).not.toContain('not signed');
      expect(statement.origin.module.serialNumber).toBe('fdcfceb6bf040f5c');
    });

    it('omits absent optional fields instead of writing null', () => {
      const { publicKeySpkiBase64: _p, keyFingerprint: _k, ...symmetric } = input(key.fingerprint);
      const statement = buildKeyOriginStatement({ ...symmetric, algorithm: 'AES_256_GCM', origin: { ...symmetric.origin, checkValue: '011f3f' } });
      expect(Object.keys(statement)).not.toContain('publicKeySpkiBase64');
      expect(Object.keys(statement)).not.toContain('keyFingerprint');
      expect(canonicalJson(statement)).toContain('"checkValue":"011f3f"');
    });

    it.each([
      ['a version of 0', { version: 0 }, 'version must be a whole number from 1'],
      ['an invalid time', { createdAt: 'yesterday' }, 'createdAt must be a valid time'],
      ['a short fingerprint', { keyFingerprint: 'abcd' }, 'keyFingerprint must be 64 lower-case hex characters'],
      ['junk base64', { publicKeySpkiBase64: 'not base64!' }, 'publicKeySpkiBase64 must be padded base64'],
    ])('refuses %s', (_what, change, message) => {
      expect(() => buildKeyOriginStatement({ ...input(key.fingerprint), ...change })).toThrow(message);
    });
  });

  describe('verifySignedStatement', () => {
    it('accepts the untampered statement, as an object and as JSON with other whitespace and key order', () => {
      expect(verifySignedStatement(signed.statement, signed.signature, key.pem)).toEqual({ valid: true, statement: signed.statement });
      const reversed = (v: unknown): unknown =>
        typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
      const reordered = JSON.stringify(reversed(signed.statement), null, 4);
      expect(reordered.indexOf('"type"')).toBeGreaterThan(reordered.indexOf('"keyId"'));
      const spaced = `\n  ${JSON.stringify(signed.statement, null, 2)}\n`;
      expect(verifySignedStatement(spaced, signed.signature, key.pem).valid).toBe(true);
      expect(verifySignedStatement(reordered, signed.signature, key.pem).valid).toBe(true);
    });

    it.each<[string, (s: Record<string, unknown>) => void]>([
      ['the version', (s) => (s['version'] = 4)],
      ['the key id', (s) => (s['keyId'] = '2f0e4c52-8c1c-4a43-9a2b-2f1d7f6c9e10')],
      ['the serial number', (s) => ((s['origin'] as { module: { serialNumber: string } }).module.serialNumber = 'fdcfceb6bf040f5d')],
      ['an attribute', (s) => ((s['origin'] as { attributes: { extractable: boolean } }).attributes.extractable = true)],
      ['the creation time', (s) => (s['createdAt'] = '2026-03-01T09:00:00.001Z')],
      ['an added field', (s) => (s['note'] = 'hello')],
    ])('refuses a statement with %s changed', (_what, tamper) => {
      const copy = JSON.parse(JSON.stringify(signed.statement)) as Record<string, unknown>;
      tamper(copy);
      const result = verifySignedStatement(JSON.stringify(copy), signed.signature, key.pem);
      expect(result).toEqual({ valid: false, reason: 'the signature does not match the statement: it was altered or signed by another key' });
    });

    it('refuses a signature with one byte changed, at the start, middle or end', () => {
      const bytes = Buffer.from(signed.signature, 'base64');
      for (const at of [0, bytes.length >> 1, bytes.length - 1]) {
        const tampered = Buffer.from(bytes);
        tampered[at] ^= 0x01;
        expect(verifySignedStatement(signed.statement, tampered.toString('base64'), key.pem).valid).toBe(false);
      }
    });

    it('refuses another attestation key, naming both fingerprints', () => {
      const other = attestationKey();
      const result = verifySignedStatement(signed.statement, signed.signature, other.pem);
      expect(result.valid).toBe(false);
      if (!result.valid) {
        expect(result.reason).toContain(key.fingerprint);
        expect(result.reason).toContain(other.fingerprint);
      }
    });

    it('refuses a statement re-signed by another key that claims to be the attestation key', async () => {
      const impostor = attestationKey();
      const forged = await signKeyOriginStatement(signed.statement, signerOf(impostor.privateKey));
      expect(verifySignedStatement(forged.statement, forged.signature, key.pem).valid).toBe(false);
    });

    it('refuses a public key that does not match the fingerprint, even when correctly signed', async () => {
      const otherSpki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
      const statement = buildKeyOriginStatement({ ...input(key.fingerprint), publicKeySpkiBase64: otherSpki.toString('base64') });
      const s = await signKeyOriginStatement(statement, signerOf(key.privateKey));
      expect(verifySignedStatement(s.statement, s.signature, key.pem)).toEqual({
        valid: false,
        reason: 'the public key in the statement does not match its keyFingerprint',
      });
    });

    it.each([
      ['invalid JSON', () => verifySignedStatement('{"type":', signed.signature, key.pem), 'the statement is not valid JSON'],
      ['another document type', () => verifySignedStatement({ ...signed.statement, type: 'x' }, signed.signature, key.pem), 'statement type is not kms.key-origin-statement.v1'],
      [
        'a missing attribute',
        () =>
          verifySignedStatement(
            { ...signed.statement, origin: { ...signed.statement.origin, attributes: { local: true } } },
            signed.signature,
            key.pem,
          ),
        'statement field origin.attributes.neverExtractable is missing or not a boolean',
      ],
      ['a non-base64 signature', () => verifySignedStatement(signed.statement, 'abc$', key.pem), 'the signature is not base64'],
      ['a PEM that is not a key', () => verifySignedStatement(signed.statement, signed.signature, 'hello'), 'the attestation public key is not a PEM public key'],
      [
        'an RSA attestation key',
        () =>
          verifySignedStatement(
            signed.statement,
            signed.signature,
            generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }).toString(),
          ),
        'the attestation public key is not an ECDSA P-256 key',
      ],
    ])('explains %s', (_what, run, reason) => {
      expect(run()).toEqual({ valid: false, reason });
    });
  });

  it('provesHsmOrigin needs local, never-extractable, sensitive and not extractable', () => {
    const origin = input(key.fingerprint).origin;
    expect(provesHsmOrigin(origin)).toBe(true);
    expect(provesHsmOrigin({ ...origin, attributes: { ...origin.attributes, local: false } })).toBe(false);
    expect(provesHsmOrigin({ ...origin, attributes: { ...origin.attributes, extractable: true } })).toBe(false);
  });
});

describe('statementDisagreement: a signed statement must be about the recorded version', () => {
  const statement = buildKeyOriginStatement(input('ab'.repeat(32)));
  const i = input('ab'.repeat(32));
  const recorded = {
    keyId: i.keyId,
    version: 3,
    algorithm: 'ECDSA_P256_SHA256',
    protectionLevel: 'HSM',
    createdAt: '2026-03-01T09:00:00.000Z',
    publicKeyFingerprint: i.keyFingerprint,
    origin: JSON.parse(JSON.stringify(i.origin)) as unknown,
  };

  it('agrees with the version it was issued for (key order in the recorded origin does not matter)', () => {
    const reordered = { ...recorded, origin: { objectId: i.origin.objectId, ...(recorded.origin as object) } };
    expect(statementDisagreement(statement, reordered)).toBeUndefined();
  });

  it.each([
    ['keyId', { keyId: '00000000-0000-4000-8000-000000000000' }],
    ['version', { version: 2 }],
    ['algorithm', { algorithm: 'ED25519' }],
    ['protectionLevel', { protectionLevel: 'SOFTWARE' }],
    ['createdAt', { createdAt: '2026-03-01T09:00:01.000Z' }],
    ['keyFingerprint', { publicKeyFingerprint: 'cd'.repeat(32) }],
    ['origin', { origin: { ...i.origin, objectId: 'ff' } }],
    ['origin', { origin: { ...i.origin, module: { ...i.origin.module, serialNumber: 'another-token' } } }],
    ['origin', { origin: undefined }],
  ])('names %s when the record says otherwise', (field, change) => {
    expect(statementDisagreement(statement, { ...recorded, ...change })).toMatch(new RegExp(`^${field}:`));
  });
});


describe('imported material (BYOK): the statement says imported, and must agree with the record', () => {
  const i = input('ab'.repeat(32));
  const importedOrigin = { ...i.origin, attributes: { local: false, neverExtractable: false, sensitive: true, extractable: false } };
  const statement = buildKeyOriginStatement({ ...i, origin: importedOrigin, imported: true });
  const recorded = {
    keyId: i.keyId,
    version: 3,
    algorithm: 'ECDSA_P256_SHA256',
    protectionLevel: 'HSM',
    createdAt: '2026-03-01T09:00:00.000Z',
    publicKeyFingerprint: i.keyFingerprint,
    origin: JSON.parse(JSON.stringify(importedOrigin)) as unknown,
    imported: true,
  };

  it('carries imported: true only when imported, and proves custody (not generation) by sensitive and not extractable', () => {
    expect(statement.imported).toBe(true);
    expect('imported' in buildKeyOriginStatement(i)).toBe(false);
    expect(provesHsmOrigin(statement.origin)).toBe(false);
    expect(provesHsmCustodyOfImport(statement)).toBe(true);
    expect(provesHsmCustodyOfImport({ ...statement, origin: { ...statement.origin, attributes: { ...statement.origin.attributes, extractable: true } } })).toBe(false);
    expect(provesHsmCustodyOfImport(buildKeyOriginStatement({ ...i, origin: importedOrigin }))).toBe(false);
  });

  it('agrees with an imported record, and names imported when statement and record differ', () => {
    expect(statementDisagreement(statement, recorded)).toBeUndefined();
    expect(statementDisagreement(statement, { ...recorded, imported: undefined })).toMatch(/^imported:/);
    expect(statementDisagreement(buildKeyOriginStatement({ ...i, origin: importedOrigin }), recorded)).toMatch(/^imported:/);
  });

  it('a signed statement whose imported field is not true is refused', async () => {
    const key = attestationKey();
    const signed = await signKeyOriginStatement({ ...buildKeyOriginStatement({ ...i, attestationKeyFingerprint: key.fingerprint }), imported: 'yes' } as never, signerOf(key.privateKey));
    expect(verifySignedStatement(signed.statement, signed.signature, key.pem)).toEqual({ valid: false, reason: 'statement field imported is present but not true' });
  });
});
