import { invalidArgument } from '../errors/kms-error';
import { isUuid } from '../ciphertext/ciphertext-format';
import { KEY_PERMISSIONS, type KeyPermission, type KeyPolicy } from './access-types';

export const MAX_POLICY_GRANTEES = 256;

/** A key policy from input: identity ids (UUIDs) mapped to known permissions, no duplicates. */
export function validateKeyPolicy(raw: unknown, field = 'policy'): KeyPolicy {
  if (raw === undefined || raw === null) return { grants: {} };
  const grantsRaw = (raw as { grants?: unknown }).grants ?? {};
  if (typeof grantsRaw !== 'object' || grantsRaw === null || Array.isArray(grantsRaw)) {
    throw invalidArgument(`${field}.grants`, 'must map identity ids to lists of permissions');
  }
  const entries = Object.entries(grantsRaw as Record<string, unknown>);
  if (entries.length > MAX_POLICY_GRANTEES) throw invalidArgument(`${field}.grants`, `must name at most ${MAX_POLICY_GRANTEES} identities`);
  const grants: Record<string, KeyPermission[]> = {};
  for (const [identityId, perms] of entries) {
    if (!isUuid(identityId)) throw invalidArgument(`${field}.grants`, `"${identityId.slice(0, 64)}" is not an identity id`);
    const list = Array.isArray(perms) ? perms : (perms as { permissions?: unknown })?.permissions;
    if (!Array.isArray(list)) throw invalidArgument(`${field}.grants.${identityId}`, 'must be a list of permissions');
    const clean = new Set<KeyPermission>();
    for (const p of list) {
      if (!(KEY_PERMISSIONS as readonly unknown[]).includes(p)) {
        throw invalidArgument(`${field}.grants.${identityId}`, `permissions are ${KEY_PERMISSIONS.join(', ')}`);
      }
      clean.add(p as KeyPermission);
    }
    if (clean.size > 0) grants[identityId] = [...clean].sort();
  }
  return { grants };
}

/** Canonical form for comparisons: sorted identities and permissions. */
export function samePolicy(a: KeyPolicy, b: KeyPolicy): boolean {
  const norm = (p: KeyPolicy) =>
    JSON.stringify(Object.keys(p.grants).sort().map((k) => [k, [...p.grants[k]].sort()]));
  return norm(a) === norm(b);
}
