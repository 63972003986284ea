import { CONFIRMATION_WINDOW_MS, decide, evolve, foldKey, nextRotationAt, versionForOperation } from './key.decider';
import type { CommandMetadata, KeyCommand } from './key.commands';
import type { KeyEvent } from './key.events';
import { initialState, type KeyState } from './key.state';
import { KmsError } from '../errors/kms-error';

const KEY_ID = '11111111-2222-4333-8444-555555555555';
const t0 = new Date('2026-01-01T00:00:00.000Z');
const meta = (now = t0): CommandMetadata => ({ now, actor: 'alice', correlationId: 'c-1', reason: 'test' });

const create = (over: Partial<Extract<KeyCommand, { type: 'CreateKey' }>['data']> = {}): KeyCommand => ({
  type: 'CreateKey',
  data: {
    keyId: KEY_ID,
    tenant: 'acme',
    name: 'payments',
    purpose: 'SERVICE_ENVELOPE',
    algorithm: 'AES_256_GCM',
    protectionLevel: 'SOFTWARE',
    labels: { team: 'payments' },
    owner: 'team-payments',
    material: { version: 1, materialRef: 'm-1' },
    ...over,
  },
  metadata: meta(),
});

/** given events, when command, then events (or error code). */
function given(...commands: KeyCommand[]): KeyState {
  let state = initialState();
  for (const c of commands) state = decide(c, state).reduce(evolve, state);
  return state;
}

function errorCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof KmsError) return e.code;
    throw e;
  }
  return undefined;
}

const rotate = (version: number, now = t0): KeyCommand => ({
  type: 'RotateKey',
  data: { rotationReason: 'MANUAL', material: { version, materialRef: `m-${version}` } },
  metadata: meta(now),
});

