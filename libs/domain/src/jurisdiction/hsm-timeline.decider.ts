import type { Decider } from '../events/decider';
import type { CommandMetadata } from '../key/key.commands';
import type { EventMetadata } from '../key/key.events';
import type { HsmKeyOrigin } from '../key/key-types';
import type { EnvironmentKind, Jurisdiction } from './jurisdiction';

/** One stream per configured HSM instance: `hsm-<instanceId>`, its timeline. */
export const HSM_STREAM_PREFIX = 'hsm-';

/** What the module reports about itself (C_GetInfo / C_GetTokenInfo). */
export type HsmIdentity = HsmKeyOrigin['module'];

/** The instance as declared in the configuration. */
export interface HsmDeclaration {
  instanceId: string;
  jurisdiction: Jurisdiction;
  provider: string;
  environment: EnvironmentKind;
  certifications: string[];
}

export type HsmTimelineCommand =
  | { type: 'ObserveHsmIdentity'; data: { declaration: HsmDeclaration; identity: HsmIdentity }; metadata: CommandMetadata }
  | { type: 'RecordHsmAttestationBundle'; data: { instanceId: string; bundleSha256: string; statementSha256: string; attestationKeyFingerprint: string }; metadata: CommandMetadata };

type Event<T extends string, D> = { type: T; data: D; metadata: EventMetadata };
/** The first time the KMS sees an instance, or its declaration changed. */
export type HsmInstanceRegistered = Event<'HsmInstanceRegistered', { declaration: HsmDeclaration; identity: HsmIdentity }>;
/** The module now reports another identity (a firmware update, a replaced module): the fields that changed, before and after. */
export type HsmIdentityChanged = Event<'HsmIdentityChanged', { instanceId: string; identity: HsmIdentity; changes: { field: keyof HsmIdentity; before: string; after: string }[] }>;
/** An attestation bundle (PDF + canonical JSON) was issued; its hash enters the ledger with this event. */
export type HsmAttestationBundleIssued = Event<'HsmAttestationBundleIssued', { instanceId: string; bundleSha256: string; statementSha256: string; attestationKeyFingerprint: string }>;
export type HsmTimelineEvent = HsmInstanceRegistered | HsmIdentityChanged | HsmAttestationBundleIssued;
export const HSM_TIMELINE_EVENT_TYPES: readonly HsmTimelineEvent['type'][] = ['HsmInstanceRegistered', 'HsmIdentityChanged', 'HsmAttestationBundleIssued'];

export interface HsmTimelineState {
  declaration?: HsmDeclaration;
  identity?: HsmIdentity;
}

const IDENTITY_FIELDS: readonly (keyof HsmIdentity)[] = ['manufacturer', 'model', 'serialNumber', 'firmwareVersion', 'hardwareVersion', 'tokenLabel', 'libraryDescription'];

function metadataOf(m: CommandMetadata): EventMetadata {
  return { actor: m.actor, correlationId: m.correlationId, occurredAt: m.now.toISOString(), ...(m.reason !== undefined ? { reason: m.reason } : {}) };
}

// Field by field: a stored declaration (jsonb) does not keep its keys' order.
function sameDeclaration(a: HsmDeclaration, b: HsmDeclaration): boolean {
  return (
    a.instanceId === b.instanceId &&
    a.jurisdiction === b.jurisdiction &&
    a.provider === b.provider &&
    a.environment === b.environment &&
    a.certifications.length === b.certifications.length &&
    a.certifications.every((c, i) => c === b.certifications[i])
  );
}

/**
 * The per-HSM timeline: identity recorded at start, and again only when something changed (firmware,
 * serial, model...), plus each attestation bundle issued. Observing the same identity decides nothing.
 */
export const hsmTimelineDecider: Decider<HsmTimelineCommand, HsmTimelineEvent, HsmTimelineState> = {
  initialState: () => ({}),
  decide(command, state) {
    switch (command.type) {
      case 'ObserveHsmIdentity': {
        const { declaration, identity } = command.data;
        const metadata = metadataOf(command.metadata);
        const registered: HsmTimelineEvent = { type: 'HsmInstanceRegistered', data: { declaration, identity }, metadata };
        if (!state.identity || !state.declaration) return [registered];
        // A changed declaration (jurisdiction, certifications...) is recorded in full, then what the module reports.
        if (!sameDeclaration(state.declaration, declaration)) return [registered, ...identityChange(declaration.instanceId, state.identity, identity, metadata)];
        return identityChange(declaration.instanceId, state.identity, identity, metadata);
      }
      case 'RecordHsmAttestationBundle':
        return [{ type: 'HsmAttestationBundleIssued', data: { ...command.data }, metadata: metadataOf(command.metadata) }];
      default: {
        const never: never = command;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'HsmInstanceRegistered':
        return { declaration: event.data.declaration, identity: event.data.identity };
      case 'HsmIdentityChanged':
        return { ...state, identity: event.data.identity };
      case 'HsmAttestationBundleIssued':
        return state;
      default: {
        const never: never = event;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  },
};

function identityChange(instanceId: string, before: HsmIdentity, after: HsmIdentity, metadata: EventMetadata): HsmTimelineEvent[] {
  const changes = IDENTITY_FIELDS.filter((f) => before[f] !== after[f]).map((field) => ({ field, before: before[field], after: after[field] }));
  return changes.length === 0 ? [] : [{ type: 'HsmIdentityChanged', data: { instanceId, identity: after, changes }, metadata }];
}
