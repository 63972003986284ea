import { randomUUID } from 'node:crypto';
import {
  type Algorithm,
  type CommandMetadata,
  decide,
  evolve,
  type ExistingKeyState,
  type KeyCommand,
  type KeyEvent,
  type KeyPolicy,
  keyNameStreamId,
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
} from '@kms/domain';
import { type EventStore, WrongExpectedVersionError } from '@kms/event-store';
import type { Clock } from '../ports/audit-log.port';
import type { OutstandingCiphertexts } from '../audit/ciphertext-tracking';
import type { KeyBackend, KeyBackends, VersionHandle } from '../ports/key-backend.port';
import type { KeyCatalog } from './key-catalog';
import { type KeyRepository, storeError } from './key-repository';

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
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** How many times a command is retried after a concurrent write to the same key. */
export const MAX_CONFLICT_RETRIES = 3;

/** Another instance wrote the key meanwhile: wait a little, with jitter, before reloading. */
function conflictBackoff(attempt: number): Promise<void> {
  const ms = 5 * 2 ** attempt + Math.random() * 10;
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function fold(state: KeyState, events: KeyEvent[]): KeyState {
  return events.reduce(evolve, state);
}

function existingOrThrow(state: KeyState): ExistingKeyState {
  if (state.status === 'NotCreated') throw new KmsError('KEY_NOT_FOUND', 'key not found', 'key_id');
  return state;
}

/**
 * Lifecycle command handling: load the stream, decide, append with the expected version, retry a
 * bounded number of times on a concurrent write (STYLE.md 3). The only writer of key streams.
 */
export class KeyLifecycleService {
  /** Commands on one key run one after another in this process, so local callers do not race. */
  private readonly keyLocks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: EventStore,
    private readonly repository: KeyRepository,
    private readonly catalog: KeyCatalog,
    private readonly backends: KeyBackends,
    private readonly clock: Clock,
    /** Ciphertexts still held by DATA_PROTECTION versions; without it none are known to be outstanding. */
    private readonly ciphertexts?: OutstandingCiphertexts,
  ) {}

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

  private metadata(ctx: ChangeContext): CommandMetadata {
    return {
      now: this.clock.now(),
      actor: ctx.actor,
      correlationId: ctx.correlationId,
      ...(ctx.reason ? { reason: ctx.reason } : {}),
      ...(ctx.changeTicket ? { changeTicket: ctx.changeTicket } : {}),
      ...(ctx.approvers ? { approvers: ctx.approvers } : {}),
      ...(ctx.approvalId ? { approvalId: ctx.approvalId } : {}),
    };
  }

  async createKey(input: CreateKeyInput, ctx: ChangeContext): Promise<KeyRecord> {
    // Cheap checks before any material is generated or any name reserved.
    const tenant = validateTenant(input.tenant);
    const name = validateKeyName(input.name);
    const purpose = validatePurpose(input.purpose);
    const algorithm = validateAlgorithm(input.algorithm);
    const protectionLevel = validateProtectionLevel(input.protectionLevel);
    const backend = this.backendFor(protectionLevel, algorithm);
    const keyId = randomUUID();
    const metadata = this.metadata(ctx);
    // Dry run of the decision so invalid labels/periods fail before the name is taken.
    const probe: KeyCommand = {
      type: 'CreateKey',
      data: { ...input, tenant, name, purpose, algorithm, protectionLevel, keyId, material: { version: 1, materialRef: 'probe' } },
      metadata,
    };
    decide(probe, { status: 'NotCreated' });

    const nameStream = keyNameStreamId(tenant, name);
    const reservation = await this.reserveName(nameStream, tenant, name, keyId, ctx, metadata.now);

    let handle: VersionHandle | undefined;
    try {
      const created = await backend.createVersion({ keyId, version: 1, algorithm });
      handle = { keyId, version: 1, algorithm, materialRef: created.materialRef };
      const events = decide({ ...probe, data: { ...probe.data, material: { version: 1, ...created } } }, { status: 'NotCreated' });
      const appended = await this.repository.append(keyId, events, 'no_stream');
      const state = existingOrThrow(fold({ status: 'NotCreated' }, events));
      this.catalog.put(keyId, state, appended.nextExpectedVersion);
      return state.key;
    } catch (e) {
      if (handle) await backend.discardVersion(handle).catch(() => undefined);
      // Give the name back so a retry can use it; if this fails too the name stays taken (safe side).
      await this.store
        .appendToStream(
          nameStream,
          [{ id: randomUUID(), type: 'KeyNameReleased', data: { tenant, name, keyId }, metadata: { actor: ctx.actor, correlationId: ctx.correlationId, occurredAt: this.clock.now().toISOString() } }],
          { expectedVersion: reservation },
        )
        .catch(() => undefined);
      throw e;
    }
  }

  /**
   * Reserve a key name in its tenant: the name stream's last event says whether it is taken. Returns
   * the stream version of the reservation.
   */
  private async reserveName(stream: string, tenant: string, name: string, keyId: string, ctx: ChangeContext, now: Date): Promise<number> {
    const taken = () => new KmsError('KEY_ALREADY_EXISTS', `name: a key named "${name}" already exists in tenant "${tenant}"`, 'name');
    try {
      const { events, currentVersion } = await this.store.readStream(stream);
      if (events.at(-1)?.type === 'KeyNameReserved') throw taken();
      const appended = await this.store.appendToStream(
        stream,
        [{ id: randomUUID(), type: 'KeyNameReserved', data: { tenant, name, keyId }, metadata: { actor: ctx.actor, correlationId: ctx.correlationId, occurredAt: now.toISOString() } }],
        { expectedVersion: currentVersion < 0 ? 'no_stream' : currentVersion },
      );
      return appended.nextExpectedVersion;
    } catch (e) {
      if (e instanceof WrongExpectedVersionError) throw taken();
      throw storeError(e);
    }
  }

  private withKeyLock<T>(keyId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.keyLocks.get(keyId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.keyLocks.set(keyId, tail);
    void tail.then(() => {
      if (this.keyLocks.get(keyId) === tail) this.keyLocks.delete(keyId);
    });
    return run;
  }

  /** Run a command that needs no new material. */
  private execute(keyId: string, build: (state: ExistingKeyState) => KeyCommand): Promise<KeyRecord> {
    return this.withKeyLock(keyId, () => this.executeUnlocked(keyId, build));
  }

  private async executeUnlocked(keyId: string, build: (state: ExistingKeyState) => KeyCommand): Promise<KeyRecord> {
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.repository.load(keyId);
      const state = existingOrThrow(loaded.state);
      const events = decide(build(state), state);
      if (events.length === 0) return state.key;
      try {
        const appended = await this.repository.append(keyId, events, loaded.version);
        const next = existingOrThrow(fold(state, events));
        this.catalog.put(keyId, next, appended.nextExpectedVersion);
        return next.key;
      } catch (e) {
        if (e instanceof WrongExpectedVersionError && attempt < MAX_CONFLICT_RETRIES) {
          await conflictBackoff(attempt);
          continue;
        }
        if (e instanceof WrongExpectedVersionError) {
          throw new KmsError('CONCURRENCY_CONFLICT', 'key_id: the key changed concurrently too many times; retry', 'key_id');
        }
        throw e;
      }
    }
  }

  rotateKey(keyId: string, rotationReason: RotationReason, ctx: ChangeContext): Promise<KeyRecord> {
    return this.withKeyLock(keyId, () => this.rotateKeyUnlocked(keyId, rotationReason, ctx));
  }

  private rotateKeyUnlocked(keyId: string, rotationReason: RotationReason, ctx: ChangeContext): Promise<KeyRecord> {
    return this.withNewVersion(keyId, ctx, (_state, material, metadata) => ({ type: 'RotateKey', data: { rotationReason, material }, metadata }));
  }

  /**
   * Report a version compromised (the primary when `version` is omitted): it is marked compromised
   * and, when it is the primary, replaced at once by a new version with reason COMPROMISE.
   */
  reportKeyCompromise(keyId: string, version: number | undefined, ctx: ChangeContext): Promise<KeyRecord> {
    return this.withKeyLock(keyId, () =>
      this.withNewVersion(keyId, ctx, (state, material, metadata) => ({
        type: 'ReportKeyCompromise',
        data: { version: version ?? state.key.primaryVersion, material },
        metadata,
      })),
    );
  }

  /**
   * Commands that may introduce a version: decide once with a probe to validate (and to learn whether
   * a version is needed at all), create the material, decide for real, append; discard the material
   * if anything fails.
   */
  private async withNewVersion(
    keyId: string,
    ctx: ChangeContext,
    build: (state: ExistingKeyState, material: NewVersionMaterial, metadata: CommandMetadata) => KeyCommand,
  ): Promise<KeyRecord> {
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.repository.load(keyId);
      const state = existingOrThrow(loaded.state);
      const metadata = this.metadata(ctx);
      const version = state.key.versions.length + 1;
      // Validate before generating material (e.g. a disabled key), and see whether a version is needed.
      const probe = decide(build(state, { version, materialRef: 'probe' }, metadata), state);
      if (probe.length === 0) return state.key;
      const needsVersion = probe.some((e) => e.type === 'KeyVersionCreated');
      let handle: VersionHandle | undefined;
      let backend: KeyBackend | undefined;
      try {
        let material: NewVersionMaterial = { version, materialRef: 'none' };
        if (needsVersion) {
          backend = this.backendFor(state.key.protectionLevel, state.key.algorithm);
          const created = await backend.createVersion({ keyId, version, algorithm: state.key.algorithm });
          material = { version, ...created };
          handle = { keyId, version, algorithm: state.key.algorithm, materialRef: created.materialRef };
        }
        const events = decide(build(state, material, metadata), state);
        const appended = await this.repository.append(keyId, events, loaded.version);
        const next = existingOrThrow(fold(state, events));
        this.catalog.put(keyId, next, appended.nextExpectedVersion);
        return next.key;
      } catch (e) {
        if (handle && backend) await backend.discardVersion(handle).catch(() => undefined);
        if (e instanceof WrongExpectedVersionError && attempt < MAX_CONFLICT_RETRIES) {
          await conflictBackoff(attempt);
          continue;
        }
        if (e instanceof WrongExpectedVersionError) {
          throw new KmsError('CONCURRENCY_CONFLICT', 'key_id: the key changed concurrently too many times; retry', 'key_id');
        }
        throw e;
      }
    }
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

  /**
   * Decide a command against the current state without writing anything: the check an approval
   * request runs first, so a request that could never succeed is refused at once.
   */
  async preview(keyId: string, command: DistributiveOmit<KeyCommand, 'metadata'>, ctx: ChangeContext): Promise<ExistingKeyState> {
    const loaded = await this.repository.load(keyId);
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
  destroyKeyVersion(keyId: string, version: number, ctx: ChangeContext): Promise<KeyRecord> {
    return this.withKeyLock(keyId, () => this.destroyKeyVersionUnlocked(keyId, version, ctx));
  }

  private async destroyKeyVersionUnlocked(keyId: string, version: number, ctx: ChangeContext): Promise<KeyRecord> {
    const loaded = await this.repository.load(keyId);
    const state = existingOrThrow(loaded.state);
    const command: KeyCommand = { type: 'DestroyKeyVersion', data: { version }, metadata: this.metadata(ctx) };
    if (decide(command, state).length === 0) return state.key;
    const v = state.key.versions[version - 1];
    const backend = this.backendFor(v.protectionLevel, v.algorithm);
    const destroyed = await backend.destroyVersion({ keyId, version, algorithm: v.algorithm, materialRef: v.materialRef });
    const hsmObjectDestroyed = destroyed?.hsmObjectDestroyed === true;
    return this.executeUnlocked(keyId, () => ({ ...command, data: { ...command.data, ...(hsmObjectDestroyed ? { hsmObjectDestroyed } : {}) } }));
  }

  /** Versions whose destruction is due at the clock's now. */
  dueDestructions(): Array<{ keyId: string; version: number }> {
    const now = this.clock.now().getTime();
    return this.catalog
      .all()
      .flatMap((s) =>
        s.key.versions
          .filter((v) => v.state === 'DESTROY_SCHEDULED' && v.destroyAt !== undefined && Date.parse(v.destroyAt) <= now)
          .map((v) => ({ keyId: s.key.keyId, version: v.version })),
      );
  }
}