describe('key decider', () => {
  it('an escrowed break-glass version is destroyed without a waiting period, naming its ceremony; never the primary, never another purpose', () => {
    const destroy = (version: number): KeyCommand => ({ type: 'DestroyEscrowedKeyVersion', data: { version, escrowCeremonyId: 'ceremony-1' }, metadata: meta() });
    const breakGlass = given(create({ purpose: 'BREAK_GLASS' }), rotate(2));
    expect(errorCode(() => decide(destroy(2), breakGlass))).toBe('PRIMARY_VERSION_PROTECTED');
    expect(errorCode(() => decide(destroy(1), given(create(), rotate(2))))).toBe('INVALID_ARGUMENT');
    const events = decide(destroy(1), breakGlass);
    expect(events.map((e) => [e.type, e.data])).toEqual([['KeyVersionDestroyed', { keyId: KEY_ID, version: 1, materialRef: 'm-1', materialDestroyed: true, escrowCeremonyId: 'ceremony-1' }]]);
    const destroyed = events.reduce(evolve, breakGlass);
    if (destroyed.status === 'NotCreated') throw new Error('unreachable');
    expect(destroyed.key.versions[0].state).toBe('DESTROYED');
    expect(decide(destroy(1), destroyed)).toEqual([]);
  });

  it('creating a key records the key, version 1 and its promotion to primary, with metadata', () => {
    const events = decide(create(), initialState());
    expect(events.map((e) => e.type)).toEqual(['KeyCreated', 'KeyVersionCreated', 'PrimaryVersionChanged']);
    expect(events[0].metadata).toEqual({ actor: 'alice', correlationId: 'c-1', reason: 'test', occurredAt: t0.toISOString() });
    const state = foldKey(events);
    expect(state.status).toBe('Enabled');
    if (state.status === 'NotCreated') throw new Error('unreachable');
    expect(state.key.primaryVersion).toBe(1);
    expect(state.key.rotationPeriodDays).toBe(60); // purpose default
    expect(JSON.stringify(events)).not.toContain('material":'); // only a reference, never material
  });

  it.each([
    ['ROOT_TENANT', 90],
    ['SERVICE_ENVELOPE', 60],
    ['DATA_PROTECTION', 180],
    ['BREAK_GLASS', 30],
  ] as const)('%s keys default to and may not exceed %i days', (purpose, days) => {
    const state = given(create({ purpose }));
    if (state.status === 'NotCreated') throw new Error('unreachable');
    expect(state.key.rotationPeriodDays).toBe(days);
    expect(errorCode(() => decide(create({ purpose, rotationPeriodDays: days + 1 }), initialState()))).toBe('ROTATION_PERIOD_TOO_LONG');
    expect(errorCode(() => decide(create({ purpose, rotationPeriodDays: days - 1 }), initialState()))).toBeUndefined();
  });

  it('refuses bad input naming the field', () => {
    const err = (() => {
      try {
        decide(create({ name: 'bad name!' }), initialState());
      } catch (e) {
        return e as KmsError;
      }
      return undefined;
    })();
    expect(err?.code).toBe('INVALID_ARGUMENT');
    expect(err?.field).toBe('name');
    expect(errorCode(() => decide(create({ labels: { 'Bad Key': 'x' } }), initialState()))).toBe('INVALID_ARGUMENT');
  });

  it('rotation makes a new primary; the old version still decrypts', () => {
    const state = given(create(), rotate(2));
    if (state.status === 'NotCreated') throw new Error('unreachable');
    expect(state.key.primaryVersion).toBe(2);
    expect(versionForOperation(state, 'ENCRYPT').version).toBe(2);
    expect(versionForOperation(state, 'DECRYPT', 1).version).toBe(1);
  });

  it('rotating a disabled key is refused', () => {
    const state = given(create(), { type: 'DisableKeyVersion', data: { version: 1 }, metadata: meta() });
    expect(state.status).toBe('Disabled');
    expect(errorCode(() => decide(rotate(2), state))).toBe('KEY_DISABLED');
    expect(errorCode(() => versionForOperation(state, 'ENCRYPT'))).toBe('KEY_DISABLED');
  });

  it('the primary version cannot be scheduled for destruction', () => {
    const state = given(create());
    expect(errorCode(() => decide({ type: 'ScheduleKeyVersionDestruction', data: { version: 1 }, metadata: meta() }, state))).toBe(
      'PRIMARY_VERSION_PROTECTED',
    );
  });

  it('destruction waits at least a day, defaults to 30, can be cancelled, and happens only when due', () => {
    const state = given(create(), rotate(2));
    expect(
      errorCode(() => decide({ type: 'ScheduleKeyVersionDestruction', data: { version: 1, delayDays: 0 }, metadata: meta() }, state)),
    ).toBe('INVALID_ARGUMENT');
    const [scheduled] = decide({ type: 'ScheduleKeyVersionDestruction', data: { version: 1 }, metadata: meta() }, state);
    expect(scheduled).toMatchObject({ type: 'KeyVersionDestructionScheduled', data: { destroyAt: '2026-01-31T00:00:00.000Z' } });
    const pending = evolve(state, scheduled);
    expect(errorCode(() => versionForOperation(pending, 'DECRYPT', 1))).toBe('KEY_VERSION_DESTROY_SCHEDULED');

    const early = new Date('2026-01-30T23:59:59.000Z');
    expect(errorCode(() => decide({ type: 'DestroyKeyVersion', data: { version: 1 }, metadata: meta(early) }, pending))).toBe(
      'DESTRUCTION_NOT_DUE',
    );
    const cancelled = decide({ type: 'CancelKeyVersionDestruction', data: { version: 1 }, metadata: meta() }, pending).reduce(evolve, pending);
    if (cancelled.status === 'NotCreated') throw new Error('unreachable');
    expect(cancelled.key.versions[0].state).toBe('DISABLED');

    const due = new Date('2026-01-31T00:00:00.000Z');
    const destroyed = decide({ type: 'DestroyKeyVersion', data: { version: 1 }, metadata: meta(due) }, pending).reduce(evolve, pending);
    expect(errorCode(() => versionForOperation(destroyed, 'DECRYPT', 1))).toBe('KEY_VERSION_DESTROYED');
    // Destroying again is a no-op, not an error (sweeps retry).
    expect(decide({ type: 'DestroyKeyVersion', data: { version: 1 }, metadata: meta(due) }, destroyed)).toEqual([]);
    // A destroyed version cannot come back.
    expect(errorCode(() => decide({ type: 'EnableKeyVersion', data: { version: 1 }, metadata: meta() }, destroyed))).toBe(
      'KEY_VERSION_DESTROYED',
    );
  });

  it('versions below the minimum decryption version refuse to decrypt', () => {
    const state = given(create(), rotate(2), rotate(3), { type: 'SetMinDecryptionVersion', data: { minDecryptionVersion: 2 }, metadata: meta() });
    expect(errorCode(() => versionForOperation(state, 'DECRYPT', 1))).toBe('KEY_VERSION_BELOW_MIN_DECRYPTION');
    expect(versionForOperation(state, 'DECRYPT', 2).version).toBe(2);
    expect(
      errorCode(() => decide({ type: 'SetMinDecryptionVersion', data: { minDecryptionVersion: 4 }, metadata: meta() }, state)),
    ).toBe('INVALID_ARGUMENT');
  });

  it('operations must fit the key usage', () => {
    const aes = given(create());
    expect(errorCode(() => versionForOperation(aes, 'SIGN'))).toBe('USAGE_MISMATCH');
    const ec = given(create({ algorithm: 'ECDSA_P256_SHA256', material: { version: 1, materialRef: 'm', publicKeyFingerprint: 'ab' } }));
    expect(errorCode(() => versionForOperation(ec, 'ENCRYPT'))).toBe('USAGE_MISMATCH');
    expect(versionForOperation(ec, 'SIGN').version).toBe(1);
  });

  it('commands on a key that does not exist fail with KEY_NOT_FOUND, and a second create with KEY_ALREADY_EXISTS', () => {
    expect(errorCode(() => decide(rotate(1), initialState()))).toBe('KEY_NOT_FOUND');
    expect(errorCode(() => decide(create(), given(create())))).toBe('KEY_ALREADY_EXISTS');
  });

  it('a rotation racing another is detected by the version number', () => {
    expect(errorCode(() => decide(rotate(3), given(create())))).toBe('CONCURRENCY_CONFLICT');
  });

  it('the rotation period restarts when the primary changes', () => {
    const later = new Date('2026-02-15T00:00:00.000Z');
    const state = given(create(), rotate(2, later));
    if (state.status === 'NotCreated') throw new Error('unreachable');
    expect(nextRotationAt(state.key).toISOString()).toBe('2026-04-16T00:00:00.000Z');
  });

  it('evolve is total over every event type', () => {
    const events: KeyEvent[] = decide(create(), initialState());
    expect(() => foldKey(events)).not.toThrow();
  });
});

