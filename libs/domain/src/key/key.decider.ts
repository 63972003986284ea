import type { Decider } from '../events/decider';
import { KmsError, invalidArgument } from '../errors/kms-error';
import { samePolicy, validateKeyPolicy } from '../access/key-policy';
import { isUuid } from '../ciphertext/ciphertext-format';
import { DEFAULT_JURISDICTION, parseJurisdiction } from '../jurisdiction/jurisdiction';
import type { CommandMetadata, KeyCommand, NewVersionMaterial, RetirementFacts } from './key.commands';
import type { EventMetadata, KeyEvent, VersionReason } from './key.events';
import { type ExistingKeyState, initialState, type KeyDependent, type KeyRecord, type KeyState, type KeyVersion } from './key.state';
import {
  ALGORITHM_USAGE,
  DAY_MS,
  DEFAULT_DESTRUCTION_DELAY_DAYS,
  MIN_DESTRUCTION_DELAY_DAYS,
  OPERATION_USAGE,
  PURPOSE_MAX_ROTATION_DAYS,
  type KeyOperation,
} from './key-types';
import {
  validateAlgorithm,
  validateKeyName,
  validateLabels,
  validateOwner,
  validateProtectionLevel,
  validatePurpose,
  validateRotationPeriod,
  validateTenant,
  validateVersionNumber,
} from './key.validation';

function eventMetadata(m: CommandMetadata): EventMetadata {
  return {
    actor: m.actor,
    correlationId: m.correlationId,
    occurredAt: m.now.toISOString(),
    ...(m.reason ? { reason: m.reason } : {}),
    ...(m.changeTicket ? { changeTicket: m.changeTicket } : {}),
    ...(m.approvers ? { approvers: m.approvers } : {}),
    ...(m.approvalId ? { approvalId: m.approvalId } : {}),
  };
}

function assertNever(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}

function existing(state: KeyState): ExistingKeyState {
  if (state.status === 'NotCreated') throw new KmsError('KEY_NOT_FOUND', 'key not found', 'key_id');
  return state;
}

/** The version record, or KEY_VERSION_NOT_FOUND naming the field. */
/** KeyVersionDestroyed of a version whose material was shredded (scheduled destruction, or by its escrow). */
function versionDestroyed(
  key: KeyRecord,
  v: KeyVersion,
  d: { hsmObjectDestroyed?: boolean; escrowCeremonyId?: string },
  metadata: KeyEvent['metadata'],
): KeyEvent {
  return {
    type: 'KeyVersionDestroyed',
    data: {
      keyId: key.keyId,
      version: v.version,
      materialRef: v.materialRef,
      materialDestroyed: true,
      ...(d.hsmObjectDestroyed ? { hsmObjectDestroyed: true } : {}),
      ...(d.escrowCeremonyId ? { escrowCeremonyId: d.escrowCeremonyId } : {}),
    },
    metadata,
  };
}

export function findVersion(key: KeyRecord, version: number, field = 'key_version'): KeyVersion {
  const v = key.versions[version - 1];
  if (!v) throw new KmsError('KEY_VERSION_NOT_FOUND', `${field}: version ${version} does not exist`, field);
  return v;
}

function versionStateError(v: KeyVersion): KmsError {
  switch (v.state) {
    case 'DESTROYED':
      return new KmsError('KEY_VERSION_DESTROYED', `key version ${v.version} was destroyed`, 'key_version');
    case 'DESTROY_SCHEDULED':
      return new KmsError('KEY_VERSION_DESTROY_SCHEDULED', `key version ${v.version} is scheduled for destruction`, 'key_version');
    case 'DISABLED':
      return new KmsError('KEY_VERSION_DISABLED', `key version ${v.version} is disabled`, 'key_version');
    case 'ENABLED':
      return new KmsError('ILLEGAL_TRANSITION', `key version ${v.version} is enabled`, 'key_version');
    default:
      return assertNever(v.state);
  }
}

/**
 * Dependents must confirm a new primary within this time (policy: new key material reaches every
 * downstream service and partner within 24 hours); after it, pending confirmations raise an alert.
 */
