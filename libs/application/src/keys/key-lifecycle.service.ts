import { randomUUID } from 'node:crypto';
import {
  type Algorithm,
  chooseJurisdiction,
  type CommandMetadata,
  decide,
  DEFAULT_JURISDICTION,
  destructionDue,
  type ExistingKeyState,
  invalidArgument,
  type Jurisdiction,
  type KeyCommand,
  keyDecider,
  keyEventCodec,
  type KeyPolicy,
  keyNameStreamId,
  keyStreamId,
  type KeyPurpose,
  type KeyRecord,
  type KeyState,
  KmsError,
  type NewVersionMaterial,
  type ProtectionLevel,
  type RotationReason,
  validateAlgorithm,
  validateKeyName,
  validateProtectionLevel,
  validatePurpose,
  validateTenant,
  versionIntroducedBy,
  isUuid,
} from '@kms/domain';
import { type EventStore, WrongExpectedVersionError } from '@kms/event-store';
import type { Clock } from '../ports/audit-log.port';
import type { OutstandingCiphertexts } from '../audit/ciphertext-tracking';
import type { KeyBackend, KeyBackends, VersionHandle } from '../ports/key-backend.port';
import type { KeyCatalog } from './key-catalog';
import { IMPORT_PARAMETERS_VALIDITY_MS } from '../ports/import-parameters-store.port';
import { afterCommit, currentTransaction, onAbort } from '../changes/call-transaction';
import { handleCommand, loadAggregate, type Prepared, storeError, StreamLocks } from '../changes/handle-command';

/** Who asks for a change and why. */
export interface ChangeContext {
  actor: string;
  correlationId: string;
  reason?: string;
  changeTicket?: string;
  /** Set when the change runs after dual authorization. */
  approvers?: string[];
  approvalId?: string;
}

/** A change's context as the command metadata a decider reads, at `now`. */
export function commandMetadata(ctx: ChangeContext, now: Date): CommandMetadata {
  return {
    now,
    actor: ctx.actor,
    correlationId: ctx.correlationId,
    ...(ctx.reason ? { reason: ctx.reason } : {}),
    ...(ctx.changeTicket ? { changeTicket: ctx.changeTicket } : {}),
    ...(ctx.approvers ? { approvers: ctx.approvers } : {}),
    ...(ctx.approvalId ? { approvalId: ctx.approvalId } : {}),
  };
}

export interface CreateKeyInput {
  tenant: string;
  name: string;
  purpose: KeyPurpose;
  algorithm: Algorithm;
  protectionLevel: ProtectionLevel;
  labels: Record<string, string>;
  owner: string;
  rotationPeriodDays?: number;
  policy?: KeyPolicy;
  /** Where the key is kept; required when more than one jurisdiction is configured. */
  jurisdiction?: string;
  /** A key for a temporary export: rotated as soon as this passes. */
  exportExpiresAt?: Date;
  /** Its material may be handed out (KMIP Get): only ever passed once two people agreed (CreateExportableKey). */
  exportable?: boolean;
}

/** BYOK at creation (KMIP Register): version 1 is the caller's material, wrapped for import parameters made for the new key's id. */
export interface InitialImport {
  keyId: string;
  importToken: string;
  wrappedMaterial: Buffer;
}

/** The jurisdictions a backend can keep new material in. */
function jurisdictionsOf(backend: KeyBackend): readonly Jurisdiction[] {
  return (backend.jurisdictions?.() ?? [DEFAULT_JURISDICTION]) as readonly Jurisdiction[];
}