describe('reporting a compromise', () => {
  const report = (version: number, newVersion: number): KeyCommand => ({
    type: 'ReportKeyCompromise',
    data: { version, material: { version: newVersion, materialRef: `m-${newVersion}` } },
    metadata: meta(),
  });

  it('given a key, when its primary is reported compromised, then it is marked and replaced with reason COMPROMISE', () => {
    const state = given(create());
    const events = decide(report(1, 2), state);
    expect(events.map((e) => e.type)).toEqual(['KeyVersionCompromised', 'KeyVersionCreated', 'PrimaryVersionChanged']);
    expect(events[2]).toMatchObject({ data: { version: 2, previousVersion: 1, reason: 'COMPROMISE' } });
    const after = foldKey(events, state);
    if (after.status === 'NotCreated') throw new Error('unreachable');
    expect(after.key.versions[0].compromisedAt).toBe(t0.toISOString());
    expect(versionForOperation(after, 'DECRYPT', 1).version).toBe(1); // still readable for re-encryption
  });

  it('given a disabled key, when its primary is reported compromised, then it is still replaced (containment first)', () => {
    const state = given(create(), { type: 'DisableKeyVersion', data: { version: 1 }, metadata: meta() });
    expect(decide(report(1, 2), state).map((e) => e.type)).toContain('PrimaryVersionChanged');
  });

  it('given an older version, when it is reported compromised, then it is only marked, once', () => {
    const state = given(create(), rotate(2));
    const events = decide(report(1, 3), state);
    expect(events.map((e) => e.type)).toEqual(['KeyVersionCompromised']);
    expect(decide(report(1, 3), foldKey(events, state))).toEqual([]);
  });
});

