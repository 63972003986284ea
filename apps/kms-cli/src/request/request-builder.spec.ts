import { ProtoCatalog } from '../proto/proto-catalog';
import { CliUsageError } from './cli-usage.error';
import { buildRequest } from './request-builder';

const catalog = new ProtoCatalog();

/** The CliUsageError a request is refused with. */
function refusal(type: string, json: string | undefined, flags: Record<string, string | string[] | undefined> = {}): CliUsageError {
  try {
    buildRequest(catalog, type, json, flags);
  } catch (e) {
    if (e instanceof CliUsageError) return e;
    throw e;
  }
  throw new Error('the request was accepted');
}

describe('request building and validation (before anything is sent)', () => {
  it('refuses a misspelled field with the list of valid ones, where the server would silently drop it', () => {
    const e = refusal('EncryptRequest', '{"key_id":"k","plain_text":"aGVsbG8="}');
    expect(e.message).toBe('unknown field "plain_text" in EncryptRequest; valid fields: key_id, plaintext, aad');
    expect(e.field).toBe('plain_text');
  });

  it('refuses unknown fields inside nested messages and maps, naming the path', () => {
    const e = refusal('CreateKeyRequest', '{"name":"k","policy":{"grants":{"wid":{"permission":["ENCRYPT"]}}}}');
    expect(e.message).toBe('unknown field "policy.grants.wid.permission" in PermissionList; valid fields: permissions');
    expect(refusal('CreateKeyRequest', '{"context":{"ticket":"CHG-1"}}').message).toContain('valid fields: reason, change_ticket');
  });

  it('checks bytes are base64 and names the field', () => {
    const e = refusal('EncryptRequest', '{"key_id":"k","plaintext":"hello world"}');
    expect(e.field).toBe('plaintext');
    expect(e.message).toMatch(/^field plaintext: "hello world" is not valid base64/);
    expect(refusal('EncryptRequest', undefined, { key_id: 'k', aad: 'YWJj*' }).field).toBe('aad');
    // Unpadded input is refused too: the server's decoder would silently read something else.
    expect(refusal('EncryptRequest', '{"plaintext":"aGVsbG8"}').field).toBe('plaintext');
    expect(refusal('BatchDecryptRequest', '{"items":[{"ciphertext":"QUJD"},{"ciphertext":"%%%="}]}').field).toBe('items[1].ciphertext');
  });

  it('checks enums, integers, booleans, arrays and oneofs', () => {
    expect(refusal('CreateKeyRequest', '{"purpose":"ROOT"}').message).toContain('one of KEY_PURPOSE_UNSPECIFIED, ROOT_TENANT, SERVICE_ENVELOPE');
    expect(refusal('GenerateRandomRequest', '{"length_bytes":-1}').message).toBe('field length_bytes: expected an integer from 0 to 4294967295, got -1');
    expect(refusal('GenerateRandomRequest', undefined, { length_bytes: 'ten' }).field).toBe('length_bytes');
    expect(refusal('GenerateDataKeyRequest', '{"without_plaintext":"yes"}').field).toBe('without_plaintext');
    expect(refusal('RegisterIdentityRequest', '{"roles":"key-admin"}').message).toBe('field roles: expected an array, got string');
    expect(refusal('SignRequest', '{"key_id":"k","message":"QUJD","digest":"QUJD"}').message).toBe('fields message and digest of SignRequest are alternatives (oneof input): give one');
    expect(refusal('EncryptRequest', '[1,2]').message).toContain('must be a JSON object');
    expect(refusal('EncryptRequest', '{"key_id":').message).toMatch(/^the request is not valid JSON/);
  });

  it('lays flags over the JSON argument, converting each to its field type', () => {
    expect(
      buildRequest(catalog, 'IssueTokenRequest', '{"client_id":"from-json","client_secret":"s"}', { client_id: 'from-flag', ttl_seconds: '300', auth_methods: ['hwk', 'otp'] }),
    ).toEqual({ client_id: 'from-flag', client_secret: 's', ttl_seconds: 300, auth_methods: ['hwk', 'otp'] });
    expect(buildRequest(catalog, 'ListKeysRequest', undefined, { labels: ['team=payments', 'env=prod'], purpose: 'DATA_PROTECTION' })).toEqual({
      labels: { team: 'payments', env: 'prod' },
      purpose: 'DATA_PROTECTION',
    });
    expect(buildRequest(catalog, 'SetKeyPolicyRequest', undefined, { key_id: 'k', policy: '{"grants":{"w":{"permissions":["SIGN"]}}}' })).toEqual({
      key_id: 'k',
      policy: { grants: { w: { permissions: ['SIGN'] } } },
    });
    expect(refusal('ListKeysRequest', undefined, { labels: ['team'] }).message).toBe('--labels takes key=value, got "team"');
  });
});
