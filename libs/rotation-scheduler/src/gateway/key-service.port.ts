/** A key version as the scheduler re-reads it before acting. */
export interface KeyVersionSnapshot {
  version: number;
  state: 'ENABLED' | 'DISABLED' | 'DESTROY_SCHEDULED' | 'DESTROYED';
  /** Set while DESTROY_SCHEDULED. */
  destroyAt?: string;
  /** BYOK: an imported version is destroyed at this time. */
  expireAt?: string;
  /** DATA_PROTECTION keys: ciphertexts handed out under the version and not yet re-encrypted away. */
  outstandingCiphertexts: number;
}

/** A key as the key service answers GetKey: the authority the scheduler re-checks against. */
export interface KeySnapshot {
  keyId: string;
  purpose: string;
  primaryVersion: number;
  /** False when the primary version is not enabled. */
  enabled: boolean;
  nextRotationAt: string;
  versions: KeyVersionSnapshot[];
}

/** A refusal from the key service, with its gRPC status name and the KMS error code (trailer). */
export class KeyServiceRefusal extends Error {
  override readonly name = 'KeyServiceRefusal';
  constructor(
    readonly status: string,
    readonly errorCode: string | undefined,
    message: string,
  ) {
    super(`${status}${errorCode ? ` ${errorCode}` : ''}: ${message}`);
  }
}

/** What the scheduler asks of the key service, the only writer of keys. `note` goes to the event's reason. */
export interface KeyServicePort {
  getKey(keyId: string): Promise<KeySnapshot>;
  rotateKey(keyId: string, note: string): Promise<KeySnapshot>;
  scheduleDestruction(keyId: string, version: number, afterDays: number, note: string): Promise<KeySnapshot>;
  destroyVersion(keyId: string, version: number, note: string): Promise<KeySnapshot>;
  /** Record the alert for dependents that did not confirm the primary `version` in time. */
  reportOverdueConfirmations(keyId: string, version: number, note: string): Promise<KeySnapshot>;
  /** Settle a superseded break-glass version's escrow declarations: destroyed when all are in, an overdue alert otherwise. */
  settleEscrowDeclarations(keyId: string, version: number, note: string): Promise<EscrowSettlement>;
}

/** The escrow of a version after settling (GetEscrowStatus's answer, as far as the scheduler reads it). */
export interface EscrowSettlement {
  status: string;
  pendingDeclarations: string[];
}

/** An overdue-drill alert the key service raised (DrillOverdueReported): the monthly drill or a follow-up. */
export interface DrillAlert {
  subject: 'MONTHLY_DRILL' | 'FOLLOW_UP';
  dueDate: string;
  drillId?: string;
  followUpId?: number;
  owner?: string;
}

/** The drill log's alerts (docs/backup-and-drills.md): each round, the key service raises what became overdue, once. */
export interface DrillAlertsPort {
  reportDrillsOverdue(): Promise<DrillAlert[]>;
}
