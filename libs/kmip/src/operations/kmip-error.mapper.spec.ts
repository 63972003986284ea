import { KmsError } from '@kms/domain';
import { KmipRefusal, toKmipFailure } from './kmip-error.mapper';

describe('KMIP result reasons of KMS errors', () => {
  it.each([
    ['KEY_VERSION_EXPIRED', 'IllegalOperation'],
    ['KEY_SEALED', 'PermissionDenied'],
    ['KEY_NOT_FOUND', 'ItemNotFound'],
    ['INVALID_ARGUMENT', 'InvalidField'],
    ['UNSUPPORTED_ALGORITHM', 'FeatureNotSupported'],
    ['AUDIT_UNAVAILABLE', 'GeneralFailure'],
  ] as const)('%s is %s, the code kept in the message', (code, reason) => {
    expect(toKmipFailure(new KmsError(code, 'why'))).toEqual({ reason, message: `${code}: why` });
  });

  it('keeps a refusal KMIP names more precisely, and tells nothing of an unexpected fault', () => {
    expect(toKmipFailure(new KmipRefusal('PERMISSION_DENIED', 'NotExtractable', 'material never leaves'))).toEqual({ reason: 'NotExtractable', message: 'material never leaves' });
    expect(toKmipFailure(new Error('stack details'))).toEqual({ reason: 'GeneralFailure', message: 'internal error' });
  });
});