describe('dependent confirmation before retirement', () => {
  const partner = '99999999-8888-4777-8666-555555555555';
  const register: KeyCommand = { type: 'RegisterDependent', data: { dependentId: partner, name: 'partner' }, metadata: meta() };
  const confirm = (version: number): KeyCommand => ({ type: 'ConfirmKeyVersion', data: { dependentId: partner, version }, metadata: meta() });
  const disable = (version: number, overrideDependents?: boolean): KeyCommand => ({
    type: 'DisableKeyVersion',
    data: { version, ...(overrideDependents ? { overrideDependents } : {}) },
    metadata: meta(),
  });

  it('given a dependent that has not confirmed the new primary, when the old version is retired, then DEPENDENTS_NOT_CONFIRMED', () => {
    const state = given(create(), register, rotate(2));
    expect(errorCode(() => decide(disable(1), state))).toBe('DEPENDENTS_NOT_CONFIRMED');
    expect(errorCode(() => decide({ type: 'ScheduleKeyVersionDestruction', data: { version: 1 }, metadata: meta() }, state))).toBe(
      'DEPENDENTS_NOT_CONFIRMED',
    );
    // The override (approved by two people upstream) lets it through.
    expect(decide(disable(1, true), state).map((e) => e.type)).toEqual(['KeyVersionDisabled']);
  });

  it('given the dependent confirmed the new primary, when the old version is retired, then it is', () => {
    const state = given(create(), register, rotate(2), confirm(2));
    expect(decide(disable(1), state).map((e) => e.type)).toEqual(['KeyVersionDisabled']);
    // Confirming an older version again changes nothing.
    expect(decide(confirm(1), state)).toEqual([]);
  });

  it('a dependent registered after the rotation starts at the current primary; strangers cannot confirm', () => {
    const state = given(create(), rotate(2), register);
    expect(decide(disable(1), state).map((e) => e.type)).toEqual(['KeyVersionDisabled']);
    expect(
      errorCode(() => decide({ type: 'ConfirmKeyVersion', data: { dependentId: '11111111-1111-4111-8111-111111111111', version: 2 }, metadata: meta() }, state)),
    ).toBe('NOT_A_DEPENDENT');
  });

  it('the primary itself is not retirement: disabling it is not blocked by dependents', () => {
    const state = given(create(), register, rotate(2));
    expect(decide(disable(2), state).map((e) => e.type)).toEqual(['KeyVersionDisabled']);
  });
});

describe('outstanding ciphertexts before retiring a data protection version', () => {
  const dp = create({ purpose: 'DATA_PROTECTION' });
  const retire = (type: 'DisableKeyVersion' | 'ScheduleKeyVersionDestruction', outstandingCiphertexts?: number, overrideDependents?: boolean): KeyCommand =>
    ({
      type,
      data: { version: 1, ...(outstandingCiphertexts !== undefined ? { outstandingCiphertexts } : {}), ...(overrideDependents ? { overrideDependents } : {}) },
      metadata: meta(),
    }) as KeyCommand;

  it('given ciphertexts still under the old version, when it is disabled or its destruction scheduled, then CIPHERTEXTS_OUTSTANDING naming the count', () => {
    const state = given(dp, rotate(2));
    for (const type of ['DisableKeyVersion', 'ScheduleKeyVersionDestruction'] as const) {
      expect(errorCode(() => decide(retire(type, 3), state))).toBe('CIPHERTEXTS_OUTSTANDING');
      expect(() => decide(retire(type, 3), state)).toThrow(/3 ciphertext\(s\).*version 1/);
    }
  });

  it('given none outstanding (or an approved override), then the version retires', () => {
    const state = given(dp, rotate(2));
    expect(decide(retire('DisableKeyVersion', 0), state).map((e) => e.type)).toEqual(['KeyVersionDisabled']);
    expect(decide(retire('ScheduleKeyVersionDestruction', 5, true), state).map((e) => e.type)).toEqual(['KeyVersionDestructionScheduled']);
  });

  it('other purposes retire by time: the count does not hold them', () => {
    const state = given(create(), rotate(2));
    expect(decide(retire('DisableKeyVersion', 7), state).map((e) => e.type)).toEqual(['KeyVersionDisabled']);
  });
});

