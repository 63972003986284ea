import { CIPHERTEXT_HEADER_LENGTH, CiphertextFormatError, decodeCiphertext, encodeCiphertextHeader } from './ciphertext-format';
import { KmsError } from '../errors/kms-error';

describe('ciphertext format', () => {
  const keyId = 'a1b2c3d4-e5f6-4711-8899-aabbccddeeff';

  it('round-trips the key id and version through the header', () => {
    const header = encodeCiphertextHeader({ keyId, version: 7 });
    expect(header.length).toBe(CIPHERTEXT_HEADER_LENGTH);
    const ct = Buffer.concat([header, Buffer.alloc(40, 1)]);
    const decoded = decodeCiphertext(ct);
    expect(decoded.header).toEqual({ keyId, version: 7 });
    expect(decoded.body.length).toBe(40);
  });

  it.each([
    ['too short', Buffer.alloc(10), 'TOO_SHORT'],
    ['wrong magic', Buffer.concat([Buffer.from('XX'), Buffer.alloc(60)]), 'UNKNOWN_FORMAT'],
    ['key version 0', Buffer.concat([encodeCiphertextHeader({ keyId, version: 1 }).fill(0, 19), Buffer.alloc(40)]), 'INVALID_KEY_VERSION'],
  ])('rejects %s as INVALID_CIPHERTEXT, naming the problem for the audit record', (_name, buf, problem) => {
    expect(() => decodeCiphertext(buf)).toThrow(KmsError);
    try {
      decodeCiphertext(buf);
    } catch (e) {
      expect(e).toBeInstanceOf(CiphertextFormatError);
      expect((e as CiphertextFormatError).code).toBe('INVALID_CIPHERTEXT');
      expect((e as CiphertextFormatError).field).toBe('ciphertext');
      expect((e as CiphertextFormatError).problem).toBe(problem);
    }
  });
});
