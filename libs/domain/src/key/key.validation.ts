import { invalidArgument, KmsError } from '../errors/kms-error';
import {
  ALGORITHMS,
  type Algorithm,
  KEY_PURPOSES,
  type KeyPurpose,
  PROTECTION_LEVELS,
  type ProtectionLevel,
  PURPOSE_MAX_ROTATION_DAYS,
  ROTATION_REASONS,
  type RotationReason,
} from './key-types';

/** Documented input limits. Every one is enforced and answered INVALID_ARGUMENT naming the field. */
export const LIMITS = {
  nameMaxLength: 128,
  tenantMaxLength: 64,
  ownerMaxLength: 256,
  labelsMaxCount: 32,
  labelKeyMaxLength: 63,
  labelValueMaxLength: 256,
  reasonMaxLength: 512,
  changeTicketMaxLength: 128,
} as const;

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
const LABEL_KEY_PATTERN = /^[a-z][a-z0-9_-]*$/;

export function validateKeyName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument(field, 'is required');
  if (name.length > LIMITS.nameMaxLength) throw invalidArgument(field, `must be at most ${LIMITS.nameMaxLength} characters`);
  if (!NAME_PATTERN.test(name)) throw invalidArgument(field, 'may contain only letters, digits, ".", "_" and "-", starting with a letter or digit');
  return name;
}

export function validateTenant(tenant: unknown, field = 'tenant'): string {
  if (typeof tenant !== 'string' || tenant.length === 0) throw invalidArgument(field, 'is required');
  if (tenant.length > LIMITS.tenantMaxLength) throw invalidArgument(field, `must be at most ${LIMITS.tenantMaxLength} characters`);
  if (!TENANT_PATTERN.test(tenant)) throw invalidArgument(field, 'may contain only lower-case letters, digits and "-"');
  return tenant;
}

export function validateOwner(owner: unknown, field = 'owner'): string {
  if (typeof owner !== 'string' || owner.trim().length === 0) throw invalidArgument(field, 'is required');
  if (owner.length > LIMITS.ownerMaxLength) throw invalidArgument(field, `must be at most ${LIMITS.ownerMaxLength} characters`);
  return owner;
}

export function validateLabels(labels: unknown, field = 'labels'): Record<string, string> {
  if (labels === undefined || labels === null) return {};
  if (typeof labels !== 'object' || Array.isArray(labels)) throw invalidArgument(field, 'must be a map of strings');
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > LIMITS.labelsMaxCount) throw invalidArgument(field, `must have at most ${LIMITS.labelsMaxCount} entries`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!LABEL_KEY_PATTERN.test(k) || k.length > LIMITS.labelKeyMaxLength) {
      throw invalidArgument(`${field}.${k}`, `label keys are lower-case letters, digits, "_" or "-", starting with a letter, at most ${LIMITS.labelKeyMaxLength} characters`);
    }
    if (typeof v !== 'string' || v.length > LIMITS.labelValueMaxLength) {
      throw invalidArgument(`${field}.${k}`, `label values are strings of at most ${LIMITS.labelValueMaxLength} characters`);
    }
    out[k] = v;
  }
  return out;
}

function oneOf<T extends string>(allowed: readonly T[], value: unknown, field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidArgument(field, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export const validatePurpose = (v: unknown, field = 'purpose'): KeyPurpose => oneOf(KEY_PURPOSES, v, field);
export const validateAlgorithm = (v: unknown, field = 'algorithm'): Algorithm => oneOf(ALGORITHMS, v, field);
export const validateProtectionLevel = (v: unknown, field = 'protection_level'): ProtectionLevel =>
  oneOf(PROTECTION_LEVELS, v, field);
export const validateRotationReason = (v: unknown, field = 'reason'): RotationReason => oneOf(ROTATION_REASONS, v, field);

/** A period of whole days, at least 1 and at most what the purpose allows. */
export function validateRotationPeriod(purpose: KeyPurpose, days: unknown, field = 'rotation_period_days'): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1) throw invalidArgument(field, 'must be a whole number of days, at least 1');
  const max = PURPOSE_MAX_ROTATION_DAYS[purpose];
  if (days > max) {
    throw new KmsError('ROTATION_PERIOD_TOO_LONG', `${field}: ${purpose} keys must rotate at least every ${max} days`, field);
  }
  return days;
}

export function validateVersionNumber(v: unknown, field = 'key_version'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0x7fffffff) throw invalidArgument(field, 'must be a positive version number');
  return v;
}

export function validateOptionalText(v: unknown, field: string, max: number): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalidArgument(field, 'must be a string');
  if (v.length > max) throw invalidArgument(field, `must be at most ${max} characters`);
  return v;
}