/** BYOK import parameters handed to the customer: the token names the one-time wrapping key. */
export interface ImportParameters {
  importToken: string;
  /** DER SubjectPublicKeyInfo of the RSA-3072 wrapping key. */
  wrappingPublicKeySpki: Buffer;
  /** How to wrap for it (see ImportWrappingKey). */
  wrappingAlgorithm: string;
  createdAt: Date;
  expiresAt: Date;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Runs in the same change as a command that introduced a new version (rotation, compromise): the
 * break-glass escrow seals the new version there (docs/break-glass.md), so a rotation and its
 * sealing ceremony commit together or not at all.
 */
export interface NewVersionHook {
  onVersionIntroduced(key: KeyRecord, version: number, ctx: ChangeContext): Promise<void>;
}

function existingOrThrow(state: KeyState): ExistingKeyState {
  if (state.status === 'NotCreated') throw new KmsError('KEY_NOT_FOUND', 'key not found', 'key_id');
  return state;
}

/**
 * Key lifecycle commands, each through the one command handler (handleCommand: load, prepare,
 * decide once, append with the expected version, bounded retry). The only writer of key streams.
 */
export class KeyLifecycleService {
  /** Commands on one key run one after another in this process, so local callers do not race. */
  private readonly locks = new StreamLocks();
  private newVersionHook?: NewVersionHook;

  constructor(
    private readonly store: EventStore,
    private readonly catalog: KeyCatalog,
    private readonly backends: KeyBackends,
    private readonly clock: Clock,
    /** Ciphertexts still held by DATA_PROTECTION versions; without it none are known to be outstanding. */
    private readonly ciphertexts?: OutstandingCiphertexts,
  ) {}

  /** Set once at wiring time where break-glass escrow runs: a new version of an escrowed key is sealed in the same change. */
  useNewVersionHook(hook: NewVersionHook): void {
    this.newVersionHook = hook;
  }

  /** Tracked ciphertexts handed out under a version and not re-encrypted away. */
  private async outstandingUnder(keyId: string, version: unknown): Promise<number> {
    if (!this.ciphertexts || typeof version !== 'number') return 0;
    return (await this.ciphertexts.outstanding(keyId)).get(version) ?? 0;
  }

  private backendFor(level: ProtectionLevel, algorithm: Algorithm): KeyBackend {
    const backend = this.backends[level];
    if (!backend) {
      throw new KmsError('UNSUPPORTED_ALGORITHM', `protection_level: ${level} keys are not available on this server`, 'protection_level');
    }
    if (!backend.supports(algorithm)) {
      throw new KmsError('UNSUPPORTED_ALGORITHM', `algorithm: ${algorithm} is not supported at protection level ${level}`, 'algorithm');
    }
    return backend;
  }

  /** Every jurisdiction some backend can keep keys in: what CreateKey's `jurisdiction` is checked against. */
  configuredJurisdictions(): Jurisdiction[] {
    const all = new Set<Jurisdiction>();
    for (const backend of Object.values(this.backends)) if (backend) for (const j of jurisdictionsOf(backend)) all.add(j);
    return [...all].sort();
  }

  /** The key's jurisdiction: the requested one (required with several configured), served by the backend of its protection level. */
  private jurisdictionFor(requested: string | undefined, level: ProtectionLevel, backend: KeyBackend): Jurisdiction {
    const jurisdiction = chooseJurisdiction(requested, this.configuredJurisdictions());
    const served = jurisdictionsOf(backend);
    if (!served.includes(jurisdiction)) {
      throw invalidArgument('jurisdiction', `no ${level} keys can be kept in "${jurisdiction}" on this server (${level}: ${served.join(', ')})`);
    }
    return jurisdiction;
  }

  private metadata(ctx: ChangeContext): CommandMetadata {
    return commandMetadata(ctx, this.clock.now());
  }

