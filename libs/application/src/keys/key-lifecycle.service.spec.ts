import { UNRESTRICTED_ACCESS } from '../access/authorizer';
import { DAY_MS, keyDecider, keyEventCodec, keyNameStreamId, keyStreamId, type KeyRecord } from '@kms/domain';
import { loadAggregate } from '../changes/handle-command';
import type { CreateKeyInput } from './key-lifecycle.service';
import {
  type ApplicationFixture,
  applicationFixture,
  FIXTURE_START,
  keyInput,
  kmsErrorOf,
  TEST_CHANGE,
} from '../testing/application-fixture';

describe('KeyLifecycleService', () => {
  let app: ApplicationFixture;

  beforeEach(() => {
    app = applicationFixture();
  });

  afterEach(() => app.store.close());

  async function eventTypes(keyId: string): Promise<string[]> {
    return (await app.store.readStream(keyStreamId(keyId))).events.map((e) => e.type);
  }

  async function encryptNow(keyId: string, text: string): Promise<Buffer> {
    return (await app.crypto.encrypt(UNRESTRICTED_ACCESS, keyId, Buffer.from(text), Buffer.alloc(0))).ciphertext;
  }

  async function decryptText(ciphertext: Buffer): Promise<string> {
    return (await app.crypto.decrypt(UNRESTRICTED_ACCESS, ciphertext, Buffer.alloc(0))).plaintext.toString();
  }

  describe('renameKey', () => {
    it('given a key, then KeyRenamed, the new name reserved and the old one released; a taken name is refused naming `name` and changes nothing', async () => {
      const key = await app.lifecycle.createKey(keyInput({ name: 'orders-2025' }), TEST_CHANGE);
      const other = await app.lifecycle.createKey(keyInput({ name: 'orders-other' }), TEST_CHANGE);
      const renamed = await app.lifecycle.renameKey(key.keyId, 'orders-2026', TEST_CHANGE);
      expect(renamed.name).toBe('orders-2026');
      expect((await app.catalog.get(key.keyId)).key.name).toBe('orders-2026');
      expect((await eventTypes(key.keyId)).at(-1)).toBe('KeyRenamed');
      const names = async (name: string) => (await app.store.readStream(keyNameStreamId('acme', name))).events.map((e) => [e.type, e.data['keyId']]);
      expect(await names('orders-2026')).toEqual([['KeyNameReserved', key.keyId]]);
      expect(await names('orders-2025')).toEqual([
        ['KeyNameReserved', key.keyId],
        ['KeyNameReleased', key.keyId],
      ]);
      // The old name can name another key now; a name in use cannot be taken.
      await app.lifecycle.createKey(keyInput({ name: 'orders-2025' }), TEST_CHANGE);
      expect(await kmsErrorOf(app.lifecycle.renameKey(key.keyId, 'orders-other', TEST_CHANGE))).toMatchObject({ code: 'KEY_ALREADY_EXISTS', field: 'name' });
      expect(await kmsErrorOf(app.lifecycle.renameKey(key.keyId, 'Not a name!', TEST_CHANGE))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'name' });
      expect((await app.catalog.get(other.keyId)).key.name).toBe('orders-other');
      expect((await app.catalog.get(key.keyId)).key.name).toBe('orders-2026');
      // The same name again changes nothing.
      const before = await eventTypes(key.keyId);
      await app.lifecycle.renameKey(key.keyId, 'orders-2026', TEST_CHANGE);
      expect(await eventTypes(key.keyId)).toEqual(before);
    });
  });

  describe('exportable material', () => {
    it('refuses a key not created exportable, and material its backend never lets out (as HSM keys); the software backend path is in the KMIP e2e spec', async () => {
      const plain = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      const notExportable = await kmsErrorOf(app.lifecycle.exportableMaterial(await app.catalog.get(plain.keyId), 1));
      expect(notExportable).toMatchObject({ code: 'PERMISSION_DENIED' });
      expect(notExportable.message).toMatch(/not exportable/);
      // The fixture's backend has no exportSecretMaterial, like the PKCS#11 one.
      const exportable = await app.lifecycle.createKey(keyInput({ exportable: true }), TEST_CHANGE);
      expect((await app.catalog.get(exportable.keyId)).key.exportable).toBe(true);
      const sealed = await kmsErrorOf(app.lifecycle.exportableMaterial(await app.catalog.get(exportable.keyId), 1));
      expect(sealed.message).toMatch(/not extractable/);
      expect(await kmsErrorOf(app.lifecycle.exportableMaterial(await app.catalog.get(exportable.keyId), 2))).toMatchObject({ code: 'KEY_VERSION_NOT_FOUND' });
    });
  });

  describe('createKey', () => {
    it('given a valid request, then KeyCreated, KeyVersionCreated and PrimaryVersionChanged are stored with who, why and when', async () => {
      const key = await app.lifecycle.createKey(keyInput({ name: 'payments-dek', labels: { env: 'prod' } }), TEST_CHANGE);

      const { events } = await app.store.readStream(keyStreamId(key.keyId));
      expect(events.map((e) => e.type)).toEqual(['KeyCreated', 'KeyVersionCreated', 'PrimaryVersionChanged']);
      for (const e of events) {
        expect(e.metadata).toEqual({
          actor: 'alice@example.com',
          correlationId: 'corr-0001',
          reason: 'unit test',
          changeTicket: 'CHG-1234',
          occurredAt: FIXTURE_START.toISOString(),
        });
      }
      expect(events[0].data).toMatchObject({ keyId: key.keyId, tenant: 'acme', name: 'payments-dek', labels: { env: 'prod' }, rotationPeriodDays: 180 });
      expect(events[1].data).toMatchObject({ version: 1, reason: 'INITIAL', materialRef: key.versions[0].materialRef });
      expect(events[2].data).toEqual({ keyId: key.keyId, version: 1, previousVersion: null, reason: 'INITIAL' });
      expect(app.backend.has(key.versions[0].materialRef)).toBe(true);

      const reservation = await app.store.readStream(keyNameStreamId('acme', 'payments-dek'));
      expect(reservation.events.map((e) => [e.type, e.data['keyId']])).toEqual([['KeyNameReserved', key.keyId]]);
    });

    it('given no reason or change ticket, then the events carry neither', async () => {
      const key = await app.lifecycle.createKey(keyInput(), { actor: 'bob', correlationId: 'c-2' });
      const { events } = await app.store.readStream(keyStreamId(key.keyId));
      expect(events[0].metadata).toEqual({ actor: 'bob', correlationId: 'c-2', occurredAt: FIXTURE_START.toISOString() });
    });

    it('returns a key that is usable at once: version 1 is primary and encrypts', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      expect(key).toMatchObject({ primaryVersion: 1, minDecryptionVersion: 1, versions: [{ version: 1, state: 'ENABLED' }] });
      expect(await decryptText(await encryptNow(key.keyId, 'hello'))).toBe('hello');
    });

    it('given a name already used in the tenant, then KEY_ALREADY_EXISTS on field name and no material is created', async () => {
      await app.lifecycle.createKey(keyInput({ name: 'orders' }), TEST_CHANGE);
      const err = await kmsErrorOf(app.lifecycle.createKey(keyInput({ name: 'orders', algorithm: 'HMAC_SHA256' }), TEST_CHANGE));
      expect(err.code).toBe('KEY_ALREADY_EXISTS');
      expect(err.field).toBe('name');
      expect(app.backend.size).toBe(1);
    });

    it('given the same name in another tenant, then both keys exist', async () => {
      const a = await app.lifecycle.createKey(keyInput({ tenant: 'acme', name: 'orders' }), TEST_CHANGE);
      const b = await app.lifecycle.createKey(keyInput({ tenant: 'globex', name: 'orders' }), TEST_CHANGE);
      expect(a.keyId).not.toBe(b.keyId);
      expect((await app.catalog.list({ tenant: 'globex' })).map((s) => s.key.keyId)).toEqual([b.keyId]);
      expect(app.backend.size).toBe(2);
    });

    it.each([
      ['a name with a space', { name: 'bad name' }, 'INVALID_ARGUMENT', 'name'],
      ['an empty name', { name: '' }, 'INVALID_ARGUMENT', 'name'],
      ['a name of 129 characters', { name: 'n'.repeat(129) }, 'INVALID_ARGUMENT', 'name'],
      ['an upper-case tenant', { tenant: 'Acme' }, 'INVALID_ARGUMENT', 'tenant'],
      ['an unknown algorithm', { algorithm: 'DES' }, 'INVALID_ARGUMENT', 'algorithm'],
      ['an unknown purpose', { purpose: 'FUN' }, 'INVALID_ARGUMENT', 'purpose'],
      ['a protection level this server has no backend for', { protectionLevel: 'HSM' }, 'UNSUPPORTED_ALGORITHM', 'protection_level'],
      ['a rotation period above the ROOT_TENANT maximum (90)', { purpose: 'ROOT_TENANT', rotationPeriodDays: 91 }, 'ROTATION_PERIOD_TOO_LONG', 'rotation_period_days'],
      ['a rotation period above the BREAK_GLASS maximum (30)', { purpose: 'BREAK_GLASS', rotationPeriodDays: 31 }, 'ROTATION_PERIOD_TOO_LONG', 'rotation_period_days'],
      ['a fractional rotation period', { rotationPeriodDays: 1.5 }, 'INVALID_ARGUMENT', 'rotation_period_days'],
      ['an upper-case label key', { labels: { Env: 'prod' } }, 'INVALID_ARGUMENT', 'labels.Env'],
      ['a blank owner', { owner: '  ' }, 'INVALID_ARGUMENT', 'owner'],
    ])('given %s, then it fails before any material is created or the name reserved', async (_case, overrides, code, field) => {
      // Some overrides are deliberately not valid values of their type.
      const input = keyInput(overrides as unknown as Partial<CreateKeyInput>);
      const err = await kmsErrorOf(app.lifecycle.createKey(input, TEST_CHANGE));
      expect([err.code, err.field]).toEqual([code, field]);
      expect(app.backend.size).toBe(0);
      expect((await app.store.readStream(keyNameStreamId(input.tenant, input.name))).currentVersion).toBe(-1);
      expect(await app.catalog.all()).toHaveLength(0);
    });

    it('given a rejected rotation period, when the request is corrected, then the same name can be used', async () => {
      const input = keyInput({ purpose: 'SERVICE_ENVELOPE', rotationPeriodDays: 61 });
      expect((await kmsErrorOf(app.lifecycle.createKey(input, TEST_CHANGE))).code).toBe('ROTATION_PERIOD_TOO_LONG');
      const key = await app.lifecycle.createKey({ ...input, rotationPeriodDays: 60 }, TEST_CHANGE);
      expect(key).toMatchObject({ name: input.name, rotationPeriodDays: 60 });
    });

    it('given the backend fails to create material, when the caller retries, then the key is created under the same name', async () => {
      // A failed create must not burn the name: the key does not exist, so a retry has to be possible.
      const input = keyInput({ name: 'retry-me' });
      app.backend.failNextCreate();
      expect((await kmsErrorOf(app.lifecycle.createKey(input, TEST_CHANGE))).code).toBe('BACKEND_UNAVAILABLE');
      const key = await app.lifecycle.createKey(input, TEST_CHANGE);
      expect(key.name).toBe('retry-me');
    });
  });

  describe('rotateKey', () => {
    it('makes version 2 primary; version 1 still decrypts what it encrypted', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      const old = await encryptNow(key.keyId, 'written under v1');
      app.clock.advance(DAY_MS);

      const rotated = await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);

      expect(rotated.primaryVersion).toBe(2);
      expect(rotated.primarySince).toBe(new Date(FIXTURE_START.getTime() + DAY_MS).toISOString());
      expect(rotated.versions.map((v) => [v.version, v.state])).toEqual([
        [1, 'ENABLED'],
        [2, 'ENABLED'],
      ]);
      expect(rotated.versions[1].materialRef).not.toBe(rotated.versions[0].materialRef);
      expect(await decryptText(old)).toBe('written under v1');
      const fresh = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('new'), Buffer.alloc(0));
      expect(fresh.keyVersion).toBe(2);

      const { events } = await app.store.readStream(keyStreamId(key.keyId));
      expect(events.slice(3).map((e) => [e.type, e.data['version'], e.data['reason']])).toEqual([
        ['KeyVersionCreated', 2, 'MANUAL'],
        ['PrimaryVersionChanged', 2, 'MANUAL'],
      ]);
      expect(events[4].data['previousVersion']).toBe(1);
    });

    async function rotateFiveTimesAtOnce(keyId: string) {
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => app.lifecycle.rotateKey(keyId, 'MANUAL', TEST_CHANGE)));
      const loaded = await loadAggregate(app.store, keyDecider, keyEventCodec, keyStreamId(keyId));
      if (loaded.state.status === 'NotCreated') throw new Error('key vanished');
      return { outcomes, versions: loaded.state.key.versions };
    }

    it('given five concurrent rotations, then every version is distinct and has material, and losers leave no orphaned material', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);

      const { outcomes, versions } = await rotateFiveTimesAtOnce(key.keyId);

      expect(app.backend.size).toBe(versions.length);
      for (const v of versions) expect(app.backend.has(v.materialRef)).toBe(true);
      expect(new Set(versions.map((v) => v.materialRef)).size).toBe(versions.length);
      const won = outcomes.filter((o): o is PromiseFulfilledResult<KeyRecord> => o.status === 'fulfilled').map((o) => o.value.primaryVersion);
      expect(versions.map((v) => v.version)).toEqual([1, ...[...won].sort((a, b) => a - b)]);
      for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as { code?: string }).code).toBe('CONCURRENCY_CONFLICT');
    });

    it('given five concurrent rotations in one process, then all five succeed with versions 2..6', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);

      const { outcomes, versions } = await rotateFiveTimesAtOnce(key.keyId);

      expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : String((o.reason as { code?: string }).code)))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(app.backend.size).toBe(6);
    });

    it('given a key whose primary version is disabled, then KEY_DISABLED and no material is created', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      await app.lifecycle.disableKeyVersion(key.keyId, 1, TEST_CHANGE);
      const err = await kmsErrorOf(app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE));
      expect(err.code).toBe('KEY_DISABLED');
      expect(app.backend.size).toBe(1);
    });

    it('given an unknown key, then KEY_NOT_FOUND on key_id', async () => {
      const err = await kmsErrorOf(app.lifecycle.rotateKey('00000000-0000-4000-8000-000000000000', 'MANUAL', TEST_CHANGE));
      expect([err.code, err.field]).toEqual(['KEY_NOT_FOUND', 'key_id']);
      expect(app.backend.size).toBe(0);
    });
  });

  describe('version state changes', () => {
    let key: KeyRecord;
    let v1Ciphertext: Buffer;

    beforeEach(async () => {
      key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      v1Ciphertext = await encryptNow(key.keyId, 'v1 data');
    });

    it('disable stops encryption and decryption with the version; enable restores both', async () => {
      const disabled = await app.lifecycle.disableKeyVersion(key.keyId, 1, TEST_CHANGE);
      expect(disabled.versions[0].state).toBe('DISABLED');
      expect((await kmsErrorOf(encryptNow(key.keyId, 'x'))).code).toBe('KEY_DISABLED');
      expect((await kmsErrorOf(decryptText(v1Ciphertext))).code).toBe('KEY_VERSION_DISABLED');

      await app.lifecycle.enableKeyVersion(key.keyId, 1, TEST_CHANGE);
      expect(await decryptText(v1Ciphertext)).toBe('v1 data');
      expect(await decryptText(await encryptNow(key.keyId, 'again'))).toBe('again');
      expect(await eventTypes(key.keyId)).toEqual(['KeyCreated', 'KeyVersionCreated', 'PrimaryVersionChanged', 'KeyVersionDisabled', 'KeyVersionEnabled']);
    });

    it('disabling an already disabled version records nothing more', async () => {
      await app.lifecycle.disableKeyVersion(key.keyId, 1, TEST_CHANGE);
      await app.lifecycle.disableKeyVersion(key.keyId, 1, TEST_CHANGE);
      expect((await eventTypes(key.keyId)).filter((t) => t === 'KeyVersionDisabled')).toHaveLength(1);
    });

    it('a version that does not exist is KEY_VERSION_NOT_FOUND', async () => {
      const err = await kmsErrorOf(app.lifecycle.disableKeyVersion(key.keyId, 7, TEST_CHANGE));
      expect([err.code, err.field]).toEqual(['KEY_VERSION_NOT_FOUND', 'key_version']);
    });

    it('the primary version cannot be scheduled for destruction', async () => {
      const err = await kmsErrorOf(app.lifecycle.scheduleKeyVersionDestruction(key.keyId, 1, 7, TEST_CHANGE));
      expect(err.code).toBe('PRIMARY_VERSION_PROTECTED');
      expect(app.backend.has(key.versions[0].materialRef)).toBe(true);
    });

    it('scheduling destruction blocks decryption at once; cancelling leaves the version disabled until enabled', async () => {
      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);
      const scheduled = await app.lifecycle.scheduleKeyVersionDestruction(key.keyId, 1, 7, TEST_CHANGE);
      expect(scheduled.versions[0]).toMatchObject({ state: 'DESTROY_SCHEDULED', destroyAt: new Date(FIXTURE_START.getTime() + 7 * DAY_MS).toISOString() });
      expect((await kmsErrorOf(decryptText(v1Ciphertext))).code).toBe('KEY_VERSION_DESTROY_SCHEDULED');

      const cancelled = await app.lifecycle.cancelKeyVersionDestruction(key.keyId, 1, TEST_CHANGE);
      expect(cancelled.versions[0].state).toBe('DISABLED');
      expect(cancelled.versions[0].destroyAt).toBeUndefined();
      expect((await kmsErrorOf(decryptText(v1Ciphertext))).code).toBe('KEY_VERSION_DISABLED');

      await app.lifecycle.enableKeyVersion(key.keyId, 1, TEST_CHANGE);
      expect(await decryptText(v1Ciphertext)).toBe('v1 data');
    });

    it('without a delay, destruction is scheduled 30 days out', async () => {
      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);
      const scheduled = await app.lifecycle.scheduleKeyVersionDestruction(key.keyId, 1, undefined, TEST_CHANGE);
      expect(scheduled.versions[0].destroyAt).toBe(new Date(FIXTURE_START.getTime() + 30 * DAY_MS).toISOString());
    });

    it('cancelling a version that is not scheduled is ILLEGAL_TRANSITION', async () => {
      expect((await kmsErrorOf(app.lifecycle.cancelKeyVersionDestruction(key.keyId, 1, TEST_CHANGE))).code).toBe('ILLEGAL_TRANSITION');
    });

    it('setMinDecryptionVersion refuses older versions and keeps newer ones working', async () => {
      await app.lifecycle.rotateKey(key.keyId, 'COMPROMISE', TEST_CHANGE);
      const v2Ciphertext = await encryptNow(key.keyId, 'v2 data');

      const updated = await app.lifecycle.setMinDecryptionVersion(key.keyId, 2, TEST_CHANGE);

      expect(updated.minDecryptionVersion).toBe(2);
      expect((await kmsErrorOf(decryptText(v1Ciphertext))).code).toBe('KEY_VERSION_BELOW_MIN_DECRYPTION');
      expect(await decryptText(v2Ciphertext)).toBe('v2 data');
      const tooHigh = await kmsErrorOf(app.lifecycle.setMinDecryptionVersion(key.keyId, 3, TEST_CHANGE));
      expect([tooHigh.code, tooHigh.field]).toEqual(['INVALID_ARGUMENT', 'min_decryption_version']);
    });

    it('updateRotationPolicy refuses a period above the purpose maximum and records nothing', async () => {
      const err = await kmsErrorOf(app.lifecycle.updateRotationPolicy(key.keyId, 181, TEST_CHANGE));
      expect(err.code).toBe('ROTATION_PERIOD_TOO_LONG');
      expect(await eventTypes(key.keyId)).toHaveLength(3);
      expect((await app.lifecycle.updateRotationPolicy(key.keyId, 30, TEST_CHANGE)).rotationPeriodDays).toBe(30);
    });
  });

  describe('destroyKeyVersion', () => {
    let key: KeyRecord;
    let v1Ciphertext: Buffer;

    beforeEach(async () => {
      key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      v1Ciphertext = await encryptNow(key.keyId, 'v1 data');
      await app.lifecycle.rotateKey(key.keyId, 'SCHEDULED', TEST_CHANGE);
    });

    it('given a version that was never scheduled, then ILLEGAL_TRANSITION and the material stays', async () => {
      expect((await kmsErrorOf(app.lifecycle.destroyKeyVersion(key.keyId, 1, TEST_CHANGE))).code).toBe('ILLEGAL_TRANSITION');
      expect(app.backend.has(key.versions[0].materialRef)).toBe(true);
    });

    it('given a destruction not yet due, then DESTRUCTION_NOT_DUE and the material is still there', async () => {
      await app.lifecycle.scheduleKeyVersionDestruction(key.keyId, 1, 7, TEST_CHANGE);
      app.clock.advance(7 * DAY_MS - 1);

      const err = await kmsErrorOf(app.lifecycle.destroyKeyVersion(key.keyId, 1, TEST_CHANGE));

      expect(err.code).toBe('DESTRUCTION_NOT_DUE');
      expect(app.backend.has(key.versions[0].materialRef)).toBe(true);
      expect(await eventTypes(key.keyId)).not.toContain('KeyVersionDestroyed');
      // Still recoverable.
      await app.lifecycle.cancelKeyVersionDestruction(key.keyId, 1, TEST_CHANGE);
      await app.lifecycle.enableKeyVersion(key.keyId, 1, TEST_CHANGE);
      expect(await decryptText(v1Ciphertext)).toBe('v1 data');
    });

    it('given a due destruction, then the material is deleted, KeyVersionDestroyed recorded and decryption says KEY_VERSION_DESTROYED', async () => {
      await app.lifecycle.scheduleKeyVersionDestruction(key.keyId, 1, 7, TEST_CHANGE);
      app.clock.advance(7 * DAY_MS);

      const after = await app.lifecycle.destroyKeyVersion(key.keyId, 1, TEST_CHANGE);

      expect(after.versions[0]).toMatchObject({ state: 'DESTROYED', destroyedAt: app.clock.now().toISOString() });
      expect(app.backend.has(key.versions[0].materialRef)).toBe(false);
      expect(app.backend.size).toBe(1);
      const { events } = await app.store.readStream(keyStreamId(key.keyId));
      const destroyed = events.filter((e) => e.type === 'KeyVersionDestroyed');
      expect(destroyed.map((e) => e.data)).toEqual([{ keyId: key.keyId, version: 1, materialRef: key.versions[0].materialRef, materialDestroyed: true }]);
      const err = await kmsErrorOf(decryptText(v1Ciphertext));
      expect([err.code, err.field]).toEqual(['KEY_VERSION_DESTROYED', 'key_version']);
      // Version 2 is untouched.
      expect(await decryptText(await encryptNow(key.keyId, 'v2 data'))).toBe('v2 data');
    });

    it('destroying twice is harmless and records one event', async () => {
      await app.lifecycle.scheduleKeyVersionDestruction(key.keyId, 1, 1, TEST_CHANGE);
      app.clock.advance(DAY_MS);
      await app.lifecycle.destroyKeyVersion(key.keyId, 1, TEST_CHANGE);
      await app.lifecycle.destroyKeyVersion(key.keyId, 1, TEST_CHANGE);
      expect((await eventTypes(key.keyId)).filter((t) => t === 'KeyVersionDestroyed')).toHaveLength(1);
    });
  });
});