export const CONFIRMATION_WINDOW_MS = 24 * 60 * 60 * 1000;

/** When dependents must have confirmed the current primary. */
export function confirmationDeadline(key: KeyRecord): Date {
  return new Date(Date.parse(key.primarySince) + CONFIRMATION_WINDOW_MS);
}

/** Dependents that have not yet confirmed the current primary version. */
export function pendingDependents(key: KeyRecord): KeyDependent[] {
  return Object.values(key.dependents ?? {}).filter((d) => d.confirmedVersion < key.primaryVersion);
}

/**
 * Retiring a previous version (disabling it or scheduling its destruction) waits until every
 * registered dependent confirmed the current primary, unless two people approved an override.
 */
function assertDependentsConfirmed(key: KeyRecord, version: number, facts: RetirementFacts): void {
  if (version >= key.primaryVersion || facts.overrideDependents) return;
  // "Retain data protection keys until all ciphertext ... has been re-keyed": what was handed out
  // under the version and not re-encrypted away still depends on it.
  const outstanding = facts.outstandingCiphertexts ?? 0;
  if (key.purpose === 'DATA_PROTECTION' && outstanding > 0) {
    throw new KmsError(
      'CIPHERTEXTS_OUTSTANDING',
      `key_version: ${outstanding} ciphertext(s) or wrapped data key(s) handed out under version ${version} have not been re-encrypted yet; retiring it needs ReEncrypt of them first or an override approved by two people`,
      'key_version',
    );
  }
  const pending = pendingDependents(key);
  if (pending.length > 0) {
    throw new KmsError(
      'DEPENDENTS_NOT_CONFIRMED',
      `key_version: ${pending.length} registered dependent(s) have not confirmed version ${key.primaryVersion} yet (${pending
        .map((d) => d.name)
        .slice(0, 5)
        .join(', ')}); retiring version ${version} needs their confirmation or an override approved by two people`,
      'key_version',
    );
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && b[k] === a[k]);
}

/** The KeyVersionCreated event of a new version of an existing key (rotation, compromise, import). */
function versionCreated(
  key: KeyRecord,
  material: NewVersionMaterial,
  reason: VersionReason,
  metadata: EventMetadata,
  imported?: { expiresAt?: string },
): KeyEvent {
  return {
    type: 'KeyVersionCreated',
    data: {
      keyId: key.keyId,
      version: material.version,
      algorithm: key.algorithm,
      protectionLevel: key.protectionLevel,
      materialRef: material.materialRef,
      ...(material.publicKeyFingerprint ? { publicKeyFingerprint: material.publicKeyFingerprint } : {}),
      ...(material.origin ? { origin: material.origin } : {}),
      ...(imported ? { imported: true as const, ...(imported.expiresAt ? { expiresAt: imported.expiresAt } : {}) } : {}),
      reason,
    },
    metadata,
  };
}

