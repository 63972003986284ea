import type { KeyPolicy } from '../access/access-types';
import type { Jurisdiction } from '../jurisdiction/jurisdiction';
import type { Algorithm, HsmKeyOrigin, KeyPurpose, KeyVersionState, ProtectionLevel } from './key-types';

/** One version of a key as the lifecycle sees it. Never holds material. */
export interface KeyVersion {
  version: number;
  algorithm: Algorithm;
  protectionLevel: ProtectionLevel;
  state: KeyVersionState;
  createdAt: string;
  materialRef: string;
  publicKeyFingerprint?: string;
  /** HSM versions: where the key was generated. */
  origin?: HsmKeyOrigin;
  /** Set when the version was reported compromised. */
  compromisedAt?: string;
  /** Set while DESTROY_SCHEDULED. */
  destroyAt?: string;
  /** State the version returns to if destruction is cancelled. */
  stateBeforeDestroySchedule?: 'ENABLED' | 'DISABLED';
  destroyedAt?: string;
}

/** A registered dependent and the newest version it confirmed. */
export interface KeyDependent {
  dependentId: string;
  name: string;
  registeredAt: string;
  confirmedVersion: number;
  confirmedAt?: string;
}

export interface KeyRecord {
  keyId: string;
  tenant: string;
  name: string;
  purpose: KeyPurpose;
  algorithm: Algorithm;
  protectionLevel: ProtectionLevel;
  labels: Record<string, string>;
  owner: string;
  /** Where the key's material is generated and kept; residency rules apply between jurisdictions. */
  jurisdiction: Jurisdiction;
  createdAt: string;
  rotationPeriodDays: number;
  /** Ordered by version number, starting at 1. */
  versions: KeyVersion[];
  primaryVersion: number;
  minDecryptionVersion: number;
  /** When the current primary became primary: the start of its rotation period. */
  primarySince: string;
  policy: KeyPolicy;
  /** Services and partners that must confirm a new primary before older versions are retired. */
  dependents: Record<string, KeyDependent>;
  /** The primary version whose overdue confirmations were last reported (one alert per version). */
  confirmationsOverdueReported?: number;
}

/**
 * A key is `Enabled` while its primary version can serve new operations and `Disabled` when the
 * primary version has been disabled (no new encryption until it is enabled or the key rotated by a
 * person after enabling).
 */
export type KeyState =
  | { status: 'NotCreated' }
  | { status: 'Enabled'; key: KeyRecord }
  | { status: 'Disabled'; key: KeyRecord };

export type ExistingKeyState = Exclude<KeyState, { status: 'NotCreated' }>;

export function initialState(): KeyState {
  return { status: 'NotCreated' };
}