describe('overdue confirmations', () => {
  const partner = '99999999-8888-4777-8666-555555555555';
  const register: KeyCommand = { type: 'RegisterDependent', data: { dependentId: partner, name: 'partner' }, metadata: meta() };
  const report = (version: number, hoursAfterT0: number): KeyCommand => ({
    type: 'ReportOverdueConfirmations',
    data: { version },
    metadata: meta(new Date(t0.getTime() + hoursAfterT0 * 3_600_000)),
  });

  it('after 24 hours without confirmation of the new primary, one alert names the pending dependents; a second report adds nothing', () => {
    const state = given(create(), register, rotate(2));
    expect(errorCode(() => decide(report(2, 23), state))).toBe('CONFIRMATIONS_NOT_OVERDUE');
    const events = decide(report(2, 24), state);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'DependentConfirmationsOverdue',
        data: { keyId: KEY_ID, version: 2, confirmBy: new Date(t0.getTime() + CONFIRMATION_WINDOW_MS).toISOString(), pending: [{ dependentId: partner, name: 'partner' }] },
      }),
    ]);
    expect(decide(report(2, 30), foldKey(events, state))).toEqual([]);
  });

  it('nothing to report once every dependent confirmed, or for a version that is no longer the primary', () => {
    const confirm: KeyCommand = { type: 'ConfirmKeyVersion', data: { dependentId: partner, version: 2 }, metadata: meta() };
    expect(decide(report(2, 48), given(create(), register, rotate(2), confirm))).toEqual([]);
    expect(decide(report(1, 48), given(create(), register, rotate(2)))).toEqual([]);
  });
});

describe('labels', () => {
  const setLabels = (labels: unknown): KeyCommand => ({ type: 'SetKeyLabels', data: { labels: labels as Record<string, string> }, metadata: meta() });

  it('replaces the whole set and records the previous one', () => {
    const state = given(create());
    const events = decide(setLabels({ team: 'payments', tier: 'gold' }), state);
    expect(events).toEqual([
      { type: 'KeyLabelsChanged', data: { keyId: KEY_ID, labels: { team: 'payments', tier: 'gold' }, previousLabels: { team: 'payments' } }, metadata: expect.any(Object) },
    ]);
    const after = events.reduce(evolve, state);
    if (after.status === 'NotCreated') throw new Error('unreachable');
    expect(after.key.labels).toEqual({ team: 'payments', tier: 'gold' });
    expect(decide(setLabels({}), after).reduce(evolve, after)).toMatchObject({ key: { labels: {} } });
  });

  it('records nothing for the same set, and refuses labels that creation would refuse or a key that does not exist', () => {
    expect(decide(setLabels({ team: 'payments' }), given(create()))).toEqual([]);
    expect(errorCode(() => decide(setLabels({ 'Bad Key!': 'x' }), given(create())))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => decide(setLabels(['x']), given(create())))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => decide(setLabels({ a: 'b' }), initialState()))).toBe('KEY_NOT_FOUND');
  });
});

