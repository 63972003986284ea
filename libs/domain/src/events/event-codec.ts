import { type ApprovalEvent } from '../access/approval.decider';
import { type IdentityEvent } from '../access/identity.decider';
import { PERSON_FACTORS_EVENT_TYPES, type PersonFactorsEvent } from '../access/person-factors.decider';
import { KEY_EVENT_TYPES, type KeyEvent } from '../key/key.events';
import { HSM_TIMELINE_EVENT_TYPES, type HsmTimelineEvent } from '../jurisdiction/hsm-timeline.decider';
import { RESIDENCY_EVENT_TYPES, type ResidencyEvent } from '../jurisdiction/residency-rules.decider';
import { LEGAL_ARTIFACT_EVENT_TYPES, type LegalArtifactEvent } from '../jurisdiction/legal-artifacts.decider';
import { PROOF_CHAIN_EVENT_TYPES, type ProofChainEvent } from '../proof/proof-chain.decider';
import { DRILL_LOG_EVENT_TYPES, type DrillLogEvent } from '../drill/drill-log.decider';
export * from './stream-ids';

/** An event as any store hands it back: a type name and JSON data and metadata. */
export interface RawEvent {
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** Thrown when a stored event is not one of the aggregate's events (a foreign or corrupt row). */
export class UnknownEventError extends Error {
  override readonly name = 'UnknownEventError';
  constructor(
    readonly aggregate: string,
    readonly eventType: string,
  ) {
    super(`not a ${aggregate} event: ${eventType}`);
  }
}

/** Narrow a stored event to one of an aggregate's event types, checking the name and the shape. */
export interface EventCodec<E> {
  /** True when the type names one of this aggregate's events. */
  accepts(type: string): boolean;
  /** The event as its aggregate's union; UnknownEventError otherwise. */
  parse(raw: RawEvent): E;
}

/** A codec for an aggregate whose events have the given type names. */
export function codec<E>(aggregate: string, types: readonly string[]): EventCodec<E> {
  const known = new Set(types);
  return {
    accepts: (type) => known.has(type),
    parse(raw) {
      if (!known.has(raw.type) || typeof raw.data !== 'object' || raw.data === null || typeof raw.metadata !== 'object' || raw.metadata === null) {
        throw new UnknownEventError(aggregate, raw.type);
      }
      // The name is one of the union's and the payload an object: the union member is the name's.
      return { type: raw.type, data: raw.data, metadata: raw.metadata } as E;
    },
  };
}

export const IDENTITY_EVENT_TYPES: readonly IdentityEvent['type'][] = ['IdentityRegistered', 'IdentityCredentialRotated', 'IdentitySuspended', 'IdentityReEnabled', 'IdentityRolesChanged', 'IdentityCertificateBound', 'IdentityCertificateUnbound'];
export const APPROVAL_EVENT_TYPES: readonly ApprovalEvent['type'][] = ['ApprovalRequested', 'ApprovalGranted', 'ApprovalRejected', 'ApprovalExpired', 'ApprovedOperationExecuted'];

export const keyEventCodec: EventCodec<KeyEvent> = codec<KeyEvent>('key', KEY_EVENT_TYPES);
export const identityEventCodec: EventCodec<IdentityEvent> = codec<IdentityEvent>('identity', IDENTITY_EVENT_TYPES);
export const approvalEventCodec: EventCodec<ApprovalEvent> = codec<ApprovalEvent>('approval', APPROVAL_EVENT_TYPES);
export const personFactorsEventCodec: EventCodec<PersonFactorsEvent> = codec<PersonFactorsEvent>('person factors', PERSON_FACTORS_EVENT_TYPES);

/** A stored key event as the key event union (UnknownEventError for anything else). */
export function parseKeyEvent(raw: RawEvent): KeyEvent {
  return keyEventCodec.parse(raw);
}

// Jurisdictions (docs/jurisdictions.md): the per-HSM timeline and the tenants' residency rules.
export const hsmTimelineEventCodec: EventCodec<HsmTimelineEvent> = codec<HsmTimelineEvent>('HSM timeline', HSM_TIMELINE_EVENT_TYPES);
export const residencyEventCodec: EventCodec<ResidencyEvent> = codec<ResidencyEvent>('residency', RESIDENCY_EVENT_TYPES);
export const legalArtifactEventCodec: EventCodec<LegalArtifactEvent> = codec<LegalArtifactEvent>('legal artifacts', LEGAL_ARTIFACT_EVENT_TYPES);
export const proofChainEventCodec: EventCodec<ProofChainEvent> = codec<ProofChainEvent>('proof chain', PROOF_CHAIN_EVENT_TYPES);
export const drillLogEventCodec: EventCodec<DrillLogEvent> = codec<DrillLogEvent>('drill log', DRILL_LOG_EVENT_TYPES);
