import type { EventStore, NewEvent } from '@kms/event-store';
import { randomUUID } from 'node:crypto';

/** Metadata as the key service writes it. */
export function eventMetadata(occurredAt: string, actor = 'alice', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { actor, correlationId: randomUUID(), occurredAt, ...extra };
}

/** Writes a key's lifecycle into a store the way the key service does (one stream per key). */
export class KeyHistoryWriter {
  private version = -1;

  constructor(
    private readonly store: EventStore,
    readonly keyId: string = randomUUID(),
  ) {}

  /** The algorithm given to create(); versions carry it like the key does. */
  private algorithm = 'ECDSA_P256_SHA256';

  async append(type: string, data: Record<string, unknown>, occurredAt: string, metadata: Record<string, unknown> = {}): Promise<NewEvent> {
    const event: NewEvent = { id: randomUUID(), type, data: { keyId: this.keyId, ...data }, metadata: eventMetadata(occurredAt, 'alice', metadata) };
    const r = await this.store.appendToStream(`key-${this.keyId}`, [event], { expectedVersion: this.version < 0 ? 'no_stream' : this.version });
    this.version = r.nextExpectedVersion;
    return event;
  }

  /** KeyCreated + version 1 (with fingerprint for signing keys) + PrimaryVersionChanged INITIAL. */
  async create(opts: { tenant?: string; purpose?: string; algorithm?: string; at?: string } = {}): Promise<void> {
    const at = opts.at ?? '2026-01-01T00:00:00.000Z';
    const algorithm = opts.algorithm ?? 'ECDSA_P256_SHA256';
    this.algorithm = algorithm;
    await this.append(
      'KeyCreated',
      {
        tenant: opts.tenant ?? 'acme',
        name: `key-${this.keyId.slice(0, 8)}`,
        purpose: opts.purpose ?? 'SERVICE_ENVELOPE',
        algorithm,
        protectionLevel: 'SOFTWARE',
        labels: {},
        owner: 'alice',
        rotationPeriodDays: 60,
        policy: { grants: {} },
      },
      at,
    );
    await this.newVersion(1, 'INITIAL', at);
  }

  /** KeyVersionCreated + PrimaryVersionChanged. */
  async newVersion(version: number, reason: string, at: string): Promise<NewEvent> {
    const algorithm = this.algorithm;
    await this.append(
      'KeyVersionCreated',
      { version, algorithm, protectionLevel: 'SOFTWARE', materialRef: `mat-${this.keyId}-${version}`, publicKeyFingerprint: fingerprintOf(this.keyId, version), reason },
      at,
    );
    return this.append('PrimaryVersionChanged', { version, previousVersion: version === 1 ? null : version - 1, reason }, at);
  }
}

/** The fixture fingerprint of a version: deterministic so tests can expect it. */
export function fingerprintOf(keyId: string, version: number): string {
  return Buffer.from(`${keyId}:${version}`).toString('hex').padEnd(64, '0').slice(0, 64);
}
