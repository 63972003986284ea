/** What the detector may do to stop a finding's damage; the key service audits each call. */
export interface ContainmentGateway {
  /** Suspend the identity's tokens; undone only by a dual-authorized ReEnableIdentity. */
  suspendIdentity(identityId: string, reason: string): Promise<'SUSPENDED' | 'ALREADY_SUSPENDED'>;
  /** Report a key version compromised so the rotation path rotates it. */
  reportKeyCompromise(keyId: string, version: number | null, reason: string): Promise<'REPORTED' | 'ALREADY_REPORTED'>;
  close(): void;
}
