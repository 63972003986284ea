import type { KeyPolicy } from '../access/access-types';
import type { Algorithm, HsmKeyOrigin, KeyPurpose, ProtectionLevel, RotationReason } from './key-types';

/** Who asks, why, and when. Time and ids come in here so the decider stays pure. */
export interface CommandMetadata {
  now: Date;
  actor: string;
  correlationId: string;
  reason?: string;
  changeTicket?: string;
  /** Second persons who approved this change (dual authorization). */
  approvers?: string[];
  approvalId?: string;
}

type Command<T extends string, D> = { type: T; data: D; metadata: CommandMetadata };

/** Material already created in a backend for the version a command introduces. */
export interface NewVersionMaterial {
  version: number;
  materialRef: string;
  publicKeyFingerprint?: string;
  origin?: HsmKeyOrigin;
}

export type CreateKey = Command<
  'CreateKey',
  {
    keyId: string;
    tenant: string;
    name: string;
    purpose: KeyPurpose;
    algorithm: Algorithm;
    protectionLevel: ProtectionLevel;
    labels: Record<string, string>;
    owner: string;
    rotationPeriodDays?: number;
    policy?: KeyPolicy;
    /** The jurisdiction chosen for the key (already checked against the configured ones); absent: `default`. */
    jurisdiction?: string;
    /** A key for a temporary export: rotated as soon as this passes (policy), its prior versions then encrypt nothing. */
    exportExpiresAt?: Date;
    /**
     * The key's material may be handed out (KMIP Get), for SOFTWARE keys only: set only when two people
     * agreed (the dual-authorized CreateExportableKey), never changed afterwards.
     */
    exportable?: boolean;
    /** BYOK at creation (KMIP Register): version 1 is material the caller brought, not generated here. */
    imported?: boolean;
    material: NewVersionMaterial;
  }
>;
export type RotateKey = Command<'RotateKey', { rotationReason: RotationReason; material: NewVersionMaterial }>;
export type UpdateRotationPolicy = Command<'UpdateRotationPolicy', { rotationPeriodDays: number }>;
/**
 * overrideDependents: set only when two people approved retiring before every dependent confirmed.
 * outstandingCiphertexts: how many ciphertexts handed out under the version (DATA_PROTECTION keys) were
 * not yet re-encrypted away, as the application tracks them; absent when unknown (counts as none).
 */
export interface RetirementFacts {
  overrideDependents?: boolean;
  outstandingCiphertexts?: number;
}
export type DisableKeyVersion = Command<'DisableKeyVersion', { version: number } & RetirementFacts>;
export type EnableKeyVersion = Command<'EnableKeyVersion', { version: number }>;
export type ScheduleKeyVersionDestruction = Command<
  'ScheduleKeyVersionDestruction',
  { version: number; delayDays?: number } & RetirementFacts
>;
export type CancelKeyVersionDestruction = Command<'CancelKeyVersionDestruction', { version: number }>;
/** Issued by the destruction sweep after the material has been shredded. */
export type DestroyKeyVersion = Command<'DestroyKeyVersion', { version: number; hsmObjectDestroyed?: boolean }>;
/**
 * Issued by the break-glass escrow once every custodian declared their package of a superseded
 * version destroyed (docs/break-glass.md), after the material has been shredded: the version is
 * destroyed without a scheduled waiting period, naming the escrow ceremony whose declarations allowed it.
 */
export type DestroyEscrowedKeyVersion = Command<'DestroyEscrowedKeyVersion', { version: number; escrowCeremonyId: string; hsmObjectDestroyed?: boolean }>;
export type SetMinDecryptionVersion = Command<'SetMinDecryptionVersion', { minDecryptionVersion: number }>;

/**
 * BYOK: material the customer brought, already unwrapped and kept by the backend, becomes the next
 * version and the primary. `expiresAt`: after it the version is destroyed (the scheduler plans it).
 */
export type ImportKeyVersion = Command<'ImportKeyVersion', { material: NewVersionMaterial; expiresAt?: Date }>;

/** Report the primary (or a named) version compromised: rotate at once with reason COMPROMISE. */
export type ReportKeyCompromise = Command<'ReportKeyCompromise', { version: number; material: NewVersionMaterial }>;

export type RegisterDependent = Command<'RegisterDependent', { dependentId: string; name: string }>;
export type RemoveDependent = Command<'RemoveDependent', { dependentId: string }>;
export type ConfirmKeyVersion = Command<'ConfirmKeyVersion', { dependentId: string; version: number }>;
/** Raise the alert for dependents that did not confirm `version` (the primary) within the confirmation window. */
export type ReportOverdueConfirmations = Command<'ReportOverdueConfirmations', { version: number }>;

export type SetKeyPolicy = Command<'SetKeyPolicy', { policy: KeyPolicy }>;
/** Replace the key's labels (its custom attributes, e.g. KMIP `x-…`): the whole set, validated like at creation. */
export type SetKeyLabels = Command<'SetKeyLabels', { labels: Record<string, string> }>;
/**
 * Give the key another name (KMIP ModifyAttribute of Name). The name stays unique per tenant: the
 * application reserves the new name and releases the old one in the same change.
 */
export type RenameKey = Command<'RenameKey', { name: string }>;

export type KeyCommand =
  | CreateKey
  | RotateKey
  | ImportKeyVersion
  | UpdateRotationPolicy
  | DisableKeyVersion
  | EnableKeyVersion
  | ScheduleKeyVersionDestruction
  | CancelKeyVersionDestruction
  | DestroyKeyVersion
  | DestroyEscrowedKeyVersion
  | SetMinDecryptionVersion
  | SetKeyPolicy
  | SetKeyLabels
  | RenameKey
  | ReportKeyCompromise
  | RegisterDependent
  | RemoveDependent
  | ConfirmKeyVersion
  | ReportOverdueConfirmations;
