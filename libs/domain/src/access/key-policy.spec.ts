import { KmsError } from '../errors/kms-error';
import type { KeyPolicy } from './access-types';
import { MAX_POLICY_GRANTEES, samePolicy, validateKeyPolicy } from './key-policy';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

function refusal(f: () => unknown): { code: string; field?: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof KmsError) return { code: e.code, ...(e.field ? { field: e.field } : {}), message: e.message };
    throw e;
  }
  throw new Error('expected a refusal, the policy was accepted');
}

const uuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

describe('key policy validation', () => {
  it('no policy is an empty policy: nobody may use the key', () => {
    expect(validateKeyPolicy(undefined)).toEqual({ grants: {} });
    expect(validateKeyPolicy(null)).toEqual({ grants: {} });
    expect(validateKeyPolicy({})).toEqual({ grants: {} });
  });

  it('keeps each permission once, sorted, and accepts the proto shape { permissions }', () => {
    expect(
      validateKeyPolicy({ grants: { [A]: ['ENCRYPT', 'DECRYPT', 'ENCRYPT'], [B]: { permissions: ['VERIFY', 'SIGN'] } } }),
    ).toEqual({ grants: { [A]: ['DECRYPT', 'ENCRYPT'], [B]: ['SIGN', 'VERIFY'] } });
  });

  it('drops identities granted nothing', () => {
    expect(validateKeyPolicy({ grants: { [A]: [], [B]: ['MAC'] } })).toEqual({ grants: { [B]: ['MAC'] } });
  });

  it('accepts every permission the API documents', () => {
    const all = ['ENCRYPT', 'DECRYPT', 'SIGN', 'VERIFY', 'MAC', 'GENERATE_DATA_KEY', 'ADMINISTER'];
    expect(validateKeyPolicy({ grants: { [A]: all } }).grants[A]).toEqual([...all].sort());
  });

  it.each([
    ['a list', []],
    ['a string', 'everyone'],
  ])('refuses grants that are %s, naming policy.grants', (_what, grants) => {
    expect(refusal(() => validateKeyPolicy({ grants }))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'policy.grants' });
  });

  it.each([
    ['a name', 'orders-service'],
    ['an upper-case UUID', 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE'],
    ['a UUID without dashes', A.replace(/-/g, '')],
    ['a wildcard', '*'],
  ])('refuses an identity that is %s: grants name identity ids (UUIDs)', (_what, id) => {
    const r = refusal(() => validateKeyPolicy({ grants: { [id]: ['ENCRYPT'] } }));
    expect(r).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'policy.grants' });
    expect(r.message).toContain(`"${id}" is not an identity id`);
  });

  it('quotes at most 64 characters of a bad identity back', () => {
    const r = refusal(() => validateKeyPolicy({ grants: { ['x'.repeat(500)]: ['ENCRYPT'] } }));
    expect(r.message).toContain(`"${'x'.repeat(64)}"`);
    expect(r.message).not.toContain('x'.repeat(65));
  });

  it('refuses an unknown permission, naming the identity entry and listing the known ones', () => {
    for (const p of ['DELETE', 'encrypt', 'ADMIN', '']) {
      const r = refusal(() => validateKeyPolicy({ grants: { [A]: ['ENCRYPT', p] } }));
      expect(r).toMatchObject({ code: 'INVALID_ARGUMENT', field: `policy.grants.${A}` });
      expect(r.message).toContain('ENCRYPT, DECRYPT, SIGN, VERIFY, MAC, GENERATE_DATA_KEY, ADMINISTER');
    }
  });

  it('refuses permissions that are not a list, naming the identity entry', () => {
    for (const perms of ['ENCRYPT', { permissions: 'ENCRYPT' }, 7, null]) {
      expect(refusal(() => validateKeyPolicy({ grants: { [A]: perms } }))).toMatchObject({ code: 'INVALID_ARGUMENT', field: `policy.grants.${A}` });
    }
  });

  it(`names at most ${MAX_POLICY_GRANTEES} identities`, () => {
    const grants = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [uuid(i), ['ENCRYPT']]));
    expect(Object.keys(validateKeyPolicy({ grants: grants(MAX_POLICY_GRANTEES) }).grants)).toHaveLength(MAX_POLICY_GRANTEES);
    expect(refusal(() => validateKeyPolicy({ grants: grants(MAX_POLICY_GRANTEES + 1) }))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'policy.grants' });
  });

  it('names the field it was given, e.g. for SetKeyPolicy', () => {
    expect(refusal(() => validateKeyPolicy({ grants: [] }, 'key_policy'))).toMatchObject({ field: 'key_policy.grants' });
    expect(refusal(() => validateKeyPolicy({ grants: { [A]: ['NOPE'] } }, 'key_policy'))).toMatchObject({ field: `key_policy.grants.${A}` });
  });
});

describe('samePolicy', () => {
  const p = (grants: KeyPolicy['grants']): KeyPolicy => ({ grants });

  it('ignores the order of identities and of permissions', () => {
    expect(samePolicy(p({ [A]: ['ENCRYPT', 'DECRYPT'], [B]: ['SIGN'] }), p({ [B]: ['SIGN'], [A]: ['DECRYPT', 'ENCRYPT'] }))).toBe(true);
    expect(samePolicy(p({}), p({}))).toBe(true);
  });

  it('sees a permission added, removed or moved to another identity', () => {
    expect(samePolicy(p({ [A]: ['ENCRYPT'] }), p({ [A]: ['ENCRYPT', 'DECRYPT'] }))).toBe(false);
    expect(samePolicy(p({ [A]: ['ENCRYPT'] }), p({}))).toBe(false);
    expect(samePolicy(p({ [A]: ['ENCRYPT'] }), p({ [B]: ['ENCRYPT'] }))).toBe(false);
    expect(samePolicy(p({ [A]: ['ENCRYPT'] }), p({ [A]: ['ENCRYPT'], [B]: ['ENCRYPT'] }))).toBe(false);
  });

  it('does not reorder the policies it compares', () => {
    const a = p({ [B]: ['SIGN', 'DECRYPT'], [A]: ['MAC'] });
    samePolicy(a, p({}));
    expect(Object.keys(a.grants)).toEqual([B, A]);
    expect(a.grants[B]).toEqual(['SIGN', 'DECRYPT']);
  });
});
