import { codec, type EventCodec } from '../events/event-codec';
import {
  CUSTODIAN_EVENT_TYPES,
  ESCROW_CEREMONY_EVENT_TYPES,
  ESCROW_POLICY_EVENT_TYPES,
  type CustodianEvent,
  type EscrowCeremonyEvent,
  type EscrowPolicyEvent,
} from './escrow.events';

export const custodianEventCodec: EventCodec<CustodianEvent> = codec<CustodianEvent>('escrow custodian', CUSTODIAN_EVENT_TYPES);
export const escrowPolicyEventCodec: EventCodec<EscrowPolicyEvent> = codec<EscrowPolicyEvent>('escrow policy', ESCROW_POLICY_EVENT_TYPES);
export const escrowCeremonyEventCodec: EventCodec<EscrowCeremonyEvent> = codec<EscrowCeremonyEvent>('escrow ceremony', ESCROW_CEREMONY_EVENT_TYPES);