describe('importing a version (BYOK)', () => {
  const importVersion = (version: number, expiresAt?: Date, now = t0): KeyCommand => ({
    type: 'ImportKeyVersion',
    data: { material: { version, materialRef: `imported-${version}` }, ...(expiresAt ? { expiresAt } : {}) },
    metadata: meta(now),
  });
  const day = 24 * 60 * 60 * 1000;

  it('given a key, when material is imported, then it is the new primary, marked imported, with its expiry', () => {
    const expiresAt = new Date(t0.getTime() + 10 * day);
    const events = decide(importVersion(2, expiresAt), given(create()));
    expect(events.map((e) => e.type)).toEqual(['KeyVersionCreated', 'PrimaryVersionChanged']);
    expect(events[0].data).toMatchObject({ version: 2, imported: true, expiresAt: expiresAt.toISOString(), reason: 'IMPORT', materialRef: 'imported-2' });
    const state = given(create(), importVersion(2, expiresAt));
    if (state.status === 'NotCreated') throw new Error('unreachable');
    expect(state.key.primaryVersion).toBe(2);
    expect(state.key.versions[1]).toMatchObject({ imported: true, expiresAt: expiresAt.toISOString() });
    expect(state.key.versions[0].imported).toBeUndefined();
  });

  it('an expiry in the past is refused naming expire_time; a stale version number is a conflict', () => {
    const state = given(create());
    expect(() => decide(importVersion(2, new Date(t0.getTime() - 1)), state)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'expire_time' }));
    expect(errorCode(() => decide(importVersion(3), state))).toBe('CONCURRENCY_CONFLICT');
  });

  it('given an imported version, it is destroyed once expired (even as primary, leaving the key disabled), not before', () => {
    const expiresAt = new Date(t0.getTime() + day);
    const state = given(create(), importVersion(2, expiresAt));
    const destroy = (now: Date): KeyCommand => ({ type: 'DestroyKeyVersion', data: { version: 2 }, metadata: meta(now) });
    expect(errorCode(() => decide(destroy(new Date(expiresAt.getTime() - 1)), state))).toBe('ILLEGAL_TRANSITION');
    const after = given(create(), importVersion(2, expiresAt), destroy(expiresAt));
    if (after.status === 'NotCreated') throw new Error('unreachable');
    expect(after.key.versions[1].state).toBe('DESTROYED');
    expect(after.status).toBe('Disabled');
  });

  it('given an expired imported version not yet destroyed, operations on the clock refuse it with KEY_VERSION_EXPIRED; before its expiry they use it', () => {
    const expiresAt = new Date(t0.getTime() + day);
    const state = given(create(), importVersion(2, expiresAt));
    const before = new Date(expiresAt.getTime() - 1);
    expect(versionForOperation(state, 'ENCRYPT', undefined, before).version).toBe(2);
    expect(versionForOperation(state, 'DECRYPT', 2, before).version).toBe(2);
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      throw new Error('expected a refusal');
    };
    // The primary (implied by the key): named on key_id, with the expiry in the message.
    expect(thrown(() => versionForOperation(state, 'ENCRYPT', undefined, expiresAt))).toMatchObject({ code: 'KEY_VERSION_EXPIRED', field: 'key_id', message: expect.stringContaining(expiresAt.toISOString()) });
    // A version asked for by number: named on key_version.
    expect(thrown(() => versionForOperation(state, 'DECRYPT', 2, expiresAt))).toMatchObject({ code: 'KEY_VERSION_EXPIRED', field: 'key_version' });
    expect(thrown(() => versionForOperation(state, 'DECRYPT', undefined, expiresAt))).toMatchObject({ code: 'KEY_VERSION_EXPIRED', field: 'key_id' });
    // Versions that were not imported have no expiry.
    expect(versionForOperation(state, 'DECRYPT', 1, new Date(expiresAt.getTime() + 365 * day)).version).toBe(1);
  });
});

