import type { EventMetadata } from '../key/key.events';

type Event<T extends string, D> = { type: T; data: D; metadata: EventMetadata };

/** Stream prefixes of the escrow aggregates. */
export const CUSTODIAN_STREAM_PREFIX = 'escrow-custodian-';
export const ESCROW_POLICY_STREAM_PREFIX = 'escrow-policy-';
export const ESCROW_CEREMONY_STREAM_PREFIX = 'escrow-ceremony-';

/** A person's escrow-custodian enrolment: `escrow-custodian-<identityId>`. */
export function custodianStreamId(identityId: string): string {
  return `${CUSTODIAN_STREAM_PREFIX}${identityId}`;
}
/** A break-glass key's escrow policy: `escrow-policy-<keyId>`. */
export function escrowPolicyStreamId(keyId: string): string {
  return `${ESCROW_POLICY_STREAM_PREFIX}${keyId}`;
}
/** The sealing ceremony of one key version, and everything that later happens to its packages. */
export function escrowCeremonyStreamId(keyId: string, version: number): string {
  return `${ESCROW_CEREMONY_STREAM_PREFIX}${keyId}-v${version}`;
}

/** The key and version of an escrow ceremony stream (the inverse of escrowCeremonyStreamId), or undefined. */
export function escrowCeremonyStreamTarget(streamId: string): { keyId: string; version: number } | undefined {
  if (!streamId.startsWith(ESCROW_CEREMONY_STREAM_PREFIX)) return undefined;
  const m = /^(.+)-v([1-9][0-9]*)$/.exec(streamId.slice(ESCROW_CEREMONY_STREAM_PREFIX.length));
  return m ? { keyId: m[1], version: Number(m[2]) } : undefined;
}

/** Public keys only: X25519 to receive shares, Ed25519 to sign declarations and counter-signatures. */
export type CustodianEnrolled = Event<
  'CustodianEnrolled',
  { identityId: string; encryptionPublicKey: string; signingPublicKey: string; encryptionKeyFingerprint: string; signingKeyFingerprint: string }
>;
export type CustodianEvent = CustodianEnrolled;

/** k-of-n over named custodians, with a witness who is not a custodian. */
export type EscrowPolicySet = Event<
  'EscrowPolicySet',
  /** firstEscrowedVersion: absent in policies recorded before it existed. */
  { keyId: string; threshold: number; custodians: string[]; witness: string; declarationWindowHours: number; firstEscrowedVersion?: number }
>;
export type EscrowPolicyEvent = EscrowPolicySet;

export type SealingCeremonyOpened = Event<
  'SealingCeremonyOpened',
  {
    ceremonyId: string;
    keyId: string;
    version: number;
    threshold: number;
    shareCount: number;
    witness: string;
    custodians: string[];
    keyFingerprint: string;
    previousCeremonyId: string | null;
  }
>;
/** One share sealed to one custodian. Its commitment and package fingerprint, never the share. */
/**
 * `box`: the share encrypted to the custodian's X25519 key (only their private key opens it), kept
 * so the custodian fetches their package from the KMS (GetEscrowPackage). Never a share in clear.
 */
export type SharePackageSealed = Event<
  'SharePackageSealed',
  { ceremonyId: string; custodianId: string; shareIndex: number; commitment: string; packageFingerprint: string; box?: Record<string, string> }
>;
/** The transcript, signed by the KMS attestation key (base64 DER ECDSA). */
/** `attestationPublicKeyPem`: the public key that signed (a public key; absent in ceremonies recorded before it), for the evidence bundle. */
export type SealingTranscriptSigned = Event<
  'SealingTranscriptSigned',
  { ceremonyId: string; transcript: Record<string, unknown>; attestationSignature: string; attestationPublicKeyPem?: string }
>;
export type SealingTranscriptCounterSigned = Event<'SealingTranscriptCounterSigned', { ceremonyId: string; custodianId: string; signature: string }>;
/** A newer ceremony replaced this one: custodians must declare their packages destroyed by `declareBy`. */
export type EscrowPackagesSuperseded = Event<'EscrowPackagesSuperseded', { ceremonyId: string; byCeremonyId: string; declareBy: string }>;
export type PackageDestructionDeclared = Event<
  'PackageDestructionDeclared',
  { ceremonyId: string; custodianId: string; packageFingerprint: string; declaration: Record<string, unknown>; signature: string }
>;
/** The declaration window ended with declarations missing: an urgent alert, and no destruction. */
export type EscrowDeclarationOverdue = Event<'EscrowDeclarationOverdue', { ceremonyId: string; keyId: string; version: number; declareBy: string; pending: string[] }>;
/** Every declaration is in: the version's material was destroyed (crypto-shred / C_DestroyObject). */
export type EscrowedVersionDestroyed = Event<'EscrowedVersionDestroyed', { ceremonyId: string; keyId: string; version: number; hsmObjectDestroyed: boolean }>;
/**
 * `ceremonyPublicKey`: the X25519 public key custodians encrypt their shares to (base64 DER; absent
 * in reconstructions recorded before it). Its private key is kept only wrapped by the key backend,
 * until the reconstruction completes or expires.
 */
export type ReconstructionOpened = Event<
  'ReconstructionOpened',
  { ceremonyId: string; reconstructionId: string; purpose: 'DRILL' | 'UNSEAL'; ceremonyKeyFingerprint: string; ceremonyPublicKey?: string; expiresAt: string }
>;
/**
 * `submission`: the share as the custodian sent it, encrypted to the ceremony key (never the share
 * in clear), so an open reconstruction survives a restart. Once the reconstruction completes or
 * expires its ceremony key is deleted and the submission no longer opens.
 */
export type ShareSubmissionAccepted = Event<
  'ShareSubmissionAccepted',
  { ceremonyId: string; reconstructionId: string; custodianId: string; shareIndex: number; submission?: Record<string, string> }
>;
export type ShareSubmissionRefused = Event<'ShareSubmissionRefused', { ceremonyId: string; reconstructionId: string; custodianId: string; reason: string }>;
export type ReconstructionCompleted = Event<
  'ReconstructionCompleted',
  { ceremonyId: string; reconstructionId: string; purpose: 'DRILL' | 'UNSEAL'; transcript: Record<string, unknown>; attestationSignature: string; usableUntil: string | null }
>;

export type EscrowCeremonyEvent =
  | SealingCeremonyOpened
  | SharePackageSealed
  | SealingTranscriptSigned
  | SealingTranscriptCounterSigned
  | EscrowPackagesSuperseded
  | PackageDestructionDeclared
  | EscrowDeclarationOverdue
  | EscrowedVersionDestroyed
  | ReconstructionOpened
  | ShareSubmissionAccepted
  | ShareSubmissionRefused
  | ReconstructionCompleted;

export const CUSTODIAN_EVENT_TYPES: readonly CustodianEvent['type'][] = ['CustodianEnrolled'];
export const ESCROW_POLICY_EVENT_TYPES: readonly EscrowPolicyEvent['type'][] = ['EscrowPolicySet'];
export const ESCROW_CEREMONY_EVENT_TYPES: readonly EscrowCeremonyEvent['type'][] = [
  'SealingCeremonyOpened',
  'SharePackageSealed',
  'SealingTranscriptSigned',
  'SealingTranscriptCounterSigned',
  'EscrowPackagesSuperseded',
  'PackageDestructionDeclared',
  'EscrowDeclarationOverdue',
  'EscrowedVersionDestroyed',
  'ReconstructionOpened',
  'ShareSubmissionAccepted',
  'ShareSubmissionRefused',
  'ReconstructionCompleted',
];
