import { KmsError, invalidArgument } from '../errors/kms-error';
import type { Decider } from '../events/decider';
import type { CommandMetadata } from '../key/key.commands';
import type { EventMetadata } from '../key/key.events';
import { parseJurisdiction, type Jurisdiction } from './jurisdiction';

/** One stream per tenant holds the tenant's residency rules: `residency-<tenant>`. */
export const RESIDENCY_STREAM_PREFIX = 'residency-';

/** An ordered pair: material or plaintext of `from` may be processed under a key of `to`. */
export interface JurisdictionPair {
  from: Jurisdiction;
  to: Jurisdiction;
}

export type ResidencyCommand =
  | { type: 'AllowResidencyCrossing'; data: { tenant: string; from: string; to: string }; metadata: CommandMetadata }
  | { type: 'RevokeResidencyCrossing'; data: { tenant: string; from: string; to: string }; metadata: CommandMetadata };

type Event<T extends string, D> = { type: T; data: D; metadata: EventMetadata };
export type ResidencyCrossingAllowed = Event<'ResidencyCrossingAllowed', { tenant: string; from: Jurisdiction; to: Jurisdiction }>;
export type ResidencyCrossingRevoked = Event<'ResidencyCrossingRevoked', { tenant: string; from: Jurisdiction; to: Jurisdiction }>;
export type ResidencyEvent = ResidencyCrossingAllowed | ResidencyCrossingRevoked;
export const RESIDENCY_EVENT_TYPES: readonly ResidencyEvent['type'][] = ['ResidencyCrossingAllowed', 'ResidencyCrossingRevoked'];

/** A tenant's allowed crossings, as `from>to` strings. */
export interface ResidencyState {
  allowed: ReadonlySet<string>;
}

function pairKey(from: string, to: string): string {
  return `${from}>${to}`;
}

function metadataOf(m: CommandMetadata): EventMetadata {
  return {
    actor: m.actor,
    correlationId: m.correlationId,
    occurredAt: m.now.toISOString(),
    ...(m.reason !== undefined ? { reason: m.reason } : {}),
    ...(m.changeTicket !== undefined ? { changeTicket: m.changeTicket } : {}),
    ...(m.approvers !== undefined ? { approvers: m.approvers } : {}),
    ...(m.approvalId !== undefined ? { approvalId: m.approvalId } : {}),
  };
}

/** A rule change is a manual operation: it runs only with a second person's approval. */
function requireSecondPerson(m: CommandMetadata): void {
  const others = (m.approvers ?? []).filter((a) => a !== m.actor);
  if (others.length === 0) throw new KmsError('APPROVAL_REQUIRED', 'a residency rule changes only with the approval of a second person', 'approvers');
  if (!m.changeTicket) throw invalidArgument('context.change_ticket', 'is required to change a residency rule');
}

/**
 * Residency rules of one tenant as data: which ordered jurisdiction pairs may be crossed (e.g. a
 * ReEncrypt from a `de` key to an `eu-sovereign` key). Dual-authorized; allowing an allowed pair or
 * revoking an absent one decides nothing.
 */
export const residencyRulesDecider: Decider<ResidencyCommand, ResidencyEvent, ResidencyState> = {
  initialState: () => ({ allowed: new Set() }),
  decide(command, state) {
    const from = parseJurisdiction(command.data.from, 'from');
    const to = parseJurisdiction(command.data.to, 'to');
    if (from === to) throw invalidArgument('to', 'must differ from "from": a key\'s own jurisdiction needs no rule');
    if (!command.data.tenant) throw invalidArgument('tenant', 'is required');
    requireSecondPerson(command.metadata);
    const data = { tenant: command.data.tenant, from, to };
    const present = state.allowed.has(pairKey(from, to));
    switch (command.type) {
      case 'AllowResidencyCrossing':
        return present ? [] : [{ type: 'ResidencyCrossingAllowed', data, metadata: metadataOf(command.metadata) }];
      case 'RevokeResidencyCrossing':
        return present ? [{ type: 'ResidencyCrossingRevoked', data, metadata: metadataOf(command.metadata) }] : [];
      default: {
        const never: never = command;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  },
  evolve(state, event) {
    const next = new Set(state.allowed);
    switch (event.type) {
      case 'ResidencyCrossingAllowed':
        next.add(pairKey(event.data.from, event.data.to));
        return { allowed: next };
      case 'ResidencyCrossingRevoked':
        next.delete(pairKey(event.data.from, event.data.to));
        return { allowed: next };
      default: {
        const never: never = event;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  },
};

/** How an operation between two jurisdictions stands: within one, an allowed crossing (to audit as such), or refused. */
export type CrossingDecision = { kind: 'same-jurisdiction' } | { kind: 'allowed-crossing'; from: Jurisdiction; to: Jurisdiction };

/**
 * Decide whether an operation may move protected material or plaintext from a key of `from` to a
 * key of `to` for `tenant`. Refused (PERMISSION_DENIED, naming `field`) unless a rule allows the pair.
 */
export function decideCrossing(state: ResidencyState, tenant: string, from: Jurisdiction, to: Jurisdiction, field = 'destination_key_id'): CrossingDecision {
  if (from === to) return { kind: 'same-jurisdiction' };
  if (state.allowed.has(pairKey(from, to))) return { kind: 'allowed-crossing', from, to };
  throw new KmsError('PERMISSION_DENIED', `${field}: moving material from jurisdiction "${from}" to "${to}" is not allowed by a residency rule of tenant "${tenant}"`, field);
}