describe('export keys (export_expires_at): rotated right when the export expires', () => {
  const hour = 60 * 60 * 1000;
  const exportExpiresAt = new Date(t0.getTime() + 5 * hour);

  it('given an export key, its next rotation is the export expiry; after the rotation the period counts again', () => {
    const state = given(create({ exportExpiresAt }));
    if (state.status === 'NotCreated') throw new Error('unreachable');
    expect(state.key.exportExpiresAt).toBe(exportExpiresAt.toISOString());
    expect(nextRotationAt(state.key).toISOString()).toBe(exportExpiresAt.toISOString());
    const after = given(create({ exportExpiresAt }), rotate(2, new Date(exportExpiresAt.getTime() + 1000)));
    if (after.status === 'NotCreated') throw new Error('unreachable');
    expect(nextRotationAt(after.key).getTime()).toBe(exportExpiresAt.getTime() + 1000 + 60 * 24 * hour);
    // A key without one rotates by its period only.
    const plain = given(create());
    if (plain.status === 'NotCreated') throw new Error('unreachable');
    expect(nextRotationAt(plain.key).getTime()).toBe(t0.getTime() + 60 * 24 * hour);
  });

  it('an export expiry in the past is refused naming export_expires_at', () => {
    expect(() => decide(create({ exportExpiresAt: new Date(t0.getTime() - 1) }), initialState())).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'export_expires_at' }));
  });

  it('after the rotation, earlier versions of an RSA-OAEP export key give no public key to encrypt to; the primary does', () => {
    const oaep = given(create({ algorithm: 'RSA_OAEP_3072_SHA256', exportExpiresAt }), rotate(2, new Date(exportExpiresAt.getTime() + 1000)));
    expect(errorCode(() => versionForOperation(oaep, 'GET_PUBLIC_KEY', 1))).toBe('KEY_VERSION_DISABLED');
    expect(versionForOperation(oaep, 'GET_PUBLIC_KEY', 2).version).toBe(2);
    // Decryption of what was encrypted before still works with the old version.
    expect(versionForOperation(oaep, 'ASYMMETRIC_DECRYPT', 1).version).toBe(1);
    // Without export expiry an older public key is still handed out.
    const plain = given(create({ algorithm: 'RSA_OAEP_3072_SHA256' }), rotate(2));
    expect(versionForOperation(plain, 'GET_PUBLIC_KEY', 1).version).toBe(1);
  });
});

describe('renaming', () => {
  const rename = (name: unknown): KeyCommand => ({ type: 'RenameKey', data: { name: name as string }, metadata: meta() });

  it('records the new and the previous name, nothing for the same name, and refuses a name creation would refuse or a missing key', () => {
    const state = given(create());
    const events = decide(rename('payments-2026'), state);
    expect(events).toEqual([{ type: 'KeyRenamed', data: { keyId: KEY_ID, name: 'payments-2026', previousName: 'payments' }, metadata: expect.any(Object) }]);
    expect(events.reduce(evolve, state)).toMatchObject({ key: { name: 'payments-2026' } });
    expect(decide(rename('payments'), state)).toEqual([]);
    expect(errorCode(() => decide(rename(''), state))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => decide(rename('ok-name'), initialState()))).toBe('KEY_NOT_FOUND');
  });
});

describe('exportable keys and keys created with imported material', () => {
  it('records exportable on KeyCreated and the key; HSM keys are never exportable', () => {
    const events = decide(create({ exportable: true }), initialState());
    expect(events[0]).toMatchObject({ type: 'KeyCreated', data: { exportable: true } });
    expect(events.reduce(evolve, initialState())).toMatchObject({ key: { exportable: true } });
    expect(decide(create(), initialState())[0]?.data).not.toHaveProperty('exportable');
    expect(errorCode(() => decide(create({ exportable: true, protectionLevel: 'HSM' }), initialState()))).toBe('INVALID_ARGUMENT');
  });

  it('marks the first version imported when the key is created with the caller\'s material (KMIP Register)', () => {
    const state = given(create({ imported: true }));
    if (state.status === 'NotCreated') throw new Error('unreachable');
    expect(state.key.versions.map((v) => [v.version, v.imported])).toEqual([[1, true]]);
    const generated = given(create());
    if (generated.status === 'NotCreated') throw new Error('unreachable');
    expect(generated.key.versions[0]?.imported).toBeUndefined();
  });
});
