/** `type` of the documents of an escrow ceremony, version 1. */
export const SEALING_TRANSCRIPT_TYPE = 'kms.escrow.sealing-transcript.v1';
export const DESTRUCTION_DECLARATION_TYPE = 'kms.escrow.destruction-declaration.v1';
export const RECONSTRUCTION_TRANSCRIPT_TYPE = 'kms.escrow.reconstruction-transcript.v1';

/** One custodian's place in a sealing ceremony: their keys, their share's commitment and package. */
export interface SealingParticipant {
  custodianId: string;
  shareIndex: number;
  encryptionPublicKey: string;
  signingPublicKey: string;
  /** Hex SHA-256 commitment to the share (see shareCommitment). */
  commitment: string;
  /** Hex SHA-256 of the sealed package's canonical JSON. */
  packageFingerprint: string;
}

/** What happened in a sealing ceremony, in order. Its canonical JSON is what gets signed. */
export interface SealingTranscript {
  type: typeof SEALING_TRANSCRIPT_TYPE;
  ceremonyId: string;
  keyId: string;
  version: number;
  algorithm: string;
  protectionLevel: string;
  threshold: number;
  shareCount: number;
  initiatedBy: string;
  witness: string;
  participants: SealingParticipant[];
  /** Fingerprint of the escrowed material (see escrowKeyFingerprint). */
  keyFingerprint: string;
  /** The ceremony this one replaces (a reseal), if any. */
  previousCeremonyId: string | null;
  steps: Array<{ step: string; at: string }>;
  sealedAt: string;
  attestationKeyFingerprint: string;
}

/** A sealing transcript with the KMS attestation signature and each participant's counter-signature. */
export interface SignedSealingTranscript {
  transcript: SealingTranscript;
  /** Base64 DER ECDSA P-256/SHA-256 by the KMS attestation key. */
  attestationSignature: string;
  /** custodianId -> base64 Ed25519 signature over the transcript. */
  counterSignatures: Record<string, string>;
}

/** A custodian's statement that they destroyed their copy of a package. */
export interface DestructionDeclaration {
  type: typeof DESTRUCTION_DECLARATION_TYPE;
  ceremonyId: string;
  keyId: string;
  version: number;
  custodianId: string;
  packageFingerprint: string;
  declaredAt: string;
}

export interface SignedDestructionDeclaration {
  declaration: DestructionDeclaration;
  /** Base64 Ed25519 by the custodian's signing key. */
  signature: string;
}

/** A recombination: a drill (verify only) or an emergency unseal (use enabled for a window). */
export interface ReconstructionTranscript {
  type: typeof RECONSTRUCTION_TRANSCRIPT_TYPE;
  reconstructionId: string;
  purpose: 'DRILL' | 'UNSEAL';
  ceremonyId: string;
  keyId: string;
  version: number;
  requestedBy: string;
  approvers: string[];
  /** Shares that passed their commitment and went into the recombination. */
  accepted: Array<{ custodianId: string; shareIndex: number; packageFingerprint: string }>;
  /** Shares refused before recombination, with why (never their content). */
  refused: Array<{ custodianId: string; shareIndex: number; reason: string }>;
  /** Fingerprint of the recombined material; equals the sealing transcript's. */
  keyFingerprint: string;
  verified: boolean;
  completedAt: string;
  /** UNSEAL: until when the key may be used. */
  usableUntil: string | null;
  attestationKeyFingerprint: string;
}

export interface SignedReconstructionTranscript {
  transcript: ReconstructionTranscript;
  attestationSignature: string;
}
