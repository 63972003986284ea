import { type KeyPolicy, type KeyRecord, nextRotationAt } from '@kms/domain';

/**
 * A key as the API shows it. Never material; material references stay inside the service.
 * `outstanding`: tracked ciphertexts per version (DATA_PROTECTION keys), when the caller looked them up.
 */
export function toProtoKey(k: KeyRecord, outstanding?: ReadonlyMap<number, number>) {
  const primary = k.versions[k.primaryVersion - 1];
  return {
    key_id: k.keyId,
    tenant: k.tenant,
    name: k.name,
    purpose: k.purpose,
    algorithm: k.algorithm,
    protection_level: k.protectionLevel,
    labels: k.labels,
    owner: k.owner,
    jurisdiction: k.jurisdiction,
    create_time: k.createdAt,
    rotation_period_days: k.rotationPeriodDays,
    next_rotation_time: nextRotationAt(k).toISOString(),
    export_expire_time: k.exportExpiresAt ?? '',
    exportable: k.exportable === true,
    primary_version: k.primaryVersion,
    min_decryption_version: k.minDecryptionVersion,
    enabled: primary?.state === 'ENABLED',
    policy: toProtoPolicy(k.policy),
    dependents: Object.values(k.dependents ?? {}).map((d) => ({
      dependent_id: d.dependentId,
      name: d.name,
      confirmed_version: d.confirmedVersion,
      confirmed_time: d.confirmedAt ?? '',
      registered_time: d.registeredAt,
    })),
    versions: k.versions.map((v) => ({
      version: v.version,
      state: v.state,
      algorithm: v.algorithm,
      protection_level: v.protectionLevel,
      create_time: v.createdAt,
      destroy_time: v.destroyAt ?? '',
      destroyed_time: v.destroyedAt ?? '',
      public_key_fingerprint: v.publicKeyFingerprint ?? '',
      compromised_time: v.compromisedAt ?? '',
      outstanding_ciphertexts: String(outstanding?.get(v.version) ?? 0),
      imported: v.imported === true,
      expire_time: v.expiresAt ?? '',
    })),
  };
}

/** KeyPolicy → proto: identity id → { permissions }. */
export function toProtoPolicy(p: KeyPolicy) {
  return { grants: Object.fromEntries(Object.entries(p.grants).map(([id, permissions]) => [id, { permissions }])) };
}

/** Proto KeyPolicy → the shape validateKeyPolicy reads. */
export function fromProtoPolicy(raw: unknown): unknown {
  if (raw === undefined || raw === null) return undefined;
  const grants = (raw as { grants?: Record<string, { permissions?: unknown }> }).grants ?? {};
  return { grants: Object.fromEntries(Object.entries(grants).map(([id, g]) => [id, g?.permissions ?? []])) };
}
