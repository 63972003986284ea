import { DAY_MS, type EscrowCeremonyEvent, escrowCeremonyStreamId, type KeyEvent, type KeyPurpose } from '@kms/domain';
import type { StoredEvent } from '@kms/event-store';
import { deadlineJobId, planDeadlines, type PlannerOptions } from '../planner/deadline.planner';
import { foldScheduledKeys } from '../planner/scheduled-key.projection';

/** Day 0 of the fixtures. */
export const T0 = Date.parse('2026-03-01T09:00:00.000Z');
/** ISO time of day n after T0. */
export const day = (n: number): string => new Date(T0 + n * DAY_MS).toISOString();

/** A key's history written as the key service would, with the stream bookkeeping the store adds. */
export class History {
  private readonly events: StoredEvent[] = [];
  private position = 0n;

  private push(keyId: string, e: KeyEvent, stream?: string): void {
    const streamId = stream ?? `key-${keyId}`;
    const streamVersion = this.events.filter((x) => x.streamId === streamId).length;
    this.position += 1n;
    this.events.push({
      id: `${keyId}-${streamVersion}`,
      streamId,
      streamVersion,
      globalPosition: this.position,
      recordedAt: new Date(e.metadata.occurredAt),
      type: e.type,
      data: e.data as unknown as Record<string, unknown>,
      metadata: e.metadata as unknown as Record<string, unknown>,
    });
  }

  private versions = new Map<string, number>();

  /** `exportExpiresAfterDays`: an export key whose export expires that many days after `at`. */
  created(keyId: string, purpose: KeyPurpose, at: number, rotationPeriodDays?: number, exportExpiresAfterDays?: number): this {
    const metadata = { actor: 'admin', correlationId: 'c', occurredAt: day(at) };
    const periods: Record<KeyPurpose, number> = { ROOT_TENANT: 90, SERVICE_ENVELOPE: 60, DATA_PROTECTION: 180, BREAK_GLASS: 30 };
    this.push(keyId, {
      type: 'KeyCreated',
      data: {
        keyId,
        tenant: 'acme',
        name: keyId,
        purpose,
        algorithm: 'AES_256_GCM',
        protectionLevel: 'SOFTWARE',
        labels: {},
        owner: 'team',
        rotationPeriodDays: rotationPeriodDays ?? periods[purpose],
        policy: { grants: {} },
        ...(exportExpiresAfterDays === undefined ? {} : { exportExpiresAt: day(at + exportExpiresAfterDays) }),
      },
      metadata,
    });
    this.versions.set(keyId, 1);
    this.push(keyId, {
      type: 'KeyVersionCreated',
      data: { keyId, version: 1, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: 'm1', reason: 'INITIAL' },
      metadata,
    });
    this.push(keyId, { type: 'PrimaryVersionChanged', data: { keyId, version: 1, previousVersion: null, reason: 'INITIAL' }, metadata });
    return this;
  }

  rotated(keyId: string, at: number, reason: 'SCHEDULED' | 'MANUAL' = 'MANUAL'): this {
    const metadata = { actor: 'admin', correlationId: 'c', occurredAt: day(at) };
    const previous = this.versions.get(keyId) ?? 0;
    const version = previous + 1;
    this.versions.set(keyId, version);
    this.push(keyId, {
      type: 'KeyVersionCreated',
      data: { keyId, version, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: `m${version}`, reason },
      metadata,
    });
    this.push(keyId, { type: 'PrimaryVersionChanged', data: { keyId, version, previousVersion: previous, reason }, metadata });
    return this;
  }

  /** BYOK: material imported at day `at` becomes the primary; it expires `expiresAfterDays` later when given. */
  imported(keyId: string, at: number, expiresAfterDays?: number): this {
    const metadata = { actor: 'admin', correlationId: 'c', occurredAt: day(at) };
    const previous = this.versions.get(keyId) ?? 0;
    const version = previous + 1;
    this.versions.set(keyId, version);
    const expiresAt = expiresAfterDays === undefined ? {} : { expiresAt: day(at + expiresAfterDays) };
    this.push(keyId, {
      type: 'KeyVersionCreated',
      data: { keyId, version, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: `m${version}`, imported: true, ...expiresAt, reason: 'IMPORT' },
      metadata,
    });
    this.push(keyId, { type: 'PrimaryVersionChanged', data: { keyId, version, previousVersion: previous, reason: 'IMPORT' }, metadata });
    return this;
  }

