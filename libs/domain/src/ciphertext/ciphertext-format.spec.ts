import { CIPHERTEXT_HEADER_LENGTH, decodeCiphertext, encodeCiphertextHeader } from './ciphertext-format';
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
    ['too short', Buffer.alloc(10)],
    ['wrong magic', Buffer.concat([Buffer.from('XX'), Buffer.alloc(60)])],
  ])('rejects %s as INVALID_CIPHERTEXT', (_name, buf) => {
    expect(() => decodeCiphertext(buf)).toThrow(KmsError);
    try {
      decodeCiphertext(buf);
    } catch (e) {
      expect((e as KmsError).code).toBe('INVALID_CIPHERTEXT');
      expect((e as KmsError).field).toBe('ciphertext');
    }
  });
});
