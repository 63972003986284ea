import { KEY_NAME_STREAM_PREFIX, KEY_STREAM_PREFIX } from '../events/stream-ids';
import type { KeyPolicy } from '../access/access-types';
import type { Jurisdiction } from '../jurisdiction/jurisdiction';
import type { Algorithm, HsmKeyOrigin, KeyPurpose, ProtectionLevel, RotationReason } from './key-types';

/** Who did what, why and when. Attached to every event. */
export interface EventMetadata {
  actor: string;
  reason?: string;
  changeTicket?: string;
  /** Identities that approved the change (dual authorization), and the approval request. */
  approvers?: string[];
  approvalId?: string;
  correlationId: string;
  /** ISO-8601 time the command was decided. */
  occurredAt: string;
}

type Event<T extends string, D> = { type: T; data: D; metadata: EventMetadata };

export type KeyCreated = Event<
  'KeyCreated',
  {
    keyId: string;
    tenant: string;
    name: string;
    purpose: KeyPurpose;
    algorithm: Algorithm;
    protectionLevel: ProtectionLevel;
    labels: Record<string, string>;
    owner: string;
    rotationPeriodDays: number;
    /** Who may use and administer the key. */
    policy: KeyPolicy;
    /** Where the key's material is kept (docs/jurisdictions.md); absent in keys created before jurisdictions: `default`. */
    jurisdiction?: Jurisdiction;
  }
>;

/** A new version's material exists in a backend. Carries a reference to it, never the material. */
export type KeyVersionCreated = Event<
  'KeyVersionCreated',
  {
    keyId: string;
    version: number;
    algorithm: Algorithm;
    protectionLevel: ProtectionLevel;
    /** Opaque backend reference (software: material row id; HSM: object label). */
    materialRef: string;
    /** SHA-256 of the SubjectPublicKeyInfo for asymmetric keys. */
    publicKeyFingerprint?: string;
    /** HSM versions: attributes and module identity read back after generation. */
    origin?: HsmKeyOrigin;
    reason: RotationReason | 'INITIAL';
  }
>;

export type PrimaryVersionChanged = Event<
  'PrimaryVersionChanged',
  { keyId: string; version: number; previousVersion: number | null; reason: RotationReason | 'INITIAL' }
>;
export type KeyVersionDisabled = Event<'KeyVersionDisabled', { keyId: string; version: number }>;
export type KeyVersionEnabled = Event<'KeyVersionEnabled', { keyId: string; version: number }>;
export type KeyVersionDestructionScheduled = Event<
  'KeyVersionDestructionScheduled',
  { keyId: string; version: number; destroyAt: string; previousState: 'ENABLED' | 'DISABLED' }
>;
export type KeyVersionDestructionCancelled = Event<'KeyVersionDestructionCancelled', { keyId: string; version: number }>;
export type KeyVersionDestroyed = Event<
  'KeyVersionDestroyed',
  {
    keyId: string;
    version: number;
    materialRef: string;
    materialDestroyed: true;
    /** HSM versions: the token object was destroyed with C_DestroyObject. */
    hsmObjectDestroyed?: boolean;
    /** Break-glass keys: the escrow ceremony whose destruction declarations were all in (no waiting period). */
    escrowCeremonyId?: string;
  }
>;
export type RotationPolicyChanged = Event<
  'RotationPolicyChanged',
  { keyId: string; rotationPeriodDays: number; previousRotationPeriodDays: number }
>;
export type MinDecryptionVersionChanged = Event<
  'MinDecryptionVersionChanged',
  { keyId: string; minDecryptionVersion: number; previousMinDecryptionVersion: number }
>;

/** A version's material is believed exposed. It stays readable for re-encryption but is never primary again. */
export type KeyVersionCompromised = Event<'KeyVersionCompromised', { keyId: string; version: number }>;

/** A service or partner that must pick up new versions before old ones are retired. */
export type DependentRegistered = Event<'DependentRegistered', { keyId: string; dependentId: string; name: string; confirmedVersion: number }>;
export type DependentRemoved = Event<'DependentRemoved', { keyId: string; dependentId: string }>;
/** The dependent has picked up this version (and every earlier one). */
export type KeyVersionConfirmed = Event<'KeyVersionConfirmed', { keyId: string; dependentId: string; version: number }>;
/** The confirmation window of a primary version ended with registered dependents still not confirmed (an alert). */
export type DependentConfirmationsOverdue = Event<
  'DependentConfirmationsOverdue',
  { keyId: string; version: number; confirmBy: string; pending: Array<{ dependentId: string; name: string }> }
>;

export type KeyPolicyChanged = Event<'KeyPolicyChanged', { keyId: string; policy: KeyPolicy; previousPolicy: KeyPolicy }>;

/** The key's labels were replaced (metadata only: no material, no grant changes). */
export type KeyLabelsChanged = Event<'KeyLabelsChanged', { keyId: string; labels: Record<string, string>; previousLabels: Record<string, string> }>;

export type KeyEvent =
  | KeyCreated
  | KeyVersionCreated
  | PrimaryVersionChanged
  | KeyVersionDisabled
  | KeyVersionEnabled
  | KeyVersionDestructionScheduled
  | KeyVersionDestructionCancelled
  | KeyVersionDestroyed
  | RotationPolicyChanged
  | MinDecryptionVersionChanged
  | KeyPolicyChanged
  | KeyLabelsChanged
  | KeyVersionCompromised
  | DependentRegistered
  | DependentRemoved
  | KeyVersionConfirmed
  | DependentConfirmationsOverdue;

export type KeyEventType = KeyEvent['type'];

export const KEY_EVENT_TYPES: readonly KeyEventType[] = [
  'KeyCreated',
  'KeyVersionCreated',
  'PrimaryVersionChanged',
  'KeyVersionDisabled',
  'KeyVersionEnabled',
  'KeyVersionDestructionScheduled',
  'KeyVersionDestructionCancelled',
  'KeyVersionDestroyed',
  'RotationPolicyChanged',
  'MinDecryptionVersionChanged',
  'KeyPolicyChanged',
  'KeyLabelsChanged',
  'KeyVersionCompromised',
  'DependentRegistered',
  'DependentRemoved',
  'KeyVersionConfirmed',
  'DependentConfirmationsOverdue',
];

/** Stream holding one key's events. */
export function keyStreamId(keyId: string): string {
  return `${KEY_STREAM_PREFIX}${keyId}`;
}

/** Stream that reserves a key name within a tenant, so names stay unique without a read model. */
export function keyNameStreamId(tenant: string, name: string): string {
  return `${KEY_NAME_STREAM_PREFIX}${tenant}/${name}`;
}

export type KeyNameReserved = Event<'KeyNameReserved', { tenant: string; name: string; keyId: string }>;