/** Decide which events a command produces from the current state. Throws KmsError when illegal. */
export function decide(command: KeyCommand, state: KeyState): KeyEvent[] {
  const metadata = eventMetadata(command.metadata);
  switch (command.type) {
    case 'CreateKey': {
      if (state.status !== 'NotCreated') throw new KmsError('KEY_ALREADY_EXISTS', 'key already exists', 'key_id');
      const d = command.data;
      const purpose = validatePurpose(d.purpose);
      const algorithm = validateAlgorithm(d.algorithm);
      const rotationPeriodDays =
        d.rotationPeriodDays === undefined || d.rotationPeriodDays === 0
          ? PURPOSE_MAX_ROTATION_DAYS[purpose]
          : validateRotationPeriod(purpose, d.rotationPeriodDays);
      const keyId = d.keyId;
      const exportExpiresAt = d.exportExpiresAt;
      if (exportExpiresAt !== undefined && (Number.isNaN(exportExpiresAt.getTime()) || exportExpiresAt.getTime() <= command.metadata.now.getTime())) {
        throw invalidArgument('export_expires_at', 'must be a time in the future');
      }
      // Material kept in an HSM is generated non-extractable: it never leaves, whoever agrees.
      if (d.exportable === true && d.protectionLevel !== 'SOFTWARE') throw invalidArgument('exportable', 'only SOFTWARE keys can be exportable: HSM key material never leaves the module');
      return [
        {
          type: 'KeyCreated',
          data: {
            keyId,
            tenant: validateTenant(d.tenant),
            name: validateKeyName(d.name),
            purpose,
            algorithm,
            protectionLevel: validateProtectionLevel(d.protectionLevel),
            labels: validateLabels(d.labels),
            owner: validateOwner(d.owner),
            rotationPeriodDays,
            policy: validateKeyPolicy(d.policy),
            jurisdiction: d.jurisdiction === undefined ? DEFAULT_JURISDICTION : parseJurisdiction(d.jurisdiction, 'jurisdiction'),
            ...(exportExpiresAt ? { exportExpiresAt: exportExpiresAt.toISOString() } : {}),
            ...(d.exportable === true ? { exportable: true as const } : {}),
          },
          metadata,
        },
        {
          type: 'KeyVersionCreated',
          data: {
            keyId,
            version: 1,
            algorithm,
            protectionLevel: d.protectionLevel,
            materialRef: d.material.materialRef,
            ...(d.material.publicKeyFingerprint ? { publicKeyFingerprint: d.material.publicKeyFingerprint } : {}),
            ...(d.material.origin ? { origin: d.material.origin } : {}),
            ...(d.imported === true ? { imported: true as const } : {}),
            reason: 'INITIAL',
          },
          metadata,
        },
        { type: 'PrimaryVersionChanged', data: { keyId, version: 1, previousVersion: null, reason: 'INITIAL' }, metadata },
      ];
    }
    case 'RotateKey': {
      const s = existing(state);
      if (s.status === 'Disabled') {
        throw new KmsError('KEY_DISABLED', `key is disabled: its primary version ${s.key.primaryVersion} is not enabled`, 'key_id');
      }
      const expected = s.key.versions.length + 1;
      if (command.data.material.version !== expected) {
        throw new KmsError('CONCURRENCY_CONFLICT', `next version is ${expected}`, 'key_version');
      }
      const keyId = s.key.keyId;
      const reason = command.data.rotationReason;
      return [
        versionCreated(s.key, command.data.material, reason, metadata),
        { type: 'PrimaryVersionChanged', data: { keyId, version: expected, previousVersion: s.key.primaryVersion, reason }, metadata },
      ];
    }
    case 'ImportKeyVersion': {
      const s = existing(state);
      const expected = s.key.versions.length + 1;
      if (command.data.material.version !== expected) {
        throw new KmsError('CONCURRENCY_CONFLICT', `next version is ${expected}`, 'key_version');
      }
      const expiresAt = command.data.expiresAt;
      if (expiresAt !== undefined && (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= command.metadata.now.getTime())) {
        throw invalidArgument('expire_time', 'must be a time in the future');
      }
      const keyId = s.key.keyId;
      return [
        versionCreated(s.key, command.data.material, 'IMPORT', metadata, expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
        // An imported version becomes the primary, like a rotation (a disabled key too: importing is how it gets material back).
        { type: 'PrimaryVersionChanged', data: { keyId, version: expected, previousVersion: s.key.primaryVersion, reason: 'IMPORT' }, metadata },
      ];
    }
    case 'UpdateRotationPolicy': {
      const s = existing(state);
      const days = validateRotationPeriod(s.key.purpose, command.data.rotationPeriodDays);
      if (days === s.key.rotationPeriodDays) return [];
      return [
        {
          type: 'RotationPolicyChanged',
          data: { keyId: s.key.keyId, rotationPeriodDays: days, previousRotationPeriodDays: s.key.rotationPeriodDays },
          metadata,
        },
      ];
    }
    case 'DisableKeyVersion': {
      const s = existing(state);
      const v = findVersion(s.key, validateVersionNumber(command.data.version));
      if (v.state === 'DISABLED') return [];
      if (v.state !== 'ENABLED') throw versionStateError(v);
      assertDependentsConfirmed(s.key, v.version, command.data);
      return [{ type: 'KeyVersionDisabled', data: { keyId: s.key.keyId, version: v.version }, metadata }];
    }
    case 'EnableKeyVersion': {
      const s = existing(state);
      const v = findVersion(s.key, validateVersionNumber(command.data.version));
      if (v.state === 'ENABLED') return [];
      if (v.state !== 'DISABLED') throw versionStateError(v);
      return [{ type: 'KeyVersionEnabled', data: { keyId: s.key.keyId, version: v.version }, metadata }];
    }
    case 'ScheduleKeyVersionDestruction': {
      const s = existing(state);
      const v = findVersion(s.key, validateVersionNumber(command.data.version));
      if (v.version === s.key.primaryVersion) {
        throw new KmsError('PRIMARY_VERSION_PROTECTED', `key version ${v.version} is the primary version; rotate first`, 'key_version');
      }
      if (v.state !== 'ENABLED' && v.state !== 'DISABLED') throw versionStateError(v);
      assertDependentsConfirmed(s.key, v.version, command.data);
      const delayDays = command.data.delayDays ?? DEFAULT_DESTRUCTION_DELAY_DAYS;
      if (!Number.isInteger(delayDays) || delayDays < MIN_DESTRUCTION_DELAY_DAYS) {
        throw invalidArgument('destroy_after_days', `must be a whole number of days, at least ${MIN_DESTRUCTION_DELAY_DAYS}`);
      }
      const destroyAt = new Date(command.metadata.now.getTime() + delayDays * DAY_MS).toISOString();
      return [
        {
          type: 'KeyVersionDestructionScheduled',
          data: { keyId: s.key.keyId, version: v.version, destroyAt, previousState: v.state },
          metadata,
        },
      ];
    }
    case 'CancelKeyVersionDestruction': {
      const s = existing(state);
      const v = findVersion(s.key, validateVersionNumber(command.data.version));
      if (v.state !== 'DESTROY_SCHEDULED') {
        throw new KmsError('ILLEGAL_TRANSITION', `key version ${v.version} is ${v.state}, not scheduled for destruction`, 'key_version');
      }
      return [{ type: 'KeyVersionDestructionCancelled', data: { keyId: s.key.keyId, version: v.version }, metadata }];
    }
    case 'DestroyKeyVersion': {
      const s = existing(state);
      const v = findVersion(s.key, validateVersionNumber(command.data.version));
      if (v.state === 'DESTROYED') return [];
      // An imported version whose expiry passed is destroyed whatever its state (BYOK expiry, like AWS).
      const expired = importExpired(v, command.metadata.now);
      if (!expired && (v.state !== 'DESTROY_SCHEDULED' || !v.destroyAt)) {
        throw new KmsError('ILLEGAL_TRANSITION', `key version ${v.version} is ${v.state}; schedule its destruction first`, 'key_version');
      }
      if (!expired && v.destroyAt && Date.parse(v.destroyAt) > command.metadata.now.getTime()) {
        throw new KmsError('DESTRUCTION_NOT_DUE', `key version ${v.version} is due for destruction at ${v.destroyAt}`, 'key_version');
      }
      return [versionDestroyed(s.key, v, command.data, metadata)];
    }
    case 'DestroyEscrowedKeyVersion': {
      const s = existing(state);
      const v = findVersion(s.key, validateVersionNumber(command.data.version));
      if (s.key.purpose !== 'BREAK_GLASS') throw invalidArgument('key_id', `key ${s.key.keyId} is ${s.key.purpose}: only break-glass versions are destroyed by their escrow`);
      if (v.state === 'DESTROYED') return [];
      if (v.version === s.key.primaryVersion) {
        throw new KmsError('PRIMARY_VERSION_PROTECTED', `key version ${v.version} is the primary version; rotate first`, 'key_version');
      }
      if (!command.data.escrowCeremonyId) throw invalidArgument('escrow_ceremony_id', 'is required');
      return [versionDestroyed(s.key, v, command.data, metadata)];
    }
    case 'SetMinDecryptionVersion': {
      const s = existing(state);
      const min = validateVersionNumber(command.data.minDecryptionVersion, 'min_decryption_version');
      if (min > s.key.primaryVersion) {
        throw invalidArgument('min_decryption_version', `must not exceed the primary version ${s.key.primaryVersion}`);
      }
      if (min === s.key.minDecryptionVersion) return [];
      return [
        {
          type: 'MinDecryptionVersionChanged',
          data: { keyId: s.key.keyId, minDecryptionVersion: min, previousMinDecryptionVersion: s.key.minDecryptionVersion },
          metadata,
        },
      ];
    }
    case 'ReportKeyCompromise': {
      const s = existing(state);
      const v = findVersion(s.key, validateVersionNumber(command.data.version));
      if (v.state === 'DESTROYED') throw versionStateError(v);
      const keyId = s.key.keyId;
      const compromised: KeyEvent = { type: 'KeyVersionCompromised', data: { keyId, version: v.version }, metadata };
      // A compromised non-primary version needs no rotation; a compromised primary is replaced at once,
      // even when the key is disabled (containment comes before the usual rules).
      if (v.version !== s.key.primaryVersion) return v.compromisedAt ? [] : [compromised];
      const expected = s.key.versions.length + 1;
      if (command.data.material.version !== expected) {
        throw new KmsError('CONCURRENCY_CONFLICT', `next version is ${expected}`, 'key_version');
      }
      return [
        ...(v.compromisedAt ? [] : [compromised]),
        versionCreated(s.key, command.data.material, 'COMPROMISE', metadata),
        { type: 'PrimaryVersionChanged', data: { keyId, version: expected, previousVersion: s.key.primaryVersion, reason: 'COMPROMISE' }, metadata },
      ];
    }
    case 'RegisterDependent': {
      const s = existing(state);
      const { dependentId, name } = command.data;
      if (!isUuid(dependentId)) throw invalidArgument('dependent_id', 'must be an identity id (UUID)');
      if (s.key.dependents?.[dependentId]) return [];
      if (typeof name !== 'string' || name.length === 0 || name.length > 128) throw invalidArgument('name', 'must be 1 to 128 characters');
      return [{ type: 'DependentRegistered', data: { keyId: s.key.keyId, dependentId, name, confirmedVersion: s.key.primaryVersion }, metadata }];
    }
    case 'RemoveDependent': {
      const s = existing(state);
      if (!s.key.dependents?.[command.data.dependentId]) return [];
      return [{ type: 'DependentRemoved', data: { keyId: s.key.keyId, dependentId: command.data.dependentId }, metadata }];
    }
    case 'ConfirmKeyVersion': {
      const s = existing(state);
      const d = s.key.dependents?.[command.data.dependentId];
      if (!d) throw new KmsError('NOT_A_DEPENDENT', 'permission denied: the caller is not a registered dependent of this key', 'key_id');
      const v = findVersion(s.key, validateVersionNumber(command.data.version));
      if (v.state === 'DESTROYED') throw versionStateError(v);
      if (v.version <= d.confirmedVersion) return [];
      return [{ type: 'KeyVersionConfirmed', data: { keyId: s.key.keyId, dependentId: d.dependentId, version: v.version }, metadata }];
    }
    case 'ReportOverdueConfirmations': {
      const s = existing(state);
      const v = validateVersionNumber(command.data.version);
      // Only the current primary's window counts; an older one was overtaken by a rotation.
      if (v !== s.key.primaryVersion) return [];
      const pending = pendingDependents(s.key);
      if (pending.length === 0 || s.key.confirmationsOverdueReported === v) return [];
      const confirmBy = confirmationDeadline(s.key);
      if (command.metadata.now.getTime() < confirmBy.getTime()) {
        throw new KmsError('CONFIRMATIONS_NOT_OVERDUE', `key_version: dependents have until ${confirmBy.toISOString()} to confirm version ${v}`, 'key_version');
      }
      return [
        {
          type: 'DependentConfirmationsOverdue',
          data: { keyId: s.key.keyId, version: v, confirmBy: confirmBy.toISOString(), pending: pending.map((d) => ({ dependentId: d.dependentId, name: d.name })) },
          metadata,
        },
      ];
    }
    case 'SetKeyPolicy': {
      const s = existing(state);
      const policy = validateKeyPolicy(command.data.policy);
      if (samePolicy(policy, s.key.policy)) return [];
      return [{ type: 'KeyPolicyChanged', data: { keyId: s.key.keyId, policy, previousPolicy: s.key.policy }, metadata }];
    }
    case 'SetKeyLabels': {
      const s = existing(state);
      const labels = validateLabels(command.data.labels);
      if (sameLabels(labels, s.key.labels)) return [];
      return [{ type: 'KeyLabelsChanged', data: { keyId: s.key.keyId, labels, previousLabels: s.key.labels }, metadata }];
    }
    case 'RenameKey': {
      const s = existing(state);
      const name = validateKeyName(command.data.name);
      if (name === s.key.name) return [];
      return [{ type: 'KeyRenamed', data: { keyId: s.key.keyId, name, previousName: s.key.name }, metadata }];
    }
    default:
      return assertNever(command);
  }
}

function withKey(state: KeyState, f: (key: KeyRecord) => KeyRecord): KeyState {
  if (state.status === 'NotCreated') return state;
  const key = f(state.key);
  const primary = key.versions[key.primaryVersion - 1];
  return { status: primary && primary.state === 'ENABLED' ? 'Enabled' : 'Disabled', key };
}

function withVersion(state: KeyState, version: number, f: (v: KeyVersion) => KeyVersion): KeyState {
  return withKey(state, (key) => ({
    ...key,
    versions: key.versions.map((v) => (v.version === version ? f(v) : v)),
  }));
}

/** Apply one event to the state. Total: unknown situations leave the state as it was. */
export function evolve(state: KeyState, event: KeyEvent): KeyState {
  switch (event.type) {
    case 'KeyCreated': {
      const d = event.data;
      return {
        status: 'Disabled', // until the first version becomes primary
        key: {
          keyId: d.keyId,
          tenant: d.tenant,
          name: d.name,
          purpose: d.purpose,
          algorithm: d.algorithm,
          protectionLevel: d.protectionLevel,
          labels: d.labels,
          owner: d.owner,
          jurisdiction: d.jurisdiction ?? DEFAULT_JURISDICTION,
          createdAt: event.metadata.occurredAt,
          rotationPeriodDays: d.rotationPeriodDays,
          versions: [],
          primaryVersion: 0,
          minDecryptionVersion: 1,
          primarySince: event.metadata.occurredAt,
          policy: d.policy ?? { grants: {} },
          ...(d.exportExpiresAt ? { exportExpiresAt: d.exportExpiresAt } : {}),
          ...(d.exportable ? { exportable: true as const } : {}),
          dependents: {},
        },
      };
    }
    case 'KeyVersionCreated':
      return withKey(state, (key) => ({
        ...key,
        versions: [
          ...key.versions,
          {
            version: event.data.version,
            algorithm: event.data.algorithm,
            protectionLevel: event.data.protectionLevel,
            state: 'ENABLED',
            createdAt: event.metadata.occurredAt,
            materialRef: event.data.materialRef,
            ...(event.data.publicKeyFingerprint ? { publicKeyFingerprint: event.data.publicKeyFingerprint } : {}),
            ...(event.data.origin ? { origin: event.data.origin } : {}),
            ...(event.data.imported ? { imported: true as const } : {}),
            ...(event.data.expiresAt ? { expiresAt: event.data.expiresAt } : {}),
          },
        ],
      }));
    case 'PrimaryVersionChanged':
      return withKey(state, (key) => ({ ...key, primaryVersion: event.data.version, primarySince: event.metadata.occurredAt }));
    case 'KeyVersionDisabled':
      return withVersion(state, event.data.version, (v) => ({ ...v, state: 'DISABLED' }));
    case 'KeyVersionEnabled':
      return withVersion(state, event.data.version, (v) => ({ ...v, state: 'ENABLED' }));
    case 'KeyVersionDestructionScheduled':
      return withVersion(state, event.data.version, (v) => ({
        ...v,
        state: 'DESTROY_SCHEDULED',
        destroyAt: event.data.destroyAt,
        stateBeforeDestroySchedule: event.data.previousState,
      }));
    case 'KeyVersionDestructionCancelled':
      // Like Cloud KMS: a cancelled destruction leaves the version disabled, so it is re-enabled deliberately.
      return withVersion(state, event.data.version, ({ destroyAt: _d, stateBeforeDestroySchedule: _s, ...v }) => ({
        ...v,
        state: 'DISABLED',
      }));
    case 'KeyVersionDestroyed':
      return withVersion(state, event.data.version, ({ destroyAt: _d, stateBeforeDestroySchedule: _s, ...v }) => ({
        ...v,
        state: 'DESTROYED',
        destroyedAt: event.metadata.occurredAt,
      }));
    case 'RotationPolicyChanged':
      return withKey(state, (key) => ({ ...key, rotationPeriodDays: event.data.rotationPeriodDays }));
    case 'MinDecryptionVersionChanged':
      return withKey(state, (key) => ({ ...key, minDecryptionVersion: event.data.minDecryptionVersion }));
    case 'KeyPolicyChanged':
      return withKey(state, (key) => ({ ...key, policy: event.data.policy }));
    case 'KeyLabelsChanged':
      return withKey(state, (key) => ({ ...key, labels: event.data.labels }));
    case 'KeyRenamed':
      return withKey(state, (key) => ({ ...key, name: event.data.name }));
    case 'DependentRegistered':
      return withKey(state, (key) => ({
        ...key,
        dependents: {
          ...key.dependents,
          [event.data.dependentId]: {
            dependentId: event.data.dependentId,
            name: event.data.name,
            registeredAt: event.metadata.occurredAt,
            confirmedVersion: event.data.confirmedVersion,
          },
        },
      }));
    case 'DependentRemoved':
      return withKey(state, (key) => {
        const { [event.data.dependentId]: _removed, ...rest } = key.dependents ?? {};
        return { ...key, dependents: rest };
      });
    case 'KeyVersionConfirmed':
      return withKey(state, (key) => {
        const d = key.dependents?.[event.data.dependentId];
        if (!d) return key;
        return {
          ...key,
          dependents: { ...key.dependents, [d.dependentId]: { ...d, confirmedVersion: Math.max(d.confirmedVersion, event.data.version), confirmedAt: event.metadata.occurredAt } },
        };
      });
    case 'KeyVersionCompromised':
      return withVersion(state, event.data.version, (v) => ({ ...v, compromisedAt: event.metadata.occurredAt }));
    case 'DependentConfirmationsOverdue':
      return withKey(state, (key) => ({ ...key, confirmationsOverdueReported: event.data.version }));
    default:
      return assertNever(event);
  }
}

/** Fold a stream of events into state. */
export function foldKey(events: Iterable<KeyEvent>, from: KeyState = initialState()): KeyState {
  let s = from;
  for (const e of events) s = evolve(s, e);
  return s;
}

/**
 * Pick the version an operation uses and check it may: new operations use the primary version,
 * operations on existing data name theirs. Throws USAGE_MISMATCH, KEY_DISABLED, or a version state error.
 * With `now`, an imported version whose expiry has passed is refused (KEY_VERSION_EXPIRED) even
 * before the scheduler's destroy deadline has destroyed it.
 */
export function versionForOperation(state: KeyState, operation: KeyOperation, requestedVersion?: number, now?: Date): KeyVersion {
  const s = existing(state);
  const usage = ALGORITHM_USAGE[s.key.algorithm];
  if (!OPERATION_USAGE[operation].includes(usage)) {
    throw new KmsError(
      'USAGE_MISMATCH',
      `key ${s.key.keyId} is a ${usage} key (${s.key.algorithm}) and cannot be used to ${operation.toLowerCase().replace(/_/g, ' ')}`,
      'key_id',
    );
  }
  const usesPrimary = operation === 'ENCRYPT' || operation === 'SIGN' || operation === 'MAC' || operation === 'GENERATE_DATA_KEY';
  if (usesPrimary && requestedVersion === undefined) {
    const primary = findVersion(s.key, s.key.primaryVersion);
    if (primary.state !== 'ENABLED') {
      throw new KmsError('KEY_DISABLED', `key is disabled: its primary version ${primary.version} is ${primary.state}`, 'key_id');
    }
    if (now && importExpired(primary, now)) throw expiredError(primary, 'key_id');
    return primary;
  }
  const v = findVersion(s.key, requestedVersion ?? s.key.primaryVersion);
  if (v.state !== 'ENABLED') throw versionStateError(v);
  if (now && importExpired(v, now)) throw expiredError(v, requestedVersion === undefined ? 'key_id' : 'key_version');
  // Export keys: older versions encrypt nothing, so nobody gets their public key to encrypt to offline.
  if (operation === 'GET_PUBLIC_KEY' && s.key.exportExpiresAt !== undefined && v.version !== s.key.primaryVersion && (usage === 'ASYMMETRIC_DECRYPT' || usage === 'KEY_ENCAPSULATION')) {
    throw new KmsError(
      'KEY_VERSION_DISABLED',
      `key_version: version ${v.version} of an export key is disabled for encryption; only the primary version's public key is handed out`,
      'key_version',
    );
  }
  if (operation === 'DECRYPT' && v.version < s.key.minDecryptionVersion) {
    throw new KmsError(
      'KEY_VERSION_BELOW_MIN_DECRYPTION',
      `key version ${v.version} is below the minimum decryption version ${s.key.minDecryptionVersion}`,
      'key_version',
    );
  }
  return v;
}

/**
 * When the primary version is due for rotation: at the end of its period or, for an export key whose
 * primary predates the export expiry, right when the export expires (policy: "keys used for
 * temporary exports must be rotated immediately after export expiration").
 */
export function nextRotationAt(key: KeyRecord): Date {
  const byPeriod = Date.parse(key.primarySince) + key.rotationPeriodDays * DAY_MS;
  const exportExpiry = key.exportExpiresAt === undefined ? Number.NaN : Date.parse(key.exportExpiresAt);
  const dueForExport = !Number.isNaN(exportExpiry) && Date.parse(key.primarySince) < exportExpiry && exportExpiry < byPeriod;
  return new Date(dueForExport ? exportExpiry : byPeriod);
}

/** The key aggregate as a Decider (one command handler serves every aggregate). */
export const keyDecider: Decider<KeyCommand, KeyEvent, KeyState> = { decide, evolve, initialState };

/**
 * The version a command would introduce, so its material is made before the command is decided
 * (decided once, with the real material): a rotation of an enabled key, or a compromise of the
 * primary version. Undefined when the command introduces none (or will be refused).
 */
export function versionIntroducedBy(command: { type: 'RotateKey' } | { type: 'ReportKeyCompromise'; version: number }, state: KeyState): number | undefined {
  if (state.status === 'NotCreated') return undefined;
  const next = state.key.versions.length + 1;
  switch (command.type) {
    case 'RotateKey':
      return state.status === 'Disabled' ? undefined : next;
    case 'ReportKeyCompromise':
      return command.version === state.key.primaryVersion ? next : undefined;
    default: {
      const never: never = command;
      return never;
    }
  }
}

function expiredError(v: KeyVersion, field: string): KmsError<'KEY_VERSION_EXPIRED'> {
  return new KmsError('KEY_VERSION_EXPIRED', `${field}: key version ${v.version} holds imported material that expired at ${v.expiresAt}; it is no longer used and is being destroyed`, field);
}

/** Whether an imported version's expiry has passed at `now` (it is then destroyed). */
export function importExpired(v: Pick<KeyVersion, 'expiresAt'>, now: Date): boolean {
  return v.expiresAt !== undefined && Date.parse(v.expiresAt) <= now.getTime();
}

/** Whether `version`'s destruction is due at `now` (scheduled and due, or imported and expired): what DestroyKeyVersion requires. */
export function destructionDue(state: KeyState, version: number, now: Date): boolean {
  if (state.status === 'NotCreated') return false;
  const v = state.key.versions[version - 1];
  if (v === undefined || v.state === 'DESTROYED') return false;
  if (importExpired(v, now)) return true;
  return v.state === 'DESTROY_SCHEDULED' && v.destroyAt !== undefined && Date.parse(v.destroyAt) <= now.getTime();
}