  /**
   * CreateKey; with `initial`, the key gets the id its import parameters were made for and its first
   * version is the caller's material, opened by the backend from its wrapping (as ImportKeyVersion
   * does), recorded as imported. With `keyId`, the key gets that id (an approved creation names it).
   */
  async createKey(input: CreateKeyInput, ctx: ChangeContext, options: { initial?: InitialImport; keyId?: string } = {}): Promise<KeyRecord> {
    // Cheap checks before any material is generated or any name reserved.
    const { tenant, name, purpose, algorithm, protectionLevel, backend, jurisdiction } = this.validatedCreation(input);
    const chosenId = options.initial?.keyId ?? options.keyId;
    if (chosenId !== undefined && !isUuid(chosenId)) throw invalidArgument('key_id', 'must be a UUID');
    const keyId = chosenId ?? randomUUID();
    const metadata = this.metadata(ctx);
    // Dry run of the decision so invalid labels/periods fail before material is made.
    const probe: KeyCommand = {
      type: 'CreateKey',
      data: {
        ...input,
        tenant,
        name,
        purpose,
        algorithm,
        protectionLevel,
        jurisdiction,
        keyId,
        ...(input.exportable === true ? { exportable: true } : {}),
        ...(options.initial ? { imported: true } : {}),
        material: { version: 1, materialRef: 'probe' },
      },
      metadata,
    };
    decide(probe, { status: 'NotCreated' });

    const nameStream = keyNameStreamId(tenant, name);
    const nameVersion = await this.freeName(nameStream, tenant, name);
    const initial = options.initial;
    // A break-glass version will be split into escrow shares: the backend makes it so (or refuses what it cannot escrow).
    const created = initial
      ? await this.importCapable(backend, protectionLevel).importVersion({ keyId, version: 1, algorithm, jurisdiction, wrappingKeyRef: initial.importToken, wrappedMaterial: initial.wrappedMaterial })
      : await backend.createVersion({ keyId, version: 1, algorithm, jurisdiction, ...(purpose === 'BREAK_GLASS' ? { escrow: true } : {}) });
    const handle: VersionHandle = { keyId, version: 1, algorithm, materialRef: created.materialRef };
    const discard = () => backend.discardVersion(handle).catch(() => undefined);
    let reserved: number | undefined;
    try {
      const events = decide({ ...probe, data: { ...probe.data, material: { version: 1, ...created } } }, { status: 'NotCreated' });
      // The name reservation and the key commit together (one change), so neither exists without the other.
      reserved = (
        await this.store.appendToStream(
          nameStream,
        [{ id: randomUUID(), type: 'KeyNameReserved', data: { tenant, name, keyId }, metadata: { actor: ctx.actor, correlationId: ctx.correlationId, occurredAt: metadata.now.toISOString() } }],
          { expectedVersion: nameVersion < 0 ? 'no_stream' : nameVersion },
        )
      ).nextExpectedVersion;
      const appended = await this.store.appendToStream(
        keyStreamId(keyId),
        events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data }, metadata: { ...e.metadata } })),
        { expectedVersion: 'no_stream' },
      );
      const state = existingOrThrow(events.reduce(keyDecider.evolve, keyDecider.initialState()));
      onAbort(discard);
      await afterCommit(() => this.catalog.put(keyId, state, appended.nextExpectedVersion));
      return state.key;
    } catch (e) {
      await discard();
      // Outside a call the reservation was written on its own: give the name back so a retry can use it.
      if (reserved !== undefined && !currentTransaction()) await this.releaseName(nameStream, tenant, name, keyId, ctx, reserved);
      if (e instanceof WrongExpectedVersionError && e.streamId === nameStream) throw this.nameTaken(tenant, name);
      if (e instanceof WrongExpectedVersionError && e.streamId === keyStreamId(keyId)) throw new KmsError('KEY_ALREADY_EXISTS', `key_id: a key with id ${keyId} already exists`, 'key_id');
      throw storeError(e);
    }
  }

  /** CreateKey's input checked field by field, with the backend and jurisdiction it would use. */
  private validatedCreation(input: CreateKeyInput) {
    const tenant = validateTenant(input.tenant);
    const name = validateKeyName(input.name);
    const purpose = validatePurpose(input.purpose);
    const algorithm = validateAlgorithm(input.algorithm);
    const protectionLevel = validateProtectionLevel(input.protectionLevel);
    const backend = this.backendFor(protectionLevel, algorithm);
    const jurisdiction = this.jurisdictionFor(input.jurisdiction, protectionLevel, backend);
    return { tenant, name, purpose, algorithm, protectionLevel, backend, jurisdiction };
  }

  /**
   * Check a creation as it would run now, writing nothing and making no material: what an approval
   * request for an exportable key runs first (name free, jurisdiction, protection level, the decision).
   */
  async previewCreateKey(input: CreateKeyInput, ctx: ChangeContext): Promise<void> {
    const { tenant, name, purpose, algorithm, protectionLevel, jurisdiction } = this.validatedCreation(input);
    decide(
      {
        type: 'CreateKey',
        data: { ...input, tenant, name, purpose, algorithm, protectionLevel, jurisdiction, keyId: randomUUID(), material: { version: 1, materialRef: 'probe' } },
        metadata: this.metadata(ctx),
      },
      { status: 'NotCreated' },
    );
    await this.freeName(keyNameStreamId(tenant, name), tenant, name);
  }

  /**
   * BYOK at creation: import parameters (a one-time wrapping key, valid 24 hours) for a key that does
   * not exist yet, made for the id the key will get (Register names them). Writes no event.
   */
  async importParametersForNewKey(algorithm: Algorithm, protectionLevel: ProtectionLevel): Promise<ImportParameters & { keyId: string }> {
    const backend = this.importCapable(this.backendFor(protectionLevel, algorithm), protectionLevel);
    const keyId = randomUUID();
    const w = await backend.createImportWrappingKey({ keyId, algorithm });
    return {
      keyId,
      importToken: w.wrappingKeyRef,
      wrappingPublicKeySpki: w.publicKeySpki,
      wrappingAlgorithm: w.wrappingAlgorithm,
      createdAt: w.createdAt,
      expiresAt: new Date(w.createdAt.getTime() + IMPORT_PARAMETERS_VALIDITY_MS),
    };
  }

  /**
   * The material of an exportable SOFTWARE key's version, for KMIP Get: refused (PERMISSION_DENIED)
   * unless the key was created exportable, and for material the backend never lets out (HSM). The
   * caller zeroes the buffer once sent; it never enters an event, a log or an audit record.
   */
  async exportableMaterial(state: ExistingKeyState, version: number): Promise<Buffer> {
    const key = state.key;
    if (key.exportable !== true) throw new KmsError('PERMISSION_DENIED', 'permission denied: the key is not exportable (exportable keys are created so by two people); its material never leaves the KMS', 'key_id');
    const v = key.versions[version - 1];
    if (!v) throw new KmsError('KEY_VERSION_NOT_FOUND', `key_version: version ${version} does not exist`, 'key_version');
    if (v.state !== 'ENABLED') throw new KmsError('KEY_VERSION_DISABLED', `key_version: version ${version} is ${v.state}`, 'key_version');
    const backend = this.backendFor(v.protectionLevel, v.algorithm);
    if (v.protectionLevel !== 'SOFTWARE' || !backend.exportSecretMaterial) {
      throw new KmsError('PERMISSION_DENIED', `permission denied: ${v.protectionLevel} key material is not extractable`, 'key_id');
    }
    return backend.exportSecretMaterial({ keyId: key.keyId, version, algorithm: v.algorithm, materialRef: v.materialRef });
  }

  private importCapable(backend: KeyBackend, level: ProtectionLevel): KeyBackend & Required<Pick<KeyBackend, 'createImportWrappingKey' | 'importVersion'>> {
    if (!backend.createImportWrappingKey || !backend.importVersion) {
      throw new KmsError('UNSUPPORTED_ALGORITHM', `protection_level: ${level} keys cannot import material on this server`, 'protection_level');
    }
    return backend as KeyBackend & Required<Pick<KeyBackend, 'createImportWrappingKey' | 'importVersion'>>;
  }

  private async releaseName(stream: string, tenant: string, name: string, keyId: string, ctx: ChangeContext, version: number): Promise<void> {
    const metadata = { actor: ctx.actor, correlationId: ctx.correlationId, occurredAt: this.clock.now().toISOString() };
    await this.store
      .appendToStream(stream, [{ id: randomUUID(), type: 'KeyNameReleased', data: { tenant, name, keyId }, metadata }], { expectedVersion: version })
      .catch(() => undefined); // if this fails too the name stays taken (safe side)
  }

  private nameTaken(tenant: string, name: string): KmsError {
    return new KmsError('KEY_ALREADY_EXISTS', `name: a key named "${name}" already exists in tenant "${tenant}"`, 'name');
  }

  /**
   * The version of a key name's stream when the name is free (-1: never used); its last event says
   * whether it is taken. The reservation itself is written with the key.
   */
  private async freeName(stream: string, tenant: string, name: string): Promise<number> {
    try {
      const { events, currentVersion } = await this.store.readStream(stream);
      if (events.at(-1)?.type === 'KeyNameReserved') throw this.nameTaken(tenant, name);
      return currentVersion;
    } catch (e) {
      throw storeError(e);
    }
  }

  /** Decide one key command with the one command handler; `prepare` builds it from the current state. */
  private handle(keyId: string, prepare: (state: ExistingKeyState) => Prepared<KeyCommand> | Promise<Prepared<KeyCommand>>): Promise<KeyRecord> {
    return handleCommand(this.store, keyDecider, keyEventCodec, keyStreamId(keyId), (state) => prepare(existingOrThrow(state)), {
      locks: this.locks,
      onCommitted: (next, version) => this.catalog.put(keyId, next, version),
      conflict: () => new KmsError('CONCURRENCY_CONFLICT', 'key_id: the key changed concurrently too many times; retry', 'key_id'),
    }).then(({ state }) => existingOrThrow(state).key);
  }

  /** Run a command that needs no new material. */
  private execute(keyId: string, build: (state: ExistingKeyState) => KeyCommand): Promise<KeyRecord> {
    return this.handle(keyId, (state) => ({ command: build(state) }));
  }

  rotateKey(keyId: string, rotationReason: RotationReason, ctx: ChangeContext): Promise<KeyRecord> {
    return this.withNewVersion(keyId, ctx, { type: 'RotateKey' }, (_state, material, metadata) => ({ type: 'RotateKey', data: { rotationReason, material }, metadata }));
  }

  /**
   * Report a version compromised (the primary when `version` is omitted): it is marked compromised
   * and, when it is the primary, replaced at once by a new version with reason COMPROMISE.
   */
  reportKeyCompromise(keyId: string, version: number | undefined, ctx: ChangeContext): Promise<KeyRecord> {
    return this.withNewVersion(
      keyId,
      ctx,
      (state) => ({ type: 'ReportKeyCompromise', version: version ?? state.key.primaryVersion }),
      (state, material, metadata) => ({ type: 'ReportKeyCompromise', data: { version: version ?? state.key.primaryVersion, material }, metadata }),
    );
  }

  /**
   * Commands that may introduce a version: the material of the version the command introduces is
   * made first (an explicit step, undone if the command is not committed), then the command is
   * decided once with it.
   */
  private withNewVersion(
    keyId: string,
    ctx: ChangeContext,
    kind: { type: 'RotateKey' } | ((state: ExistingKeyState) => { type: 'ReportKeyCompromise'; version: number }),
    build: (state: ExistingKeyState, material: NewVersionMaterial, metadata: CommandMetadata) => KeyCommand,
  ): Promise<KeyRecord> {
    let introduced: number | undefined;
    return this.handle(keyId, async (state) => {
      const metadata = this.metadata(ctx);
      const version = versionIntroducedBy(typeof kind === 'function' ? kind(state) : kind, state);
      introduced = version;
      if (version === undefined) return { command: build(state, { version: state.key.versions.length + 1, materialRef: 'none' }, metadata) };
      const backend = this.backendFor(state.key.protectionLevel, state.key.algorithm);
      // A new version stays in the key's jurisdiction.
      const created = await backend.createVersion({ keyId, version, algorithm: state.key.algorithm, jurisdiction: state.key.jurisdiction, ...(state.key.purpose === 'BREAK_GLASS' ? { escrow: true } : {}) });
      const handle: VersionHandle = { keyId, version, algorithm: state.key.algorithm, materialRef: created.materialRef };
      return { command: build(state, { version, ...created }, metadata), undo: () => backend.discardVersion(handle).catch(() => undefined) };
    }).then(async (key) => {
      if (introduced !== undefined && key.versions.some((v) => v.version === introduced)) await this.newVersionHook?.onVersionIntroduced(key, introduced, ctx);
      return key;
    });
  }

  /**
   * BYOK: a fresh one-time RSA-3072 wrapping key for material destined for `keyId` (valid 24 hours),
   * made by the backend of the key's protection level. Writes no event: the token is spent by ImportKeyVersion.
   */
  async importParameters(keyId: string): Promise<ImportParameters> {
    const state = await this.catalog.get(keyId);
    const backend = this.importingBackend(state);
    const w = await backend.createImportWrappingKey({ keyId: state.key.keyId, algorithm: state.key.algorithm });
    return { importToken: w.wrappingKeyRef, wrappingPublicKeySpki: w.publicKeySpki, wrappingAlgorithm: w.wrappingAlgorithm, createdAt: w.createdAt, expiresAt: new Date(w.createdAt.getTime() + IMPORT_PARAMETERS_VALIDITY_MS) };
  }

  /**
   * BYOK: the backend unwraps `wrappedMaterial` (made for the import token's wrapping key) inside
   * itself, checks it is material of the key's algorithm and keeps it; the version then becomes the
   * primary, recorded as imported with its optional expiry. Undone if the command is not committed.
   */
  importKeyVersion(keyId: string, input: { importToken: string; wrappedMaterial: Buffer; expiresAt?: Date }, ctx: ChangeContext): Promise<KeyRecord> {
    return this.handle(keyId, async (state) => {
      const metadata = this.metadata(ctx);
      const version = state.key.versions.length + 1;
      const build = (material: NewVersionMaterial): KeyCommand => ({
        type: 'ImportKeyVersion',
        data: { material, ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}) },
        metadata,
      });
      // Cheap checks (expiry in the past) before the token is spent.
      decide(build({ version, materialRef: 'probe' }), state);
      const backend = this.importingBackend(state);
      const created = await backend.importVersion({
        keyId: state.key.keyId,
        version,
        algorithm: state.key.algorithm,
        wrappingKeyRef: input.importToken,
        wrappedMaterial: input.wrappedMaterial,
      });
      const handle: VersionHandle = { keyId, version, algorithm: state.key.algorithm, materialRef: created.materialRef };
      return { command: build({ version, ...created }), undo: () => backend.discardVersion(handle).catch(() => undefined) };
    });
  }

  private importingBackend(state: ExistingKeyState): KeyBackend & Required<Pick<KeyBackend, 'createImportWrappingKey' | 'importVersion'>> {
    const backend = this.backendFor(state.key.protectionLevel, state.key.algorithm);
    if (!backend.createImportWrappingKey || !backend.importVersion) {
      throw new KmsError('UNSUPPORTED_ALGORITHM', `protection_level: ${state.key.protectionLevel} keys cannot import material on this server`, 'protection_level');
    }
    return backend as KeyBackend & Required<Pick<KeyBackend, 'createImportWrappingKey' | 'importVersion'>>;
  }

  updateRotationPolicy(keyId: string, rotationPeriodDays: number, ctx: ChangeContext): Promise<KeyRecord> {
    return this.execute(keyId, () => ({ type: 'UpdateRotationPolicy', data: { rotationPeriodDays }, metadata: this.metadata(ctx) }));
  }

  async disableKeyVersion(keyId: string, version: number, ctx: ChangeContext, overrideDependents = false): Promise<KeyRecord> {
    const outstandingCiphertexts = await this.outstandingUnder(keyId, version);
    return this.execute(keyId, () => ({
      type: 'DisableKeyVersion',
      data: { version, outstandingCiphertexts, ...(overrideDependents ? { overrideDependents } : {}) },
      metadata: this.metadata(ctx),
    }));
  }

  registerDependent(keyId: string, dependentId: string, name: string, ctx: ChangeContext): Promise<KeyRecord> {
    return this.execute(keyId, () => ({ type: 'RegisterDependent', data: { dependentId, name }, metadata: this.metadata(ctx) }));
  }

  removeDependent(keyId: string, dependentId: string, ctx: ChangeContext): Promise<KeyRecord> {
    return this.execute(keyId, () => ({ type: 'RemoveDependent', data: { dependentId }, metadata: this.metadata(ctx) }));
  }

  /** The calling dependent has picked up `version`. */
  confirmKeyVersion(keyId: string, dependentId: string, version: number, ctx: ChangeContext): Promise<KeyRecord> {
    return this.execute(keyId, () => ({ type: 'ConfirmKeyVersion', data: { dependentId, version }, metadata: this.metadata(ctx) }));
  }

  /** Raise the overdue-confirmation alert for the primary `version` (once; nothing when all confirmed). */
  reportOverdueConfirmations(keyId: string, version: number, ctx: ChangeContext): Promise<KeyRecord> {
    return this.execute(keyId, () => ({ type: 'ReportOverdueConfirmations', data: { version }, metadata: this.metadata(ctx) }));
  }

  enableKeyVersion(keyId: string, version: number, ctx: ChangeContext): Promise<KeyRecord> {
    return this.execute(keyId, () => ({ type: 'EnableKeyVersion', data: { version }, metadata: this.metadata(ctx) }));
  }

  async scheduleKeyVersionDestruction(
    keyId: string,
    version: number,
    delayDays: number | undefined,
    ctx: ChangeContext,
    overrideDependents = false,
  ): Promise<KeyRecord> {
    const outstandingCiphertexts = await this.outstandingUnder(keyId, version);
    return this.execute(keyId, () => ({
      type: 'ScheduleKeyVersionDestruction',
      data: { version, outstandingCiphertexts, ...(delayDays !== undefined ? { delayDays } : {}), ...(overrideDependents ? { overrideDependents } : {}) },
      metadata: this.metadata(ctx),
    }));
  }

  cancelKeyVersionDestruction(keyId: string, version: number, ctx: ChangeContext): Promise<KeyRecord> {
    return this.execute(keyId, () => ({ type: 'CancelKeyVersionDestruction', data: { version }, metadata: this.metadata(ctx) }));
  }

  setMinDecryptionVersion(keyId: string, minDecryptionVersion: number, ctx: ChangeContext): Promise<KeyRecord> {
    return this.execute(keyId, () => ({ type: 'SetMinDecryptionVersion', data: { minDecryptionVersion }, metadata: this.metadata(ctx) }));
  }

  setKeyPolicy(keyId: string, policy: KeyPolicy, ctx: ChangeContext): Promise<KeyRecord> {
    return this.execute(keyId, () => ({ type: 'SetKeyPolicy', data: { policy }, metadata: this.metadata(ctx) }));
  }

  /** Replace the key's labels (custom attributes): metadata only, recorded as KeyLabelsChanged. */
  setKeyLabels(keyId: string, labels: Record<string, string>, ctx: ChangeContext): Promise<KeyRecord> {
    return this.execute(keyId, () => ({ type: 'SetKeyLabels', data: { labels }, metadata: this.metadata(ctx) }));
  }

  /**
   * Give the key another name, unique in its tenant: the new name is reserved (KeyNameReserved on its
   * name stream), the key records KeyRenamed and the old name is released (KeyNameReleased), all in
   * the one change of the call; a name another key holds is KEY_ALREADY_EXISTS naming `name`.
   */
  async renameKey(keyId: string, newName: string, ctx: ChangeContext): Promise<KeyRecord> {
    const name = validateKeyName(newName);
    const current = existingOrThrow(await this.catalog.get(keyId));
    if (current.key.name === name) return current.key;
    const { tenant } = current.key;
    const newStream = keyNameStreamId(tenant, name);
    const occurredAt = () => this.clock.now().toISOString();
    const meta = () => ({ actor: ctx.actor, correlationId: ctx.correlationId, occurredAt: occurredAt() });
    const nameVersion = await this.freeName(newStream, tenant, name);
    let reserved: number | undefined;
    try {
      reserved = (
        await this.store.appendToStream(newStream, [{ id: randomUUID(), type: 'KeyNameReserved', data: { tenant, name, keyId }, metadata: meta() }], {
          expectedVersion: nameVersion < 0 ? 'no_stream' : nameVersion,
        })
      ).nextExpectedVersion;
      let previousName = current.key.name;
      const key = await this.handle(keyId, (state) => {
        previousName = state.key.name;
        return { command: { type: 'RenameKey', data: { name }, metadata: this.metadata(ctx) } };
      });
      const old = await this.store.readStream(keyNameStreamId(tenant, previousName));
      const holder = old.events.at(-1);
      // Only a reservation this key holds is released (a key created before name streams has none).
      if (holder?.type === 'KeyNameReserved' && (holder.data as { keyId?: string }).keyId === keyId) {
        await this.store.appendToStream(keyNameStreamId(tenant, previousName), [{ id: randomUUID(), type: 'KeyNameReleased', data: { tenant, name: previousName, keyId }, metadata: meta() }], {
          expectedVersion: old.currentVersion,
        });
      }
      return key;
    } catch (e) {
      if (reserved !== undefined && !currentTransaction()) await this.releaseName(newStream, tenant, name, keyId, ctx, reserved);
      if (e instanceof WrongExpectedVersionError && e.streamId === newStream) throw this.nameTaken(tenant, name);
      if (e instanceof KmsError) throw e;
      throw storeError(e);
    }
  }

  /**
   * Decide a command against the current state without writing anything: the check an approval
   * request runs first, so a request that could never succeed is refused at once.
   */
  async preview(keyId: string, command: DistributiveOmit<KeyCommand, 'metadata'>, ctx: ChangeContext): Promise<ExistingKeyState> {
    const loaded = await loadAggregate(this.store, keyDecider, keyEventCodec, keyStreamId(keyId));
    const state = existingOrThrow(loaded.state);
    let full = { ...command, metadata: this.metadata(ctx) } as KeyCommand;
    if (full.type === 'DisableKeyVersion' || full.type === 'ScheduleKeyVersionDestruction') {
      full = { ...full, data: { ...full.data, outstandingCiphertexts: await this.outstandingUnder(keyId, full.data.version) } } as KeyCommand;
    }
    decide(full, state);
    return state;
  }

  /**
   * Destroy a version whose scheduled time has passed: shred the material first, then record the
   * event. If recording fails the version stays DESTROY_SCHEDULED with no material, and the next
   * sweep records it (material deletion is idempotent).
   */
  /**
   * Destroy a superseded break-glass version once every custodian declared their escrow package
   * destroyed (EscrowService.settleDeclarations): shred the material (crypto-shred, or
   * C_DestroyObject for HSM keys), then record KeyVersionDestroyed naming the ceremony.
   */
  async destroyEscrowedVersion(keyId: string, version: number, escrowCeremonyId: string, ctx: ChangeContext): Promise<{ key: KeyRecord; hsmObjectDestroyed: boolean }> {
    let hsmObjectDestroyed = false;
    const key = await this.handle(keyId, async (state) => {
      const command: KeyCommand = { type: 'DestroyEscrowedKeyVersion', data: { version, escrowCeremonyId }, metadata: this.metadata(ctx) };
      // Decided first without material: a refusal (primary, not break-glass) shreds nothing.
      if (decide(command, state).length === 0) return { command };
      const v = state.key.versions[version - 1];
      const backend = this.backendFor(v.protectionLevel, v.algorithm);
      const destroyed = await backend.destroyVersion({ keyId, version, algorithm: v.algorithm, materialRef: v.materialRef });
      hsmObjectDestroyed = destroyed?.hsmObjectDestroyed === true;
      return { command: { ...command, data: { ...command.data, ...(hsmObjectDestroyed ? { hsmObjectDestroyed: true } : {}) } } };
    });
    return { key, hsmObjectDestroyed };
  }

  destroyKeyVersion(keyId: string, version: number, ctx: ChangeContext): Promise<KeyRecord> {
    return this.handle(keyId, async (state) => {
      const command: KeyCommand = { type: 'DestroyKeyVersion', data: { version }, metadata: this.metadata(ctx) };
      // Shred only a version whose destruction is due; the decider refuses (or ignores) the rest.
      if (!destructionDue(state, version, command.metadata.now)) return { command };
      const v = state.key.versions[version - 1];
      const backend = this.backendFor(v.protectionLevel, v.algorithm);
      const destroyed = await backend.destroyVersion({ keyId, version, algorithm: v.algorithm, materialRef: v.materialRef });
      return { command: { ...command, data: { ...command.data, ...(destroyed?.hsmObjectDestroyed === true ? { hsmObjectDestroyed: true } : {}) } } };
    });
  }
}