  destructionScheduled(keyId: string, version: number, at: number, afterDays: number): this {
    this.push(keyId, {
      type: 'KeyVersionDestructionScheduled',
      data: { keyId, version, destroyAt: day(at + afterDays), previousState: 'ENABLED' },
      metadata: { actor: 'admin', correlationId: 'c', occurredAt: day(at) },
    });
    return this;
  }

  destroyed(keyId: string, version: number, at: number): this {
    this.push(keyId, {
      type: 'KeyVersionDestroyed',
      data: { keyId, version, materialRef: `m${version}`, materialDestroyed: true },
      metadata: { actor: 'admin', correlationId: 'c', occurredAt: day(at) },
    });
    return this;
  }

  dependentRegistered(keyId: string, dependentId: string, at: number): this {
    this.push(keyId, {
      type: 'DependentRegistered',
      data: { keyId, dependentId, name: dependentId, confirmedVersion: this.versions.get(keyId) ?? 1 },
      metadata: { actor: 'admin', correlationId: 'c', occurredAt: day(at) },
    });
    return this;
  }

  confirmed(keyId: string, dependentId: string, version: number, at: number): this {
    this.push(keyId, { type: 'KeyVersionConfirmed', data: { keyId, dependentId, version }, metadata: { actor: dependentId, correlationId: 'c', occurredAt: day(at) } });
    return this;
  }

  disabled(keyId: string, version: number, at: number): this {
    this.push(keyId, { type: 'KeyVersionDisabled', data: { keyId, version }, metadata: { actor: 'admin', correlationId: 'c', occurredAt: day(at) } });
    return this;
  }

  private escrow(keyId: string, version: number, e: EscrowCeremonyEvent): this {
    this.push(keyId, e as unknown as KeyEvent, escrowCeremonyStreamId(keyId, version));
    return this;
  }

  /** A sealing ceremony of `version` (docs/break-glass.md), ceremony id `c<version>`. */
  sealed(keyId: string, version: number, at: number, custodians: string[]): this {
    return this.escrow(keyId, version, {
      type: 'SealingCeremonyOpened',
      data: { ceremonyId: `c${version}`, keyId, version, threshold: 2, shareCount: custodians.length, witness: 'w', custodians, keyFingerprint: 'f'.repeat(64), previousCeremonyId: null },
      metadata: { actor: 'admin', correlationId: 'c', occurredAt: day(at) },
    });
  }

  superseded(keyId: string, version: number, at: number, declareByDay: number): this {
    return this.escrow(keyId, version, {
      type: 'EscrowPackagesSuperseded',
      data: { ceremonyId: `c${version}`, byCeremonyId: `c${version + 1}`, declareBy: day(declareByDay) },
      metadata: { actor: 'admin', correlationId: 'c', occurredAt: day(at) },
    });
  }

  declared(keyId: string, version: number, custodianId: string, at: number): this {
    return this.escrow(keyId, version, {
      type: 'PackageDestructionDeclared',
      data: { ceremonyId: `c${version}`, custodianId, packageFingerprint: 'p'.repeat(64), declaration: {}, signature: 's' },
      metadata: { actor: custodianId, correlationId: 'c', occurredAt: day(at) },
    });
  }

  declarationsOverdue(keyId: string, version: number, at: number, pending: string[]): this {
    return this.escrow(keyId, version, {
      type: 'EscrowDeclarationOverdue',
      data: { ceremonyId: `c${version}`, keyId, version, declareBy: day(at), pending },
      metadata: { actor: 'rotation-scheduler', correlationId: 'c', occurredAt: day(at) },
    });
  }

  escrowDestroyed(keyId: string, version: number, at: number): this {
    return this.escrow(keyId, version, {
      type: 'EscrowedVersionDestroyed',
      data: { ceremonyId: `c${version}`, keyId, version, hsmObjectDestroyed: false },
      metadata: { actor: 'rotation-scheduler', correlationId: 'c', occurredAt: day(at) },
    });
  }

  /** Plan from these events, as job ids with their due day. */
  plan(options?: PlannerOptions): Array<[string, number]> {
    const keys = foldScheduledKeys(this.events).values();
    return planDeadlines(keys, options).map((d) => [deadlineJobId(d), (Date.parse(d.dueAt) - T0) / DAY_MS]);
  }

  stored(): StoredEvent[] {
    return [...this.events];
  }
}

