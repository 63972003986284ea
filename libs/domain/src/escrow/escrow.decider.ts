import type { Decider } from '../events/decider';
import { KmsError, invalidArgument } from '../errors/kms-error';
import type { CommandMetadata } from '../key/key.commands';
import type { EventMetadata } from '../key/key.events';
import type {
  CustodianEvent,
  EscrowCeremonyEvent,
  EscrowPolicyEvent,
  PackageDestructionDeclared,
  ReconstructionCompleted,
  SealingCeremonyOpened,
  SharePackageSealed,
} from './escrow.events';

type Command<T extends string, D> = { type: T; data: D; metadata: CommandMetadata };

/** Fewest shares a break-glass key may need: one custodian alone never recovers it. */
export const MIN_ESCROW_THRESHOLD = 2;
/** Most shares the Shamir library splits into. */
export const MAX_ESCROW_SHARES = 255;

function meta(m: CommandMetadata): EventMetadata {
  return {
    actor: m.actor,
    correlationId: m.correlationId,
    occurredAt: m.now.toISOString(),
    ...(m.reason ? { reason: m.reason } : {}),
    ...(m.approvers?.length ? { approvers: m.approvers } : {}),
    ...(m.approvalId ? { approvalId: m.approvalId } : {}),
  };
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------- custodians

export type EnrolCustodian = Command<
  'EnrolCustodian',
  { identityId: string; encryptionPublicKey: string; signingPublicKey: string; encryptionKeyFingerprint: string; signingKeyFingerprint: string }
>;
export type CustodianState = { status: 'NONE' } | { status: 'ENROLLED'; identityId: string; encryptionPublicKey: string; signingPublicKey: string };

/** A person's escrow-custodian enrolment: once, with both public keys. */
export const custodianDecider: Decider<EnrolCustodian, CustodianEvent, CustodianState> = {
  initialState: () => ({ status: 'NONE' }),
  decide(command, state) {
    if (state.status === 'ENROLLED') throw new KmsError('ILLEGAL_TRANSITION', `identity_id: ${state.identityId} is already an escrow custodian`, 'identity_id');
    return [{ type: 'CustodianEnrolled', data: { ...command.data }, metadata: meta(command.metadata) }];
  },
  evolve(_state, event) {
    return { status: 'ENROLLED', identityId: event.data.identityId, encryptionPublicKey: event.data.encryptionPublicKey, signingPublicKey: event.data.signingPublicKey };
  },
};

// ---------------------------------------------------------------- escrow policy

export type SetEscrowPolicy = Command<
  'SetEscrowPolicy',
  { keyId: string; threshold: number; custodians: string[]; witness: string; declarationWindowHours: number; firstEscrowedVersion: number }
>;
/**
 * `firstEscrowedVersion`: the first version created under an escrow policy (the key's next version
 * when its first policy was set). From it on, a version is never usable in clear before it is sealed.
 */
export type EscrowPolicyState =
  | { status: 'NONE' }
  | { status: 'SET'; keyId: string; threshold: number; custodians: string[]; witness: string; declarationWindowHours: number; firstEscrowedVersion: number | null };

/** Validate k-of-n: k >= 2, n >= k, distinct custodians, a witness who holds no share. */
export function validateEscrowPolicy(p: { threshold: number; custodians: string[]; witness: string; declarationWindowHours: number }): void {
  if (!Number.isInteger(p.threshold) || p.threshold < MIN_ESCROW_THRESHOLD) throw invalidArgument('threshold', `must be an integer of at least ${MIN_ESCROW_THRESHOLD}`);
  if (new Set(p.custodians).size !== p.custodians.length) throw invalidArgument('custodians', 'must be distinct');
  if (p.custodians.length < p.threshold) throw invalidArgument('custodians', `${p.custodians.length} custodians cannot meet a threshold of ${p.threshold}`);
  if (p.custodians.length > MAX_ESCROW_SHARES) throw invalidArgument('custodians', `at most ${MAX_ESCROW_SHARES}`);
  if (!p.witness) throw invalidArgument('witness', 'is required');
  if (p.custodians.includes(p.witness)) throw invalidArgument('witness', 'must not be one of the custodians');
  if (!Number.isInteger(p.declarationWindowHours) || p.declarationWindowHours < 1) throw invalidArgument('declaration_window_hours', 'must be a whole number of hours, at least 1');
}

export const escrowPolicyDecider: Decider<SetEscrowPolicy, EscrowPolicyEvent, EscrowPolicyState> = {
  initialState: () => ({ status: 'NONE' }),
  decide(command) {
    validateEscrowPolicy(command.data);
    return [{ type: 'EscrowPolicySet', data: { ...command.data, custodians: [...command.data.custodians] }, metadata: meta(command.metadata) }];
  },
  evolve(state, event) {
    // A later policy changes the custodians, never from which version on the key is escrowed.
    const firstEscrowedVersion = state.status === 'SET' && state.firstEscrowedVersion !== null ? state.firstEscrowedVersion : (event.data.firstEscrowedVersion ?? null);
    return { status: 'SET', ...event.data, firstEscrowedVersion };
  },
};

// ---------------------------------------------------------------- ceremony

export interface CeremonyParticipant {
  custodianId: string;
  shareIndex: number;
  commitment: string;
  packageFingerprint: string;
  counterSigned: boolean;
  declared: boolean;
}

export interface Reconstruction {
  reconstructionId: string;
  purpose: 'DRILL' | 'UNSEAL';
  expiresAt: string;
  accepted: string[];
  completed: boolean;
}

export type CeremonyStatus = 'NONE' | 'SEALING' | 'SEALED' | 'SUPERSEDED' | 'DESTROYED';

export interface EscrowCeremonyState {
  status: CeremonyStatus;
  ceremonyId: string;
  keyId: string;
  version: number;
  threshold: number;
  shareCount: number;
  keyFingerprint: string;
  participants: CeremonyParticipant[];
  transcriptSigned: boolean;
  declareBy: string | null;
  overdueRaised: boolean;
  reconstructions: Reconstruction[];
  lastDrillAt: string | null;
  usableUntil: string | null;
}

export type SealEscrow = Command<
  'SealEscrow',
  {
    opened: SealingCeremonyOpened['data'];
    packages: SharePackageSealed['data'][];
    transcript: Record<string, unknown>;
    attestationSignature: string;
    attestationPublicKeyPem?: string;
  }
>;
/** A participant's Ed25519 counter-signature, already verified against their enrolled key. */
export type CounterSignTranscript = Command<'CounterSignTranscript', { custodianId: string; signature: string }>;
export type SupersedeEscrow = Command<'SupersedeEscrow', { byCeremonyId: string; declareBy: Date }>;
export type DeclarePackageDestroyed = Command<'DeclarePackageDestroyed', PackageDestructionDeclared['data']>;
/** Run at or after declareBy: destroyed when all are in, an overdue alert otherwise. */
export type SettleDeclarations = Command<'SettleDeclarations', { hsmObjectDestroyed?: boolean; materialDestroyed: boolean }>;
export type OpenReconstruction = Command<'OpenReconstruction', { reconstructionId: string; purpose: 'DRILL' | 'UNSEAL'; ceremonyKeyFingerprint: string; ceremonyPublicKey?: string; expiresAt: Date }>;
export type RecordShareSubmission = Command<
  'RecordShareSubmission',
  {
    reconstructionId: string;
    custodianId: string;
    shareIndex: number;
    /** submission: the accepted share encrypted to the ceremony key, as the custodian sent it. */
    outcome: { accepted: true; submission?: Record<string, string> } | { accepted: false; reason: string };
  }
>;
export type CompleteReconstruction = Command<'CompleteReconstruction', Omit<ReconstructionCompleted['data'], 'ceremonyId'>>;

export type EscrowCeremonyCommand =
  | SealEscrow
  | CounterSignTranscript
  | SupersedeEscrow
  | DeclarePackageDestroyed
  | SettleDeclarations
  | OpenReconstruction
  | RecordShareSubmission
  | CompleteReconstruction;

function illegal(message: string): KmsError<'ILLEGAL_TRANSITION'> {
  return new KmsError('ILLEGAL_TRANSITION', message);
}

function participant(state: EscrowCeremonyState, custodianId: string, field: string): CeremonyParticipant {
  const p = state.participants.find((x) => x.custodianId === custodianId);
  if (!p) throw new KmsError('PERMISSION_DENIED', `${field}: ${custodianId} holds no package of ceremony ${state.ceremonyId}`, field);
  return p;
}

function openReconstruction(state: EscrowCeremonyState, id: string, now: Date): Reconstruction {
  const r = state.reconstructions.find((x) => x.reconstructionId === id);
  if (!r) throw invalidArgument('reconstruction_id', `no reconstruction ${id} in ceremony ${state.ceremonyId}`);
  if (r.completed) throw illegal(`reconstruction ${id} is already complete`);
  if (new Date(r.expiresAt).getTime() <= now.getTime()) throw illegal(`reconstruction ${id} expired at ${r.expiresAt}`);
  return r;
}

/** Custodians of a superseded ceremony who have not declared their package destroyed. */
export function pendingDeclarations(state: EscrowCeremonyState): string[] {
  return state.status === 'SUPERSEDED' ? state.participants.filter((p) => !p.declared).map((p) => p.custodianId) : [];
}

export function decideEscrowCeremony(command: EscrowCeremonyCommand, state: EscrowCeremonyState): EscrowCeremonyEvent[] {
  const metadata = meta(command.metadata);
  const now = command.metadata.now;
  switch (command.type) {
    case 'SealEscrow': {
      if (state.status !== 'NONE') throw illegal(`key ${state.keyId} version ${state.version} is already sealed in ceremony ${state.ceremonyId}`);
      const { opened, packages } = command.data;
      if (opened.threshold < MIN_ESCROW_THRESHOLD || opened.shareCount < opened.threshold) throw invalidArgument('threshold', 'k >= 2 and n >= k');
      if (packages.length !== opened.shareCount || opened.custodians.length !== opened.shareCount) throw invalidArgument('custodians', 'one package per custodian');
      if (!HEX_SHA256.test(opened.keyFingerprint)) throw invalidArgument('key_fingerprint', 'must be a hex SHA-256');
      for (const p of packages) {
        if (!opened.custodians.includes(p.custodianId)) throw invalidArgument('custodians', `${p.custodianId} is not a declared participant`);
        if (!HEX_SHA256.test(p.commitment) || !HEX_SHA256.test(p.packageFingerprint)) throw invalidArgument('packages', 'commitments and fingerprints are hex SHA-256');
      }
      return [
        { type: 'SealingCeremonyOpened', data: opened, metadata },
        ...packages.map((p): EscrowCeremonyEvent => ({ type: 'SharePackageSealed', data: p, metadata })),
        {
          type: 'SealingTranscriptSigned',
          data: {
            ceremonyId: opened.ceremonyId,
            transcript: command.data.transcript,
            attestationSignature: command.data.attestationSignature,
            ...(command.data.attestationPublicKeyPem ? { attestationPublicKeyPem: command.data.attestationPublicKeyPem } : {}),
          },
          metadata,
        },
      ];
    }
    case 'CounterSignTranscript': {
      if (state.status === 'NONE') throw illegal('no sealing ceremony to counter-sign');
      const p = participant(state, command.data.custodianId, 'custodian_id');
      if (p.counterSigned) return [];
      return [{ type: 'SealingTranscriptCounterSigned', data: { ceremonyId: state.ceremonyId, custodianId: p.custodianId, signature: command.data.signature }, metadata }];
    }
    case 'SupersedeEscrow': {
      if (state.status !== 'SEALED' && state.status !== 'SEALING') throw illegal(`ceremony ${state.ceremonyId || '(none)'} is ${state.status}: nothing to supersede`);
      return [{ type: 'EscrowPackagesSuperseded', data: { ceremonyId: state.ceremonyId, byCeremonyId: command.data.byCeremonyId, declareBy: command.data.declareBy.toISOString() }, metadata }];
    }
    case 'DeclarePackageDestroyed': {
      if (state.status !== 'SUPERSEDED') throw illegal(`ceremony ${state.ceremonyId || '(none)'} is ${state.status}: only a superseded package is declared destroyed`);
      const p = participant(state, command.data.custodianId, 'custodian_id');
      if (p.declared) return [];
      if (command.data.packageFingerprint !== p.packageFingerprint) throw invalidArgument('package_fingerprint', `is not the fingerprint of the package sealed to ${p.custodianId}`);
      return [{ type: 'PackageDestructionDeclared', data: command.data, metadata }];
    }
    case 'SettleDeclarations': {
      if (state.status !== 'SUPERSEDED') throw illegal(`ceremony ${state.ceremonyId || '(none)'} is ${state.status}, not SUPERSEDED`);
      const pending = pendingDeclarations(state);
      if (pending.length === 0) {
        if (!command.data.materialDestroyed) throw illegal('every declaration is in but the material was not destroyed');
        return [
          {
            type: 'EscrowedVersionDestroyed',
            data: { ceremonyId: state.ceremonyId, keyId: state.keyId, version: state.version, hsmObjectDestroyed: command.data.hsmObjectDestroyed === true },
            metadata,
          },
        ];
      }
      if (command.data.materialDestroyed) throw illegal(`material destroyed with declarations pending from ${pending.join(', ')}`);
      if (state.declareBy && new Date(state.declareBy).getTime() > now.getTime()) throw new KmsError('CONFIRMATIONS_NOT_OVERDUE', `declarations are due by ${state.declareBy}`);
      if (state.overdueRaised) return [];
      return [
        { type: 'EscrowDeclarationOverdue', data: { ceremonyId: state.ceremonyId, keyId: state.keyId, version: state.version, declareBy: state.declareBy ?? now.toISOString(), pending }, metadata },
      ];
    }
    case 'OpenReconstruction': {
      if (state.status === 'NONE' || state.status === 'DESTROYED' || state.status === 'SEALING') throw illegal(`ceremony ${state.ceremonyId || '(none)'} is ${state.status}: nothing to recombine`);
      if (state.reconstructions.some((r) => r.reconstructionId === command.data.reconstructionId)) throw invalidArgument('reconstruction_id', 'is already used');
      return [
        {
          type: 'ReconstructionOpened',
          data: {
            ceremonyId: state.ceremonyId,
            reconstructionId: command.data.reconstructionId,
            purpose: command.data.purpose,
            ceremonyKeyFingerprint: command.data.ceremonyKeyFingerprint,
            ...(command.data.ceremonyPublicKey ? { ceremonyPublicKey: command.data.ceremonyPublicKey } : {}),
            expiresAt: command.data.expiresAt.toISOString(),
          },
          metadata,
        },
      ];
    }
    case 'RecordShareSubmission': {
      const r = openReconstruction(state, command.data.reconstructionId, now);
      const p = participant(state, command.data.custodianId, 'custodian_id');
      const { outcome } = command.data;
      if (!outcome.accepted) {
        return [{ type: 'ShareSubmissionRefused', data: { ceremonyId: state.ceremonyId, reconstructionId: r.reconstructionId, custodianId: p.custodianId, reason: outcome.reason }, metadata }];
      }
      if (r.accepted.includes(p.custodianId)) throw invalidArgument('custodian_id', `${p.custodianId} already submitted a share to reconstruction ${r.reconstructionId}`);
      return [
        {
          type: 'ShareSubmissionAccepted',
          data: { ceremonyId: state.ceremonyId, reconstructionId: r.reconstructionId, custodianId: p.custodianId, shareIndex: p.shareIndex, ...(outcome.submission ? { submission: { ...outcome.submission } } : {}) },
          metadata,
        },
      ];
    }
    case 'CompleteReconstruction': {
      const r = openReconstruction(state, command.data.reconstructionId, now);
      if (r.accepted.length < state.threshold) throw illegal(`${r.accepted.length} of ${state.threshold} shares: not enough to recombine`);
      if (r.purpose !== command.data.purpose) throw invalidArgument('purpose', `reconstruction ${r.reconstructionId} is a ${r.purpose}`);
      if (r.purpose === 'DRILL' && command.data.usableUntil !== null) throw illegal('a drill never enables use');
      return [{ type: 'ReconstructionCompleted', data: { ceremonyId: state.ceremonyId, ...command.data }, metadata }];
    }
    default: {
      const never: never = command;
      throw new Error(`unknown command ${(never as { type: string }).type}`);
    }
  }
}

export function evolveEscrowCeremony(state: EscrowCeremonyState, event: EscrowCeremonyEvent): EscrowCeremonyState {
  const d = event.data;
  switch (event.type) {
    case 'SealingCeremonyOpened':
      return {
        ...state,
        status: 'SEALING',
        ceremonyId: event.data.ceremonyId,
        keyId: event.data.keyId,
        version: event.data.version,
        threshold: event.data.threshold,
        shareCount: event.data.shareCount,
        keyFingerprint: event.data.keyFingerprint,
      };
    case 'SharePackageSealed':
      return {
        ...state,
        participants: [
          ...state.participants,
          { custodianId: event.data.custodianId, shareIndex: event.data.shareIndex, commitment: event.data.commitment, packageFingerprint: event.data.packageFingerprint, counterSigned: false, declared: false },
        ],
      };
    case 'SealingTranscriptSigned':
      return { ...state, transcriptSigned: true };
    case 'SealingTranscriptCounterSigned': {
      const participants = state.participants.map((p) => (p.custodianId === event.data.custodianId ? { ...p, counterSigned: true } : p));
      return { ...state, participants, status: state.status === 'SEALING' && participants.every((p) => p.counterSigned) ? 'SEALED' : state.status };
    }
    case 'EscrowPackagesSuperseded':
      return { ...state, status: 'SUPERSEDED', declareBy: event.data.declareBy };
    case 'PackageDestructionDeclared':
      return { ...state, participants: state.participants.map((p) => (p.custodianId === event.data.custodianId ? { ...p, declared: true } : p)) };
    case 'EscrowDeclarationOverdue':
      return { ...state, overdueRaised: true };
    case 'EscrowedVersionDestroyed':
      return { ...state, status: 'DESTROYED', usableUntil: null };
    case 'ReconstructionOpened':
      return {
        ...state,
        reconstructions: [...state.reconstructions, { reconstructionId: event.data.reconstructionId, purpose: event.data.purpose, expiresAt: event.data.expiresAt, accepted: [], completed: false }],
      };
    case 'ShareSubmissionAccepted':
      return {
        ...state,
        reconstructions: state.reconstructions.map((r) => (r.reconstructionId === event.data.reconstructionId ? { ...r, accepted: [...r.accepted, event.data.custodianId] } : r)),
      };
    case 'ShareSubmissionRefused':
      return state;
    case 'ReconstructionCompleted':
      return {
        ...state,
        reconstructions: state.reconstructions.map((r) => (r.reconstructionId === event.data.reconstructionId ? { ...r, completed: true } : r)),
        lastDrillAt: event.data.purpose === 'DRILL' ? event.metadata.occurredAt : state.lastDrillAt,
        usableUntil: event.data.usableUntil ?? state.usableUntil,
      };
    default: {
      const never: never = event;
      throw new Error(`unknown event ${JSON.stringify(never ?? d)}`);
    }
  }
}

export function initialEscrowCeremonyState(): EscrowCeremonyState {
  return {
    status: 'NONE',
    ceremonyId: '',
    keyId: '',
    version: 0,
    threshold: 0,
    shareCount: 0,
    keyFingerprint: '',
    participants: [],
    transcriptSigned: false,
    declareBy: null,
    overdueRaised: false,
    reconstructions: [],
    lastDrillAt: null,
    usableUntil: null,
  };
}

/** The sealing ceremony of one break-glass key version and what later happens to its packages. */
export const escrowCeremonyDecider: Decider<EscrowCeremonyCommand, EscrowCeremonyEvent, EscrowCeremonyState> = {
  decide: decideEscrowCeremony,
  evolve: evolveEscrowCeremony,
  initialState: initialEscrowCeremonyState,
};
