import { evolve, type ExistingKeyState, type KeyEvent, type KeyRecord, type KeyState, nextRotationAt } from '@kms/domain';

/** One row of rm_key_state_ledger: a state change with who, why and under which approval. */
export interface KeyStateLedgerRow {
  position: string;
  keyId: string;
  version: number | null;
  eventType: string;
  fromState: string | null;
  toState: string | null;
  occurredAt: string;
  actor: string;
  approvers: string[];
  approvalId: string | null;
  changeTicket: string | null;
  reason: string | null;
  correlationId: string | null;
}

export interface KeyRow {
  keyId: string;
  tenant: string;
  name: string;
  purpose: string;
  algorithm: string;
  protectionLevel: string;
  owner: string;
  labels: Record<string, string>;
  status: string;
  primaryVersion: number;
  minDecryptionVersion: number;
  rotationPeriodDays: number;
  createdAt: string;
  primarySince: string;
  nextRotationAt: string;
  record: KeyRecord;
  lastPosition: string;
}

export interface KeyVersionRow {
  keyId: string;
  version: number;
  algorithm: string;
  protectionLevel: string;
  state: string;
  createdAt: string;
  destroyAt: string | null;
  destroyedAt: string | null;
  publicKeyFingerprint: string | null;
  origin: unknown;
}

/** What one key event does to the key read model. */
export interface KeyProjection {
  state: ExistingKeyState;
  key: KeyRow;
  versions: KeyVersionRow[];
  ledger: KeyStateLedgerRow;
}

function versionState(state: KeyState, version: number): string | null {
  return state.status === 'NotCreated' ? null : (state.key.versions.find((v) => v.version === version)?.state ?? null);
}

function transition(before: KeyState, after: ExistingKeyState, event: KeyEvent): { version: number | null; from: string | null; to: string | null } {
  switch (event.type) {
    case 'KeyCreated':
      return { version: null, from: null, to: after.status };
    case 'KeyVersionCreated':
    case 'KeyVersionDisabled':
    case 'KeyVersionEnabled':
    case 'KeyVersionDestructionScheduled':
    case 'KeyVersionDestructionCancelled':
    case 'KeyVersionDestroyed':
      return { version: event.data.version, from: versionState(before, event.data.version), to: versionState(after, event.data.version) };
    case 'PrimaryVersionChanged':
      return { version: event.data.version, from: event.data.previousVersion === null ? null : `primary v${event.data.previousVersion}`, to: `primary v${event.data.version}` };
    case 'RotationPolicyChanged':
      return { version: null, from: `rotate every ${event.data.previousRotationPeriodDays} days`, to: `rotate every ${event.data.rotationPeriodDays} days` };
    case 'MinDecryptionVersionChanged':
      return { version: null, from: `min decryption v${event.data.previousMinDecryptionVersion}`, to: `min decryption v${event.data.minDecryptionVersion}` };
    case 'KeyPolicyChanged':
      return { version: null, from: `grants to ${Object.keys(event.data.previousPolicy.grants).length} identities`, to: `grants to ${Object.keys(event.data.policy.grants).length} identities` };
    case 'KeyLabelsChanged':
      return { version: null, from: `${Object.keys(event.data.previousLabels).length} label(s)`, to: `labels ${Object.keys(event.data.labels).sort().join(', ') || 'none'}` };
    case 'KeyRenamed':
      return { version: null, from: `named ${event.data.previousName}`, to: `named ${event.data.name}` };
    // Rotation issue: compromise, dependents and confirmations are recorded in the state ledger; their
    // own read models (dependents, confirmations) are not projected yet.
    case 'KeyVersionCompromised':
      return { version: event.data.version, from: versionState(before, event.data.version), to: 'COMPROMISED' };
    case 'DependentRegistered':
      return { version: null, from: null, to: `dependent ${event.data.name} registered` };
    case 'DependentRemoved':
      return { version: null, from: `dependent ${event.data.dependentId}`, to: null };
    case 'KeyVersionConfirmed':
      return { version: event.data.version, from: null, to: `confirmed by dependent ${event.data.dependentId}` };
    case 'DependentConfirmationsOverdue':
      return { version: event.data.version, from: null, to: `${event.data.pending.length} dependent(s) overdue to confirm since ${event.data.confirmBy}` };
    default: {
      const never: never = event;
      throw new TypeError(`unknown key event ${String((never as { type: string }).type)}`);
    }
  }
}

/**
 * evolve(readModel, event) for keys: the domain's own evolve gives the next key state (so the read
 * model is exactly what folding the events gives), then the rows are derived from it.
 */
export function evolveKeyReadModel(current: KeyState, event: KeyEvent, position: bigint): KeyProjection {
  const next = evolve(current, event);
  if (next.status === 'NotCreated') throw new TypeError(`${event.type} left the key uncreated`);
  const k = next.key;
  const t = transition(current, next, event);
  const m = event.metadata;
  return {
    state: next,
    key: {
      keyId: k.keyId,
      tenant: k.tenant,
      name: k.name,
      purpose: k.purpose,
      algorithm: k.algorithm,
      protectionLevel: k.protectionLevel,
      owner: k.owner,
      labels: k.labels,
      status: next.status,
      primaryVersion: k.primaryVersion,
      minDecryptionVersion: k.minDecryptionVersion,
      rotationPeriodDays: k.rotationPeriodDays,
      createdAt: k.createdAt,
      primarySince: k.primarySince,
      nextRotationAt: nextRotationAt(k).toISOString(),
      record: k,
      lastPosition: position.toString(),
    },
    versions: k.versions.map((v) => ({
      keyId: k.keyId,
      version: v.version,
      algorithm: v.algorithm,
      protectionLevel: v.protectionLevel,
      state: v.state,
      createdAt: v.createdAt,
      destroyAt: v.destroyAt ?? null,
      destroyedAt: v.destroyedAt ?? null,
      publicKeyFingerprint: v.publicKeyFingerprint ?? null,
      origin: v.origin ?? null,
    })),
    ledger: {
      position: position.toString(),
      keyId: k.keyId,
      version: t.version,
      eventType: event.type,
      fromState: t.from,
      toState: t.to,
      occurredAt: m.occurredAt,
      actor: m.actor,
      approvers: m.approvers ?? [],
      approvalId: m.approvalId ?? null,
      changeTicket: m.changeTicket ?? null,
      reason: m.reason ?? null,
      correlationId: m.correlationId ?? null,
    },
  };
}
