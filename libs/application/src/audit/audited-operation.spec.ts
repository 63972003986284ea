import { UNRESTRICTED_ACCESS } from '../access/authorizer';
import { KmsError, type KeyRecord } from '@kms/domain';
import { randomBytes } from 'node:crypto';
import type { OperationFacts } from '../crypto/crypto.service';
import type { AuditRecord } from '../ports/audit-log.port';
import { auditRecordItems } from './batch-audit-record';
import { type ApplicationFixture, applicationFixture, FIXTURE_START, keyInput, kmsErrorOf, TEST_CALL, TEST_CHANGE } from '../testing/application-fixture';

describe('AuditedExecutor', () => {
  let app: ApplicationFixture;

  beforeEach(() => {
    app = applicationFixture();
  });

  afterEach(() => app.store.close());

  describe('run', () => {
    it('given a successful operation, then the result is returned after a SUCCESS record with the call context and facts', async () => {
      const result = await app.executor.run(TEST_CALL, 'Encrypt', (facts) => {
        facts.keyId = '11111111-1111-4111-8111-111111111111';
        facts.keyVersion = 3;
        facts.details = { plaintextBytes: 5 };
        return 'done';
      });

      expect(result).toBe('done');
      expect(app.audit.records).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          time: FIXTURE_START,
          requestId: 'req-0001',
          operation: 'Encrypt',
          actor: 'svc-payments',
          actorRole: 'service',
          sourceAddress: '10.0.0.7',
          outcome: 'SUCCESS',
          keyId: '11111111-1111-4111-8111-111111111111',
          keyVersion: 3,
          details: { plaintextBytes: 5 },
        },
      ]);
    });

    it('given a failing operation, then the same error is thrown after a FAILURE record with its code', async () => {
      const original = new KmsError('KEY_DISABLED', 'key is disabled', 'key_id');

      const err = await kmsErrorOf(
        app.executor.run(TEST_CALL, 'Sign', (facts) => {
          facts.keyId = '22222222-2222-4222-8222-222222222222';
          throw original;
        }),
      );

      expect(err).toBe(original);
      expect(app.audit.records).toHaveLength(1);
      expect(app.audit.records[0]).toMatchObject({ operation: 'Sign', outcome: 'FAILURE', errorCode: 'KEY_DISABLED', keyId: '22222222-2222-4222-8222-222222222222' });
      expect(app.audit.records[0].keyVersion).toBeUndefined();
    });

    it('records an unexpected error as FAILURE / INTERNAL and an authorization failure as DENIED', async () => {
      await expect(app.executor.run(TEST_CALL, 'Decrypt', () => Promise.reject(new TypeError('boom')))).rejects.toThrow('boom');
      const denied = new KmsError('PERMISSION_DENIED', 'permission denied: no');
      await expect(app.executor.run(TEST_CALL, 'Decrypt', () => Promise.reject(denied))).rejects.toBe(denied);

      expect(app.audit.records.map((r) => [r.outcome, r.errorCode])).toEqual([
        ['FAILURE', 'INTERNAL'],
        ['DENIED', 'PERMISSION_DENIED'],
      ]);
    });

    it('audits real crypto calls with the key and version, also when they fail', async () => {
      const key = await app.lifecycle.createKey(keyInput({ purpose: 'SERVICE_ENVELOPE' }), TEST_CHANGE);
      const { ciphertext } = await app.executor.run(TEST_CALL, 'Encrypt', (f) => app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('abc'), Buffer.from('a'), f));
      await kmsErrorOf(app.executor.run(TEST_CALL, 'Decrypt', (f) => app.crypto.decrypt(UNRESTRICTED_ACCESS, ciphertext, Buffer.from('b'), f)));

      expect(app.audit.records.map((r) => [r.operation, r.outcome, r.errorCode, r.keyId, r.keyVersion])).toEqual([
        ['Encrypt', 'SUCCESS', undefined, key.keyId, 1],
        ['Decrypt', 'FAILURE', 'INVALID_CIPHERTEXT', key.keyId, 1],
      ]);
      expect(app.audit.records[0].details).toEqual({ plaintextBytes: 3, aadBytes: 1 });
    });
  });

  describe('when the audit log is unavailable (fail closed)', () => {
    let key: KeyRecord;

    beforeEach(async () => {
      key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
    });

    it('a successful operation throws AUDIT_UNAVAILABLE and its result is not returned', async () => {
      const { ciphertext } = await app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('top secret'), Buffer.alloc(0));
      app.audit.setAvailable(false);
      let ran = false;

      const outcome = await app.executor
        .run(TEST_CALL, 'Decrypt', async (f) => {
          const r = await app.crypto.decrypt(UNRESTRICTED_ACCESS, ciphertext, Buffer.alloc(0), f);
          ran = true;
          return r;
        })
        .then(
          (value) => ({ value }),
          (e: unknown) => e,
        );

      expect(ran).toBe(true);
      expect(outcome).toBeInstanceOf(KmsError);
      expect((outcome as KmsError).code).toBe('AUDIT_UNAVAILABLE');
      expect(JSON.stringify(outcome)).not.toContain('top secret');
      expect(app.audit.records).toHaveLength(0);
    });

    it('a failed operation has its error replaced by AUDIT_UNAVAILABLE', async () => {
      // Signing with an AES key fails with USAGE_MISMATCH while the audit log is up.
      const signWithAes = () => app.executor.run(TEST_CALL, 'Sign', (f) => app.crypto.sign(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('m'), undefined, f));
      app.audit.setAvailable(false);
      expect((await kmsErrorOf(signWithAes())).code).toBe('AUDIT_UNAVAILABLE');
      app.audit.setAvailable(true);
      expect((await kmsErrorOf(signWithAes())).code).toBe('USAGE_MISMATCH');
    });

    it('failNext refuses only the next call; the one after is served and audited', async () => {
      app.audit.failNext(1);
      const first = await kmsErrorOf(app.executor.run(TEST_CALL, 'Encrypt', (f) => app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('1'), undefined, f)));
      const second = await app.executor.run(TEST_CALL, 'Encrypt', (f) => app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('2'), undefined, f));

      expect(first.code).toBe('AUDIT_UNAVAILABLE');
      expect(second.keyId).toBe(key.keyId);
      expect(app.audit.records).toHaveLength(1);
    });

    it('a batch throws AUDIT_UNAVAILABLE and returns none of its results', async () => {
      app.audit.setAvailable(false);
      const err = await kmsErrorOf(
        app.executor.runBatch(TEST_CALL, 'BatchEncrypt', ['a', 'b'], (item, f) => app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from(item), undefined, f)),
      );
      expect(err.code).toBe('AUDIT_UNAVAILABLE');
      expect(app.audit.records).toHaveLength(0);
    });

    it('refuse throws AUDIT_UNAVAILABLE instead of the refusal', async () => {
      app.audit.setAvailable(false);
      const err = await kmsErrorOf(app.executor.refuse(TEST_CALL, 'Encrypt', new KmsError('INVALID_ARGUMENT', 'key_id: is required', 'key_id')));
      expect(err.code).toBe('AUDIT_UNAVAILABLE');
    });
  });

  describe('runBatch', () => {
    it('writes one record for the call holding every item (its own id, outcome, key, details); a failing item does not fail the batch', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      const append = jest.spyOn(app.audit, 'append');
      const appendMany = jest.spyOn(app.audit, 'appendMany');
      const items = [Buffer.from('one'), Buffer.alloc(64 * 1024 + 1), Buffer.from('three')];

      const results = await app.executor.runBatch(TEST_CALL, 'BatchEncrypt', items, (item, f) => app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, item, undefined, f));

      expect(results.map((r) => r.ok)).toEqual([true, false, true]);
      const failed = results[1];
      expect(!failed.ok && (failed.error as KmsError).code).toBe('INVALID_ARGUMENT');
      const third = results[2];
      expect(third.ok && (await app.crypto.decrypt(UNRESTRICTED_ACCESS, third.value.ciphertext, undefined)).plaintext.toString()).toBe('three');

      expect(appendMany).not.toHaveBeenCalled();
      expect(append).toHaveBeenCalledTimes(1);
      expect(app.audit.records).toHaveLength(1);
      const [call] = app.audit.records;
      // Mixed outcomes: the call's record is a FAILURE; the refused item named no key, so neither does the call.
      expect(call).toMatchObject({ operation: 'BatchEncrypt', outcome: 'FAILURE', details: { batchSize: 3 } });
      expect([call?.errorCode, call?.keyId]).toEqual([undefined, undefined]);
      expect(call?.items?.map((i) => [i.batchIndex, i.outcome, i.errorCode])).toEqual([
        [0, 'SUCCESS', undefined],
        [1, 'FAILURE', 'INVALID_ARGUMENT'],
        [2, 'SUCCESS', undefined],
      ]);
      expect(call?.items?.[0]).toMatchObject({ keyId: key.keyId, keyVersion: 1, details: { plaintextBytes: 3 } });
      expect(new Set([call?.id, ...(call?.items ?? []).map((i) => i.id)]).size).toBe(4);
      // Downstream each item reads as the record of a single call.
      expect(auditRecordItems(call as AuditRecord).map((r) => [r.operation, r.outcome, r.errorCode, r.details?.['batchIndex'], r.details?.['batchSize'], r.details?.['batchRecordId']])).toEqual([
        ['BatchEncrypt', 'SUCCESS', undefined, 0, 3, call?.id],
        ['BatchEncrypt', 'FAILURE', 'INVALID_ARGUMENT', 1, 3, call?.id],
        ['BatchEncrypt', 'SUCCESS', undefined, 2, 3, call?.id],
      ]);
    });

    it('makes each item storable exactly as the record of a single call with the same facts would be', async () => {
      const facts: OperationFacts[] = [
        { keyId: 'not-a-uuid', keyVersion: 0.5, details: { name: 'a\u0000b', n: 1, gone: undefined as unknown as string } },
        { keyId: '', keyVersion: 0 },
        { keyId: '7d1c0b8e-0000-4000-8000-000000000001', keyVersion: 3, details: {}, ciphertexts: { handedOut: { ref: 'ab'.repeat(16), keyId: '7d1c0b8e-0000-4000-8000-000000000001', version: 3 } } },
        { keyId: '7d1c0b8e-0000-4000-8000-000000000001', ciphertexts: { released: 'cd'.repeat(16) } },
        {},
      ];
      const errors = [undefined, new KmsError('INVALID_ARGUMENT', 'x'), undefined, new Error('boom'), new KmsError('PERMISSION_DENIED', 'no')];
      await app.executor.runBatch(TEST_CALL, 'BatchEncrypt', [0, 1, 2, 3, 4], (i, f) => {
        Object.assign(f, facts[i]);
        if (errors[i]) throw errors[i];
        return i;
      });
      const items = app.audit.records[0]?.items ?? [];
      expect(items).toHaveLength(5);
      items.forEach((item, i) => {
        const { id: _id, time: _time, requestId: _r, operation: _o, actor: _a, actorRole: _ar, sourceAddress: _s, ...single } = app.executor.record(TEST_CALL, 'BatchEncrypt', facts[i] as OperationFacts, errors[i]);
        const { id, batchIndex, ...held } = item;
        expect([typeof id, batchIndex]).toEqual(['string', i]);
        expect(held).toStrictEqual(single);
      });
      expect(items[0]?.details).toEqual({ name: 'a\ufffdb', n: 1, requestedKeyId: 'not-a-uuid', requestedKeyVersion: 0.5 });
    });

    it('given the audit log refuses the record, then the whole batch is refused with AUDIT_UNAVAILABLE and no result is released', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      app.audit.failNext();
      const err = await kmsErrorOf(app.executor.runBatch(TEST_CALL, 'BatchEncrypt', [Buffer.from('a'), Buffer.from('b')], (item, f) => app.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, item, undefined, f)));
      expect(err.code).toBe('AUDIT_UNAVAILABLE');
      expect(app.audit.records).toHaveLength(0);
    });
  });

  describe('refuse', () => {
    it('records a DENIED or FAILURE record and rethrows the refusal', async () => {
      const denied = new KmsError('UNAUTHENTICATED', 'unauthenticated: bad token');
      await expect(app.executor.refuse(TEST_CALL, 'Encrypt', denied)).rejects.toBe(denied);
      expect(app.audit.records.map((r) => [r.outcome, r.errorCode])).toEqual([['DENIED', 'UNAUTHENTICATED']]);
    });
  });

  describe('records never contain secrets', () => {
    it('no plaintext, data key or aad bytes appear in any record, whatever the operation or outcome', async () => {
      const marker = Buffer.from('PLAINTEXT-MARKER-5f2c9a');
      const aad = Buffer.from('AAD-MARKER-81d0');
      const aes = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      const other = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      const hmac = await app.lifecycle.createKey(keyInput({ algorithm: 'HMAC_SHA256' }), TEST_CHANGE);
      const ec = await app.lifecycle.createKey(keyInput({ algorithm: 'ECDSA_P256_SHA256' }), TEST_CHANGE);
      const run = <T>(op: string, fn: (facts: OperationFacts) => Promise<T> | T) => app.executor.run(TEST_CALL, op, fn);

      const { ciphertext } = await run('Encrypt', (f) => app.crypto.encrypt(UNRESTRICTED_ACCESS, aes.keyId, marker, aad, f));
      const opened = await run('Decrypt', (f) => app.crypto.decrypt(UNRESTRICTED_ACCESS, ciphertext, aad, f));
      await kmsErrorOf(run('Decrypt', (f) => app.crypto.decrypt(UNRESTRICTED_ACCESS, ciphertext, Buffer.from('wrong'), f)));
      await run('ReEncrypt', (f) => app.crypto.reEncrypt(UNRESTRICTED_ACCESS, ciphertext, aad, other.keyId, aad, f));
      const dataKey = await run('GenerateDataKey', (f) => app.crypto.generateDataKey(UNRESTRICTED_ACCESS, aes.keyId, aad, 32, false, f));
      await run('GenerateMac', (f) => app.crypto.generateMac(UNRESTRICTED_ACCESS, hmac.keyId, marker, f));
      await run('Sign', (f) => app.crypto.sign(UNRESTRICTED_ACCESS, ec.keyId, marker, undefined, f));
      await kmsErrorOf(run('Sign', (f) => app.crypto.sign(UNRESTRICTED_ACCESS, aes.keyId, marker, undefined, f)));
      await app.executor.runBatch(TEST_CALL, 'BatchEncrypt', [marker, marker], (item, f) => app.crypto.encrypt(UNRESTRICTED_ACCESS, aes.keyId, item, aad, f));
      const random = await run('GenerateRandom', (f) => app.crypto.generateRandom(32, f));

      expect(opened.plaintext).toEqual(marker);
      // The batch of two is one record (its items inside it).
      expect(app.audit.records).toHaveLength(10);
      const serialized = JSON.stringify(app.audit.records);
      const secrets = [marker, aad, dataKey.plaintext ?? randomBytes(32), random];
      for (const secret of secrets) {
        for (const encoding of ['utf8', 'hex', 'base64', 'base64url'] as const) {
          const text = secret.toString(encoding);
          if (encoding !== 'utf8' || secret === marker || secret === aad) expect(serialized).not.toContain(text);
        }
        // Buffers serialized as {"type":"Buffer","data":[...]} would show as byte lists.
        expect(serialized).not.toContain(JSON.stringify([...secret]).slice(1, -1));
      }
    });
  });
});
