import type { CallScope, ChangeContext, KeyCatalog } from '@kms/application';
import { validateKeyId } from '@kms/application';
import type { ChangeContext__Output } from '@kms/contracts';
import { type ExistingKeyState, invalidArgument, KmsError, LIMITS, validateOptionalText } from '@kms/domain';

/** An enum or string field the client left empty (proto3 has no "absent" for scalars). */
export function unspecified(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (typeof v === 'string' && v.endsWith('_UNSPECIFIED'));
}

/** Who asks for a change and why: the verified identity, never a header. */
export function changeContext(scope: CallScope, context: ChangeContext__Output | null | undefined): ChangeContext {
  const reason = validateOptionalText(context?.reason, 'context.reason', LIMITS.reasonMaxLength);
  const changeTicket = validateOptionalText(context?.change_ticket, 'context.change_ticket', LIMITS.changeTicketMaxLength);
  return { actor: scope.principal.identityId, correlationId: scope.ctx.requestId, ...(reason ? { reason } : {}), ...(changeTicket ? { changeTicket } : {}) };
}

/** A version number the request must carry. */
export function requiredVersion(value: number | undefined, field = 'key_version'): number {
  if (typeof value !== 'number' || value < 1) throw invalidArgument(field, 'is required');
  return value;
}

/**
 * A key the caller administers (or may read). Missing keys look refused to callers who must not see
 * them, so nobody learns which key ids exist.
 */
export async function administeredKey(catalog: KeyCatalog, scope: CallScope, keyIdRaw: unknown): Promise<ExistingKeyState> {
  const keyId = validateKeyId(keyIdRaw);
  scope.facts.keyId = keyId;
  let state: ExistingKeyState;
  try {
    state = await catalog.get(keyId);
  } catch (e) {
    if (e instanceof KmsError && e.code === 'KEY_NOT_FOUND' && scope.access.hidesMissingKeys) scope.access.check(undefined, 'ADMINISTER');
    throw e;
  }
  scope.access.check(state, 'ADMINISTER');
  return state;
}

/** An optional RFC 3339 time field (empty: absent); INVALID_ARGUMENT naming the field otherwise. */
export function optionalTime(raw: unknown, field: string): Date | undefined {
  if (unspecified(raw)) return undefined;
  const t = typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(raw) ? new Date(raw) : new Date(Number.NaN);
  if (Number.isNaN(t.getTime())) throw invalidArgument(field, 'must be an RFC 3339 time');
  return t;
}
