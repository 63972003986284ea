import { randomUUID } from 'node:crypto';
import { UNRESTRICTED_ACCESS } from '../access/authorizer';
import type { AuditRecord } from '../ports/audit-log.port';
import { type ApplicationFixture, applicationFixture, keyInput, kmsErrorOf, TEST_CHANGE } from '../testing/application-fixture';
import { ciphertextRef, trackingChanges } from './ciphertext-tracking';
import type { CallContext } from './audited-operation';

const KEY_A = '0b8f6a52-4a3c-4d7e-9a61-2f9d1c3e5b70';
const KEY_B = '5d2e8c41-7b9a-4f36-8e15-a0c4d6b2f918';
const ref = (n: number) => n.toString(16).padStart(32, '0');

function record(ciphertexts: AuditRecord['ciphertexts'], over: Partial<AuditRecord> = {}): AuditRecord {
  return { id: randomUUID(), time: new Date(0), requestId: 'r', operation: 'GenerateDataKey', actor: 'app', outcome: 'SUCCESS', keyId: KEY_A, keyVersion: 1, ciphertexts, ...over };
}
const out = (r: string, keyId = KEY_A, version = 1) => ({ handedOut: { ref: r, keyId, version } });

describe('trackingChanges', () => {
  it('tracks what a call handed out under its key version, and what a ReEncrypt produced under the destination', () => {
    const { track, release } = trackingChanges([
      record(out(ref(1))),
      record({ released: ref(1), ...out(ref(2), KEY_B, 3) }, { operation: 'ReEncrypt' }),
    ]);
    expect([...track]).toEqual([[ref(2), { keyId: KEY_B, version: 3 }]]);
    expect([...release]).toEqual([ref(1)]);
  });

  it('ignores refused and failed calls, and details that are not references', () => {
    const { track, release } = trackingChanges([
      record(out(ref(1)), { outcome: 'FAILURE', errorCode: 'KEY_DISABLED' }),
      record({ released: ref(2) }, { outcome: 'DENIED' }),
      record(out('not-a-ref')),
      record(out('7')),
    ]);
    expect(track.size + release.size).toBe(0);
  });

  it('a reference handed out again after its release is tracked (order of the records counts)', () => {
    const { track, release } = trackingChanges([record({ released: ref(5) }, { operation: 'ReEncrypt' }), record(out(ref(5)))]);
    expect(track.get(ref(5))).toEqual({ keyId: KEY_A, version: 1 });
    expect(release.has(ref(5))).toBe(false);
  });
});

describe('ciphertexts outstanding per DATA_PROTECTION version (in-memory audit log)', () => {
  let app: ApplicationFixture;
  const ctx: CallContext = { actor: 'orders-service', requestId: 'req-1' };
  const aad = Buffer.from('order=42');

  beforeEach(() => {
    app = applicationFixture();
  });
  afterEach(() => app.store.close());

  const dataKey = (keyId: string) => app.executor.run(ctx, 'GenerateDataKey', (f) => app.crypto.generateDataKey(UNRESTRICTED_ACCESS, keyId, aad, 32, true, f));
  const encrypt = (keyId: string) => app.executor.run(ctx, 'Encrypt', (f) => app.crypto.encrypt(UNRESTRICTED_ACCESS, keyId, Buffer.from('card'), aad, f));
  const reEncrypt = (ciphertext: Buffer) => app.executor.run(ctx, 'ReEncrypt', (f) => app.crypto.reEncrypt(UNRESTRICTED_ACCESS, ciphertext, aad, undefined, aad, f));
  const counts = async (keyId: string) => Object.fromEntries(await app.audit.outstanding(keyId));

  it('counts wrapped data keys and ciphertexts per version; ReEncrypt moves them once; the old version retires only when none is left', async () => {
    const key = await app.lifecycle.createKey(keyInput({ purpose: 'DATA_PROTECTION' }), TEST_CHANGE);
    const wrapped = [await dataKey(key.keyId), await dataKey(key.keyId), await encrypt(key.keyId)].map((r) => r.ciphertext);
    expect(await counts(key.keyId)).toEqual({ 1: 3 });
    await app.lifecycle.rotateKey(key.keyId, 'SCHEDULED', TEST_CHANGE);

    await reEncrypt(wrapped[0]);
    await reEncrypt(wrapped[1]);
    // Re-encrypting the same ciphertext again does not release version 1 a second time.
    await reEncrypt(wrapped[1]);
    expect(await counts(key.keyId)).toEqual({ 1: 1, 2: 3 });

    for (const retire of [
      () => app.lifecycle.scheduleKeyVersionDestruction(key.keyId, 1, undefined, TEST_CHANGE),
      () => app.lifecycle.disableKeyVersion(key.keyId, 1, TEST_CHANGE),
      () => app.lifecycle.preview(key.keyId, { type: 'ScheduleKeyVersionDestruction', data: { version: 1 } }, TEST_CHANGE),
    ]) {
      const err = await kmsErrorOf(retire());
      expect([err.code, err.field]).toEqual(['CIPHERTEXTS_OUTSTANDING', 'key_version']);
    }

    await reEncrypt(wrapped[2]);
    expect(await counts(key.keyId)).toEqual({ 2: 4 });
    const after = await app.lifecycle.scheduleKeyVersionDestruction(key.keyId, 1, undefined, TEST_CHANGE);
    expect(after.versions[0].state).toBe('DESTROY_SCHEDULED');
  });

  it('the audit record names the ciphertext by reference only, and a failed call tracks nothing', async () => {
    const key = await app.lifecycle.createKey(keyInput({ purpose: 'DATA_PROTECTION' }), TEST_CHANGE);
    const out = await dataKey(key.keyId);
    const [rec] = app.audit.records;
    expect(rec.ciphertexts?.handedOut?.ref).toBe(ciphertextRef(out.ciphertext));
    expect(JSON.stringify(rec)).not.toContain(out.ciphertext.toString('hex'));
    expect(JSON.stringify(rec)).not.toContain(out.ciphertext.toString('base64'));

    await app.lifecycle.disableKeyVersion(key.keyId, 1, TEST_CHANGE);
    await expect(dataKey(key.keyId)).rejects.toMatchObject({ code: 'KEY_DISABLED' });
    expect(await counts(key.keyId)).toEqual({ 1: 1 });
  });

  it('keys of other purposes are not tracked (their retention is by time)', async () => {
    const key = await app.lifecycle.createKey(keyInput({ purpose: 'SERVICE_ENVELOPE' }), TEST_CHANGE);
    await dataKey(key.keyId);
    expect(await counts(key.keyId)).toEqual({});
    expect(app.audit.records[0].ciphertexts).toBeUndefined();
  });
});
