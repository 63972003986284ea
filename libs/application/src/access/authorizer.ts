import {
  checkRole,
  type ExistingKeyState,
  type KeyPermission,
  KmsError,
  policyAllows,
  type Principal,
} from '@kms/domain';

/** Per-call key access: decides on a key once its state is known. */
export interface KeyAccessCheck {
  /**
   * Throws PERMISSION_DENIED unless the caller may use the key for the permission. `undefined` means
   * the key does not exist: callers who hide missing keys get the same refusal as for a key they may not use.
   */
  check(state: ExistingKeyState | undefined, permission: KeyPermission): void;
  /** When true a missing key is answered like a refused one, so callers learn nothing about keys they may not see. */
  readonly hidesMissingKeys: boolean;
}

/** For work the service does itself (sweeps) and for unit tests of crypto alone. */
export const UNRESTRICTED_ACCESS: KeyAccessCheck = { check: () => undefined, hidesMissingKeys: false };

export const PERMISSION_DENIED_MESSAGE = 'permission denied';

export function denied(reason: string): KmsError<'PERMISSION_DENIED'> {
  return new KmsError('PERMISSION_DENIED', `${PERMISSION_DENIED_MESSAGE}: ${reason}`);
}

/** Operations people may only call with strong authentication asserted in their token. */
function needsStrongAuth(p: Principal): boolean {
  return p.kind === 'HUMAN' && !(p.authMethods.includes('hwk') && p.authMethods.includes('otp'));
}

/**
 * Applies the role matrix and key policies (README "Access control"). Messages never say whether a
 * key the caller may not see exists.
 */
export class Authorizer {
  /** Role gate for an operation; returns the key access check for key-scoped work. */
  forOperation(principal: Principal, operation: string): KeyAccessCheck {
    if (needsStrongAuth(principal)) throw denied('people need a token carrying FIDO2 and TOTP authentication');
    const role = checkRole(principal, operation);
    if (!role.allowed) throw denied(role.reason);
    if (!role.needsKeyGrant) return UNRESTRICTED_ACCESS;
    return {
      hidesMissingKeys: true,
      check: (state, permission) => {
        if (!state || !policyAllows(state.key.policy, principal.identityId, permission)) {
          throw denied(`no ${permission} grant on this key for ${principal.name}`);
        }
      },
    };
  }
}
