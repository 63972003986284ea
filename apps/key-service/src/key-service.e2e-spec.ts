import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { ensureSystemCredential } from '@kms/key-service-grpc';
import { AuditedExecutor, IdentityService } from '@kms/application';
import { KmsCallError, type KmsMessage, type KmsMethod } from '@kms/contracts';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const DAY = 24 * 60 * 60 * 1000;

async function expectError(p: Promise<unknown>, code: status, errorCode: string, field?: string): Promise<KmsCallError> {
  const e = await p.then(
    () => {
      throw new Error(`expected ${errorCode}, the call succeeded`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KmsCallError);
  const k = e as KmsCallError;
  expect({ code: status[k.code], errorCode: k.errorCode }).toEqual({ code: status[code], errorCode });
  if (field) expect(k.field).toBe(field);
  return k;
}

const ALL_PERMISSIONS = ['ENCRYPT', 'DECRYPT', 'SIGN', 'VERIFY', 'MAC', 'GENERATE_DATA_KEY', 'ADMINISTER'];

describe('key service over gRPC (end to end)', () => {
  let kms: KeyServiceUnderTest;
  /** The workload that uses and administers the keys; people create them. */
  let app: Actor;
  /** Keys are created by the bootstrap administrator with a policy granting the workload everything. */
  const call = <T extends KmsMessage = KmsMessage>(method: KmsMethod, req: KmsMessage, requestId: string = randomUUID()) => {
    if (method === 'CreateKey') {
      const withPolicy = req['policy'] ? req : { ...req, policy: { grants: { [app.identityId]: { permissions: ALL_PERMISSIONS } } } };
      return kms.admin.call<T>(method, withPolicy, requestId);
    }
    if (method === 'ListKeys') return kms.admin.call<T>(method, req, requestId);
    return app.call<T>(method, req, requestId);
  };

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_key_service');
    app = await kms.register('orders-service', 'WORKLOAD');
  });
  afterAll(async () => {
    await kms?.stop();
  });

  it('runs a key through its life: rotate twice, re-encrypt, minimum version, scheduled destruction', async () => {
    const requestIds: string[] = [];
    const step = <T extends KmsMessage = KmsMessage>(method: KmsMethod, req: KmsMessage) => {
      const id = randomUUID();
      requestIds.push(id);
      return call<T>(method, req, id);
    };
    const aad = Buffer.from('tenant=acme;order=42');
    const key = await step<{ key_id: string; primary_version: number }>('CreateKey', {
      tenant: 'acme',
      name: 'orders',
      purpose: 'DATA_PROTECTION',
      algorithm: 'AES_256_GCM',
      owner: 'team-orders',
      context: { reason: 'new orders service', change_ticket: 'CHG-1' },
    });
    expect(key.primary_version).toBe(1);
    const keyId = key.key_id;

    const plaintexts = ['first', 'second', 'third'].map((s) => Buffer.from(`${s} secret`));
    const ciphertexts: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      const enc = await step<{ ciphertext: Buffer; key_version: number }>('Encrypt', { key_id: keyId, plaintext: plaintexts[i], aad });
      expect(enc.key_version).toBe(i + 1);
      ciphertexts.push(enc.ciphertext);
      if (i < 2) {
        const rotated = await step<{ primary_version: number }>('RotateKey', { key_id: keyId, reason: 'MANUAL' });
        expect(rotated.primary_version).toBe(i + 2);
      }
    }

    for (let i = 0; i < 3; i++) {
      const dec = await step<{ plaintext: Buffer; key_version: number }>('Decrypt', { ciphertext: ciphertexts[i], aad });
      expect(dec.plaintext.equals(plaintexts[i])).toBe(true);
      expect(dec.key_version).toBe(i + 1);
    }

    const re = await step<{ ciphertext: Buffer; key_version: number; source_key_version: number }>('ReEncrypt', {
      ciphertext: ciphertexts[0],
      source_aad: aad,
      destination_aad: aad,
    });
    expect({ to: re.key_version, from: re.source_key_version }).toEqual({ to: 3, from: 1 });
    expect((await step<{ plaintext: Buffer }>('Decrypt', { ciphertext: re.ciphertext, aad })).plaintext.equals(plaintexts[0])).toBe(true);

    await step('SetMinDecryptionVersion', { key_id: keyId, min_decryption_version: 2 });
    requestIds.push('below-min');
    await expectError(call('Decrypt', { ciphertext: ciphertexts[0], aad }, 'below-min'), status.FAILED_PRECONDITION, 'KEY_VERSION_BELOW_MIN_DECRYPTION');

    const scheduled = await step<{ versions: Array<{ state: string; destroy_time: string }> }>('ScheduleKeyVersionDestruction', {
      key_id: keyId,
      key_version: 1,
    });
    expect(scheduled.versions[0].state).toBe('DESTROY_SCHEDULED');
    expect(scheduled.versions[0].destroy_time).toBe(new Date(kms.clock.now().getTime() + 30 * DAY).toISOString());
    requestIds.push('not-due');
    await expectError(call('DestroyKeyVersion', { key_id: keyId, key_version: 1 }, 'not-due'), status.FAILED_PRECONDITION, 'DESTRUCTION_NOT_DUE');

    const materialRows = async (version: number) =>
      (await kms.db.query('SELECT 1 FROM key_material WHERE key_id = $1 AND version = $2', [keyId, version])).rowCount;
    expect(await materialRows(1)).toBe(1);

    kms.clock.advance(30 * DAY);
    // The rotation scheduler destroys due versions (no sweeper in the key service): its job, as its workload.
    const destroyed = await kms.destroyAsScheduler(keyId, 1);
    expect(destroyed.outcome).toEqual({ status: 'done', detail: 'v1 destroyed' });
    expect(await materialRows(1)).toBe(0);
    expect(await materialRows(2)).toBe(1);

    requestIds.push('destroyed');
    const err = await expectError(call('Decrypt', { ciphertext: ciphertexts[0], aad }, 'destroyed'), status.FAILED_PRECONDITION, 'KEY_VERSION_DESTROYED');
    expect(err.details).toMatch(/destroyed/);
    const after = await step<{ versions: Array<{ state: string; destroyed_time: string }> }>('GetKey', { key_id: keyId });
    expect(after.versions.map((v) => v.state)).toEqual(['DESTROYED', 'ENABLED', 'ENABLED']);

    // Every lifecycle step left an event, in order, with who and why.
    const events = await kms.db.query<{ type: string; metadata: { actor: string; changeTicket?: string } }>(
      'SELECT type, metadata FROM events WHERE stream_id = $1 ORDER BY stream_version',
      [`key-${keyId}`],
    );
    expect(events.rows.map((r) => r.type)).toEqual([
      'KeyCreated',
      'KeyVersionCreated',
      'PrimaryVersionChanged',
      'KeyVersionCreated',
      'PrimaryVersionChanged',
      'KeyVersionCreated',
      'PrimaryVersionChanged',
      'MinDecryptionVersionChanged',
      'KeyVersionDestructionScheduled',
      'KeyVersionDestroyed',
    ]);
    expect(events.rows[0].metadata).toMatchObject({ actor: kms.admin.identityId, changeTicket: 'CHG-1' });
    expect(events.rows[3].metadata.actor).toBe(app.identityId);
    expect(events.rows.at(-1)?.metadata.actor).toBe(destroyed.actor);

    // Every call, successful or refused, left an audit record; none holds plaintext.
    const audit = await kms.db.query<{ request_id: string; operation: string; outcome: string; error_code: string | null; details: unknown }>(
      'SELECT request_id, operation, outcome, error_code, details FROM audit_records WHERE key_id = $1 ORDER BY position',
      [keyId],
    );
    const byRequest = new Map(audit.rows.map((r) => [r.request_id, r]));
    for (const id of requestIds) expect(byRequest.has(id)).toBe(true);
    expect(byRequest.get('destroyed')).toMatchObject({ operation: 'Decrypt', outcome: 'FAILURE', error_code: 'KEY_VERSION_DESTROYED' });
    expect(audit.rows.some((r) => r.operation === 'DestroyKeyVersion' && r.outcome === 'SUCCESS')).toBe(true);
    const auditText = JSON.stringify(audit.rows);
    for (const p of plaintexts) expect(auditText).not.toContain(p.toString());
  });

  describe('with an AES key', () => {
    let keyId: string;
    beforeAll(async () => {
      keyId = (await call<{ key_id: string }>('CreateKey', { name: 'aes-misc', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' })).key_id;
    });

    it('refuses a tampered ciphertext and a different aad without returning plaintext', async () => {
      const { ciphertext } = await call<{ ciphertext: Buffer }>('Encrypt', { key_id: keyId, plaintext: Buffer.from('x'.repeat(100)), aad: Buffer.from('a') });
      for (const position of [0, 20, 30, ciphertext.length - 1]) {
        const tampered = Buffer.from(ciphertext);
        tampered[position] ^= 0x01;
        await expectError(call('Decrypt', { ciphertext: tampered, aad: Buffer.from('a') }), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT', 'ciphertext');
      }
      // An altered key id names a key that does not exist: answered like any altered byte (the same
      // answer as a key the caller may not use), so crafted ciphertexts reveal nothing about which keys exist.
      const otherKey = Buffer.from(ciphertext);
      otherKey[5] ^= 0x01;
      await expectError(call('Decrypt', { ciphertext: otherKey, aad: Buffer.from('a') }), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT', 'ciphertext');
      // A person without a grant on the key gets the same answer for the intact ciphertext.
      const auditor = await kms.register('tamper-checker', 'HUMAN', ['sre-oncall']);
      await expectError(auditor.call('Decrypt', { ciphertext: otherKey, aad: Buffer.from('a') }), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT', 'ciphertext');
      await expectError(auditor.call('Decrypt', { ciphertext, aad: Buffer.from('a') }), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT', 'ciphertext');
      await expectError(call('Decrypt', { ciphertext, aad: Buffer.from('b') }), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT');
    });

    it('answers bad input with INVALID_ARGUMENT naming the field, unknown keys with NOT_FOUND, wrong usage with FAILED_PRECONDITION', async () => {
      await expectError(call('Encrypt', { key_id: keyId, plaintext: Buffer.alloc(64 * 1024 + 1) }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'plaintext');
      await expectError(call('Encrypt', { key_id: keyId, plaintext: Buffer.from('x'), aad: Buffer.alloc(8 * 1024 + 1) }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'aad');
      await expectError(call('Encrypt', { key_id: 'not-a-uuid', plaintext: Buffer.from('x') }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'key_id');
      // Workloads cannot tell a missing key from one they may not use; people who may read keys can.
      await expectError(call('Encrypt', { key_id: randomUUID(), plaintext: Buffer.from('x') }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
      await expectError(kms.admin.call('GetKey', { key_id: randomUUID() }), status.NOT_FOUND, 'KEY_NOT_FOUND');
      await expectError(call('Sign', { key_id: keyId, message: Buffer.from('m') }), status.FAILED_PRECONDITION, 'USAGE_MISMATCH');
      await expectError(call('CreateKey', { name: 'x'.repeat(129), purpose: 'ROOT_TENANT', algorithm: 'AES_256_GCM' }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'name');
      await expectError(
        call('CreateKey', { name: 'too-slow', purpose: 'ROOT_TENANT', algorithm: 'AES_256_GCM', rotation_period_days: 91 }),
        status.INVALID_ARGUMENT,
        'ROTATION_PERIOD_TOO_LONG',
        'rotation_period_days',
      );
      await expectError(call('CreateKey', { name: 'aes-misc', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' }), status.ALREADY_EXISTS, 'KEY_ALREADY_EXISTS', 'name');
      await expectError(call('CreateKey', { name: 'no-purpose', algorithm: 'AES_256_GCM' }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'purpose');
      await expectError(call('GenerateRandom', { length_bytes: 1025 }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'length_bytes');
      await expectError(call('ScheduleKeyVersionDestruction', { key_id: keyId, key_version: 1 }), status.FAILED_PRECONDITION, 'PRIMARY_VERSION_PROTECTED');
    });

    it('disabling the primary version stops encryption; enabling it again needs a second person', async () => {
      const k = (await call<{ key_id: string }>('CreateKey', { name: 'toggle', purpose: 'BREAK_GLASS', algorithm: 'AES_256_GCM' })).key_id;
      await call('DisableKeyVersion', { key_id: k, key_version: 1 });
      await expectError(call('Encrypt', { key_id: k, plaintext: Buffer.from('x') }), status.FAILED_PRECONDITION, 'KEY_DISABLED');
      await expectError(call('RotateKey', { key_id: k }), status.FAILED_PRECONDITION, 'KEY_DISABLED');
      // Workloads may not re-enable; a person asks, a second person approves.
      await expectError(call('EnableKeyVersion', { key_id: k, key_version: 1 }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
      const asked = await expectError(
        kms.admin.call('EnableKeyVersion', { key_id: k, key_version: 1, context: { change_ticket: 'CHG-7', reason: 'incident over' } }),
        status.FAILED_PRECONDITION,
        'APPROVAL_REQUIRED',
      );
      const approvalId = /request ([0-9a-f-]{36})/.exec(asked.details)?.[1];
      expect(approvalId).toBeDefined();
      await expectError(call('Encrypt', { key_id: k, plaintext: Buffer.from('x') }), status.FAILED_PRECONDITION, 'KEY_DISABLED');
      const second = await kms.register('second-admin', 'HUMAN', ['key-admin']);
      const done = await second.call<{ status: string }>('ApproveRequest', { approval_id: approvalId });
      expect(done.status).toBe('EXECUTED');
      expect((await call<{ key_version: number }>('Encrypt', { key_id: k, plaintext: Buffer.from('x') })).key_version).toBe(1);
    });

    it('batches give one result per item and one bad item does not fail the rest', async () => {
      const items = [
        { key_id: keyId, plaintext: Buffer.from('one'), aad: Buffer.from('1') },
        { key_id: randomUUID(), plaintext: Buffer.from('two') },
        { key_id: keyId, plaintext: Buffer.from('three'), aad: Buffer.from('3') },
      ];
      const enc = await call<{ results: Array<{ response?: { ciphertext: Buffer }; error?: { code: string; error_code: string } }> }>('BatchEncrypt', {
        items,
      });
      expect(enc.results).toHaveLength(3);
      expect(enc.results[1].error).toMatchObject({ code: 'PERMISSION_DENIED', error_code: 'PERMISSION_DENIED' });
      const dec = await call<{ results: Array<{ response?: { plaintext: Buffer } }> }>('BatchDecrypt', {
        items: [
          { ciphertext: enc.results[0].response?.ciphertext, aad: Buffer.from('1') },
          { ciphertext: enc.results[2].response?.ciphertext, aad: Buffer.from('3') },
        ],
      });
      expect(dec.results.map((r) => r.response?.plaintext.toString())).toEqual(['one', 'three']);
      await expectError(call('BatchEncrypt', { items: [] }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'items');
    });

    it('a batch call leaves one sealed audit row holding every item, tracks each item\'s ciphertext, and is refused whole when that row cannot be written', async () => {
      const tracked = async (id: string) =>
        Object.fromEntries((await kms.db.query<{ v: number; n: number }>('SELECT key_version AS v, count(*)::int AS n FROM tracked_ciphertexts WHERE key_id = $1 GROUP BY key_version', [id])).rows.map((r) => [r.v, r.n]));
      const rowsOf = async (requestId: string) =>
        (await kms.db.query<{ operation: string; outcome: string; key_id: string | null; items: Array<{ id: string; batchIndex: number; outcome: string; keyVersion?: number; details?: Record<string, unknown> }> }>(
          'SELECT operation, outcome, key_id, items FROM audit_records WHERE request_id = $1',
          [requestId],
        )).rows;
      const dp = (await call<{ key_id: string }>('CreateKey', { name: 'batch-tracked', purpose: 'DATA_PROTECTION', algorithm: 'AES_256_GCM' })).key_id;
      const plaintexts = Array.from({ length: 10 }, (_, i) => Buffer.from(`batch item ${i}`));
      const encrypted = randomUUID();
      const enc = await call<{ results: Array<{ response?: { ciphertext: Buffer } }> }>('BatchEncrypt', { items: plaintexts.map((plaintext) => ({ key_id: dp, plaintext })) }, encrypted);
      const ciphertexts = enc.results.map((r) => r.response?.ciphertext as Buffer);

      const [row, ...more] = await rowsOf(encrypted);
      expect(more).toEqual([]);
      expect(row).toMatchObject({ operation: 'BatchEncrypt', outcome: 'SUCCESS', key_id: dp });
      expect(row?.items.map((i) => [i.batchIndex, i.outcome, i.keyVersion])).toEqual(plaintexts.map((_, i) => [i, 'SUCCESS', 1]));
      expect(new Set(row?.items.map((i) => i.id)).size).toBe(10);
      expect(row?.items.every((i) => /^[0-9a-f]{32}$/.test(String(i.details?.['ciphertextRef'])))).toBe(true);
      const stored = JSON.stringify(row);
      for (const p of plaintexts) expect(stored).not.toContain(p.toString());
      for (const c of ciphertexts) expect(stored).not.toContain(c.toString('base64'));
      expect(await tracked(dp)).toEqual({ 1: 10 });

      // Four re-encrypted to the new primary in one call: one row, four references moved.
      await call('RotateKey', { key_id: dp, reason: 'MANUAL' });
      const reEncrypted = randomUUID();
      const re = await call<{ results: Array<{ response?: { key_version: number } }> }>('BatchReEncrypt', { items: ciphertexts.slice(0, 4).map((ciphertext) => ({ ciphertext })) }, reEncrypted);
      expect(re.results.map((r) => r.response?.key_version)).toEqual([2, 2, 2, 2]);
      const [moved, ...extra] = await rowsOf(reEncrypted);
      expect(extra).toEqual([]);
      expect(moved?.items.map((i) => [i.outcome, i.keyVersion])).toEqual([1, 2, 3, 4].map(() => ['SUCCESS', 1]));
      expect(moved?.items.every((i) => typeof i.details?.['sourceCiphertextRef'] === 'string' && typeof i.details?.['ciphertextRef'] === 'string')).toBe(true);
      expect(await tracked(dp)).toEqual({ 1: 6, 2: 4 });

      // Fail closed: without its one row the batch answers AUDIT_UNAVAILABLE and tracks nothing.
      await kms.db.query('ALTER TABLE audit_records RENAME TO audit_records_away');
      try {
        await expectError(call('BatchEncrypt', { items: plaintexts.slice(0, 3).map((plaintext) => ({ key_id: dp, plaintext })) }), status.UNAVAILABLE, 'AUDIT_UNAVAILABLE');
      } finally {
        await kms.db.query('ALTER TABLE audit_records_away RENAME TO audit_records');
      }
      expect(await tracked(dp)).toEqual({ 1: 6, 2: 4 });
    });

    it('generates data keys, with and without plaintext', async () => {
      const aad = Buffer.from('dk');
      const dk = await call<{ plaintext: Buffer; ciphertext: Buffer }>('GenerateDataKey', { key_id: keyId, aad });
      expect(dk.plaintext).toHaveLength(32);
      expect((await call<{ plaintext: Buffer }>('Decrypt', { ciphertext: dk.ciphertext, aad })).plaintext.equals(dk.plaintext)).toBe(true);
      const wrappedOnly = await call<{ plaintext: Buffer; ciphertext: Buffer }>('GenerateDataKey', { key_id: keyId, without_plaintext: true, length_bytes: 16 });
      expect(wrappedOnly.plaintext).toHaveLength(0);
      expect((await call<{ plaintext: Buffer }>('Decrypt', { ciphertext: wrappedOnly.ciphertext })).plaintext).toHaveLength(16);
    });

    it('fails closed: when the audit log cannot be written, nothing is returned', async () => {
      await kms.db.query('ALTER TABLE audit_records RENAME TO audit_records_away');
      try {
        await expectError(call('Encrypt', { key_id: keyId, plaintext: Buffer.from('must not leak') }), status.UNAVAILABLE, 'AUDIT_UNAVAILABLE');
      } finally {
        await kms.db.query('ALTER TABLE audit_records_away RENAME TO audit_records');
      }
      expect((await call<{ key_version: number }>('Encrypt', { key_id: keyId, plaintext: Buffer.from('works again') })).key_version).toBe(1);
    });
  });

  it('signs and verifies, and publishes the public key as PEM and JWK', async () => {
    const { createVerify, createPublicKey, verify } = await import('node:crypto');
    const k = (await call<{ key_id: string }>('CreateKey', { name: 'signer', purpose: 'ROOT_TENANT', algorithm: 'ECDSA_P256_SHA256' })).key_id;
    const message = Buffer.from('regulatory proof token');
    const sig = await call<{ signature: Buffer; key_version: number }>('Sign', { key_id: k, message });
    expect((await call<{ valid: boolean }>('Verify', { key_id: k, message, signature: sig.signature })).valid).toBe(true);
    expect((await call<{ valid: boolean }>('Verify', { key_id: k, message: Buffer.from('other'), signature: sig.signature })).valid).toBe(false);
    const pub = await call<{ pem: string; jwk: string }>('GetPublicKey', { key_id: k });
    expect(createVerify('sha256').update(message).verify(pub.pem, sig.signature)).toBe(true);
    const jwk = JSON.parse(pub.jwk) as { kid: string; crv: string };
    expect(jwk).toMatchObject({ kid: `${k}:1`, crv: 'P-256' });
    expect(verify('sha256', message, createPublicKey({ key: jwk, format: 'jwk' }), sig.signature)).toBe(true);
  });

  it('computes and checks MACs in constant time', async () => {
    const k = (await call<{ key_id: string }>('CreateKey', { name: 'mac', purpose: 'SERVICE_ENVELOPE', algorithm: 'HMAC_SHA256' })).key_id;
    const data = Buffer.from('webhook body');
    const { mac } = await call<{ mac: Buffer }>('GenerateMac', { key_id: k, data });
    expect((await call<{ valid: boolean }>('VerifyMac', { key_id: k, data, mac })).valid).toBe(true);
    const bad = Buffer.from(mac);
    bad[0] ^= 1;
    expect((await call<{ valid: boolean }>('VerifyMac', { key_id: k, data, mac: bad })).valid).toBe(false);
    await expectError(call('Encrypt', { key_id: k, plaintext: data }), status.FAILED_PRECONDITION, 'USAGE_MISMATCH');
  });

  it('lists keys by tenant, purpose and label, page by page', async () => {
    for (let i = 0; i < 5; i++) {
      await call('CreateKey', { tenant: 'listing', name: `k${i}`, purpose: i % 2 ? 'ROOT_TENANT' : 'DATA_PROTECTION', algorithm: 'AES_256_GCM', labels: { env: i < 3 ? 'prod' : 'dev' } });
    }
    const seen: string[] = [];
    let token = '';
    do {
      const page = await call<{ keys: Array<{ name: string }>; next_page_token: string }>('ListKeys', { tenant: 'listing', page_size: 2, page_token: token });
      expect(page.keys.length).toBeLessThanOrEqual(2);
      seen.push(...page.keys.map((k) => k.name));
      token = page.next_page_token;
    } while (token);
    expect(seen.sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    const prodData = await call<{ keys: Array<{ name: string }> }>('ListKeys', { tenant: 'listing', purpose: 'DATA_PROTECTION', labels: { env: 'prod' } });
    expect(prodData.keys.map((k) => k.name).sort()).toEqual(['k0', 'k2']);
    await expectError(call('ListKeys', { page_size: 501 }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'page_size');
  });

  it('the rotation scheduler workload rotates any key without a grant, and may not use keys', async () => {
    const scheduler = await kms.register('kms-rotation-scheduler', 'WORKLOAD', ['rotation-scheduler']);
    const k = (await call<{ key_id: string }>('CreateKey', { name: 'sched-target', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' })).key_id;
    expect((await scheduler.call<{ primary_version: number }>('RotateKey', { key_id: k, reason: 'SCHEDULED' })).primary_version).toBe(2);
    await expectError(scheduler.call('Encrypt', { key_id: k, plaintext: Buffer.from('x') }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
    await expectError(scheduler.call('EnableKeyVersion', { key_id: k, key_version: 1 }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
  });

  it('a reported compromise rotates at once with reason COMPROMISE; people need a second person for it', async () => {
    const detector = await kms.register('kms-anomaly-detector', 'WORKLOAD', ['anomaly-detector']);
    const k = (await call<{ key_id: string }>('CreateKey', { name: 'leaky', purpose: 'DATA_PROTECTION', algorithm: 'AES_256_GCM' })).key_id;
    const { ciphertext } = await call<{ ciphertext: Buffer }>('Encrypt', { key_id: k, plaintext: Buffer.from('before the leak') });
    const after = await detector.call<{ primary_version: number; versions: Array<{ compromised_time: string }> }>('ReportKeyCompromise', { key_id: k });
    expect(after.primary_version).toBe(2);
    expect(after.versions[0].compromised_time).not.toBe('');
    // Old data stays readable so it can be re-encrypted away from the exposed version.
    const moved = await call<{ key_version: number }>('ReEncrypt', { ciphertext });
    expect(moved.key_version).toBe(2);
    const events = await kms.db.query<{ type: string; data: { reason?: string } }>('SELECT type, data FROM events WHERE stream_id = $1 ORDER BY stream_version', [`key-${k}`]);
    expect(events.rows.slice(-3).map((r) => r.type)).toEqual(['KeyVersionCompromised', 'KeyVersionCreated', 'PrimaryVersionChanged']);
    expect(events.rows.at(-1)?.data.reason).toBe('COMPROMISE');
    // The detector may not use keys; a person's report waits for a second person.
    await expectError(detector.call('Encrypt', { key_id: k, plaintext: Buffer.from('x') }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
    await expectError(
      kms.admin.call('ReportKeyCompromise', { key_id: k, context: { change_ticket: 'INC-9' } }),
      status.FAILED_PRECONDITION,
      'APPROVAL_REQUIRED',
    );
  });

  it('previous versions are retired only after every registered dependent confirmed the new one, or with two people', async () => {
    const partner = await kms.register('partner-bank', 'WORKLOAD');
    const stranger = await kms.register('stranger', 'WORKLOAD');
    const k = (await call<{ key_id: string }>('CreateKey', { name: 'shared-signing', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' })).key_id;
    const registered = await call<{ dependents: Array<{ dependent_id: string; confirmed_version: number }> }>('RegisterDependent', {
      key_id: k,
      dependent_id: partner.identityId,
      name: 'partner-bank',
    });
    expect(registered.dependents).toEqual([expect.objectContaining({ dependent_id: partner.identityId, confirmed_version: 1 })]);
    await call('RotateKey', { key_id: k });

    await expectError(call('DisableKeyVersion', { key_id: k, key_version: 1 }), status.FAILED_PRECONDITION, 'DEPENDENTS_NOT_CONFIRMED', 'key_version');
    await expectError(call('ScheduleKeyVersionDestruction', { key_id: k, key_version: 1 }), status.FAILED_PRECONDITION, 'DEPENDENTS_NOT_CONFIRMED');
    await expectError(call('DisableKeyVersion', { key_id: k, key_version: 1, override_dependents: true }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
    await expectError(stranger.call('ConfirmKeyVersion', { key_id: k, key_version: 2 }), status.PERMISSION_DENIED, 'NOT_A_DEPENDENT');

    const confirmed = await partner.call<{ dependents: Array<{ confirmed_version: number }> }>('ConfirmKeyVersion', { key_id: k, key_version: 2 });
    expect(confirmed.dependents[0].confirmed_version).toBe(2);
    const disabled = await call<{ versions: Array<{ state: string }> }>('DisableKeyVersion', { key_id: k, key_version: 1 });
    expect(disabled.versions[0].state).toBe('DISABLED');

    // A new primary the partner has not picked up yet: a person may override, with a second person.
    await call('RotateKey', { key_id: k });
    const asked = await expectError(
      kms.admin.call('DisableKeyVersion', { key_id: k, key_version: 2, override_dependents: true, context: { change_ticket: 'CHG-42' } }),
      status.FAILED_PRECONDITION,
      'APPROVAL_REQUIRED',
    );
    const approvalId = /request ([0-9a-f-]{36})/.exec(asked.details)?.[1];
    const second = await kms.register('override-approver', 'HUMAN', ['security-engineering']);
    expect((await second.call<{ status: string }>('ApproveRequest', { approval_id: approvalId })).status).toBe('EXECUTED');
    const after = await kms.admin.call<{ versions: Array<{ state: string }> }>('GetKey', { key_id: k });
    expect(after.versions.map((v) => v.state)).toEqual(['DISABLED', 'DISABLED', 'ENABLED']);
  });

  it("keeps the KMS workloads' credentials in 0600 files, re-issuing one whose file was lost", async () => {
    const { mkdtemp, rm, stat } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'kms-system-'));
    try {
      const identities = kms.service.app.get(IdentityService);
      const executor = kms.service.app.get(AuditedExecutor);
      const spec = { name: 'kms-scheduler-test', role: 'rotation-scheduler' as const, file: join(dir, 'credentials', 'scheduler.json') };
      const first = await ensureSystemCredential(identities, spec, executor);
      expect((await stat(spec.file)).mode & 0o777).toBe(0o600);
      expect(await ensureSystemCredential(identities, spec, executor)).toEqual(first);
      const token = await kms.client.call<{ access_token: string }>('IssueToken', { client_id: first.clientId, client_secret: first.clientSecret });
      expect(token.access_token).toBeTruthy();
      await rm(spec.file);
      const second = await ensureSystemCredential(identities, spec, executor);
      expect(second.clientId).toBe(first.clientId);
      expect(second.clientSecret).not.toBe(first.clientSecret);
      await expectError(kms.client.call('IssueToken', { client_id: first.clientId, client_secret: first.clientSecret }), status.UNAUTHENTICATED, 'UNAUTHENTICATED');
      const scheduler = kms.actor(second.clientId, second.name, second.clientSecret, false);
      expect((await scheduler.call<{ keys: unknown[] }>('ListKeys', {})).keys.length).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('echoes the request id and serves random bytes', async () => {
    const r = await call<{ data: Buffer }>('GenerateRandom', { length_bytes: 48 });
    expect(r.data).toHaveLength(48);
  });

  it("times the audit log's group commits on /metrics", async () => {
    const metric = async (pattern: RegExp): Promise<number> => {
      const text = await (await fetch(`${kms.service.httpUrl}/metrics`)).text();
      return Number(pattern.exec(text)?.[1] ?? 0);
    };
    const committed = /kms_audit_flushes_total\{outcome="committed"\} (\d+)/;
    const timed = /kms_audit_flush_duration_seconds_count (\d+)/;
    const rows = /kms_audit_flushed_rows_total (\d+)/;
    const before = { committed: await metric(committed), timed: await metric(timed), rows: await metric(rows) };
    for (let i = 0; i < 3; i++) await call('GenerateRandom', { length_bytes: 8 });
    const after = { committed: await metric(committed), timed: await metric(timed), rows: await metric(rows) };
    // Each call waited for the flush that committed its record: at least one flush and three rows more.
    expect(after.committed).toBeGreaterThanOrEqual(before.committed + 1);
    expect(after.rows).toBeGreaterThanOrEqual(before.rows + 3);
    expect(after.timed - before.timed).toBeGreaterThanOrEqual(after.committed - before.committed);
  });

  it('counts every RPC by outcome code and times it on /metrics', async () => {
    const metric = async (pattern: RegExp): Promise<number> => {
      const text = await (await fetch(`${kms.service.httpUrl}/metrics`)).text();
      return Number(pattern.exec(text)?.[1] ?? 0);
    };
    const ok = /kms_rpc_calls_total\{rpc="GenerateRandom",code="OK"\} (\d+)/;
    const refused = /kms_rpc_calls_total\{rpc="GenerateRandom",code="UNAUTHENTICATED"\} (\d+)/;
    const timed = /kms_rpc_duration_seconds_count\{rpc="GenerateRandom"\} (\d+)/;
    const before = { ok: await metric(ok), refused: await metric(refused), timed: await metric(timed) };
    await call('GenerateRandom', { length_bytes: 8 });
    await call('GenerateRandom', { length_bytes: 8 });
    await expect(kms.client.call('GenerateRandom', { length_bytes: 8 }, { token: 'not-a-token' })).rejects.toMatchObject({ errorCode: 'UNAUTHENTICATED' });
    expect({ ok: await metric(ok), refused: await metric(refused), timed: await metric(timed) }).toEqual({
      ok: before.ok + 2,
      refused: before.refused + 1,
      timed: before.timed + 3,
    });
  });
});
