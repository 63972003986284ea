import { invalidArgument } from '../errors/kms-error';

/**
 * A legal jurisdiction a key or an HSM instance belongs to: an ISO 3166-1 alpha-2 code (`de`, `fr`,
 * or the exceptionally reserved `eu`) or a named region (`eu-sovereign`, `us-gov`). Always lowercase.
 */
export type Jurisdiction = string & { readonly __jurisdiction: unique symbol };

/** Where an HSM instance runs, for the control matrix: one evidence column per kind. */
export const ENVIRONMENT_KINDS = ['sovereign', 'commercial', 'on-premises'] as const;
export type EnvironmentKind = (typeof ENVIRONMENT_KINDS)[number];

/** The jurisdiction of the single HSM configured the old way (KMS_HSM_*), and of keys created without one. */
export const DEFAULT_JURISDICTION = 'default' as Jurisdiction;

const ISO_3166_ALPHA_2 = /^[a-z]{2}$/;
const NAMED_REGION = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MAX_LENGTH = 63;

/** Validate and normalise a jurisdiction; the error names `field`. */
export function parseJurisdiction(value: unknown, field: string): Jurisdiction {
  if (typeof value !== 'string' || value.trim() === '') throw invalidArgument(field, 'is required: an ISO 3166-1 alpha-2 code (e.g. "de") or a named region (e.g. "eu-sovereign")');
  const normalised = value.trim().toLowerCase();
  if (normalised.length > MAX_LENGTH) throw invalidArgument(field, `must be at most ${MAX_LENGTH} characters`);
  if (!ISO_3166_ALPHA_2.test(normalised) && !(normalised.length >= 3 && NAMED_REGION.test(normalised))) {
    throw invalidArgument(field, `"${value}" is neither an ISO 3166-1 alpha-2 code nor a named region (3 or more lowercase letters, digits and single hyphens)`);
  }
  return normalised as Jurisdiction;
}

/** Validate an environment kind; the error names `field`. */
export function parseEnvironmentKind(value: unknown, field: string): EnvironmentKind {
  if (typeof value === 'string' && (ENVIRONMENT_KINDS as readonly string[]).includes(value)) return value as EnvironmentKind;
  throw invalidArgument(field, `must be one of ${ENVIRONMENT_KINDS.join(', ')}, got ${JSON.stringify(value)}`);
}

/**
 * The jurisdiction a new key gets: the requested one, which must be configured; with a single
 * configured jurisdiction the request may leave it out. The error names `field`.
 */
export function chooseJurisdiction(requested: string | undefined, configured: readonly Jurisdiction[], field = 'jurisdiction'): Jurisdiction {
  if (requested === undefined || requested === '') {
    if (configured.length === 1) return configured[0];
    throw invalidArgument(field, `is required: ${configured.length} jurisdictions are configured (${configured.join(', ')})`);
  }
  const jurisdiction = parseJurisdiction(requested, field);
  if (!configured.includes(jurisdiction)) throw invalidArgument(field, `"${jurisdiction}" is not a configured jurisdiction (${configured.join(', ')})`);
  return jurisdiction;
}
