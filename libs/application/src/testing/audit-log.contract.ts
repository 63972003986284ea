import { KmsError } from '@kms/domain';
import { randomUUID } from 'node:crypto';
import type { OutstandingCiphertexts } from '../audit/ciphertext-tracking';
import { auditRecordItems, batchAuditRecord } from '../audit/batch-audit-record';
import type { AuditLog, AuditRecord, AuditRecordItem } from '../ports/audit-log.port';

/** One adapter instance under test, the storage behind it, and how to release it. */
export interface AuditLogHarness {
  log: AuditLog;
  /** The adapter's ciphertext tracking (the same object as `log` when it offers it). */
  ciphertexts?: OutstandingCiphertexts;
  /** Every record the storage holds, oldest first, read as a reader other than the log would. */
  read(): Promise<AuditRecord[]>;
  /** From now on the storage refuses every write, until `heal()`. */
  breakStorage(): Promise<void>;
  heal(): Promise<void>;
  /** From now on the storage refuses any write holding the record with this id (as a constraint would). */
  refuseRecord(id: string): Promise<void>;
  /** Frees what the factory made (pool, schema). */
  cleanup(): Promise<void>;
}

export interface AuditLogContractOptions {
  /** The adapter applies the ciphertext tracking its records carry (OutstandingCiphertexts). */
  tracksCiphertexts: boolean;
}

/** 'RESOLVED', or the KmsError code the promise rejected with (any other error fails the test). */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'RESOLVED';
  } catch (e) {
    if (e instanceof KmsError) return e.code;
    throw e;
  }
}

/** A successful Encrypt record with fresh ids, for audit-log tests; `overrides` replace its fields. */
export function auditRecord(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: randomUUID(),
    time: new Date('2026-05-06T07:08:09.123Z'),
    requestId: `req-${randomUUID()}`,
    operation: 'Encrypt',
    actor: 'svc-billing',
    outcome: 'SUCCESS',
    ...overrides,
  };
}

/** `n` records as {@link auditRecord} makes them. */
export const auditRecords = (n: number): AuditRecord[] => Array.from({ length: n }, () => auditRecord());

/**
 * The behaviour every AuditLog adapter must show (STYLE.md 4): a resolved append is durable and reads
 * back field for field (a batch call's record item by item), order is kept and appendMany is contiguous and atomic, a storage failure is
 * refused with AUDIT_UNAVAILABLE (fail closed) and leaves nothing behind, and, where the adapter tracks
 * ciphertexts, the counts change exactly with the records. Call it at the top level of the adapter's
 * spec: `auditLogContract('PostgresAuditLog', async () => harness, { tracksCiphertexts: true })`.
 * The factory runs once per suite; every test uses fresh ids and keys.
 */
export function auditLogContract(name: string, factory: () => Promise<AuditLogHarness>, options: AuditLogContractOptions): void {
  describe(`${name} satisfies the AuditLog contract`, () => {
    let harness: AuditLogHarness | undefined;
    const h = (): AuditLogHarness => {
      if (!harness) throw new Error('the audit log factory failed; see beforeAll');
      return harness;
    };
    /** The stored records among `ids`, in storage order. */
    const stored = async (ids: readonly string[]): Promise<AuditRecord[]> => {
      const wanted = new Set(ids);
      return (await h().read()).filter((r) => wanted.has(r.id));
    };
    const storedIds = async (ids: readonly string[]): Promise<string[]> => (await stored(ids)).map((r) => r.id);

    beforeAll(async () => {
      harness = await factory();
    });

    afterEach(async () => {
      await harness?.heal();
    });

    afterAll(async () => {
      await harness?.cleanup();
    });

    it('given append resolved, then the record reads back with every field', async () => {
      const full = auditRecord({
        keyId: randomUUID(),
        keyVersion: 3,
        actorRole: 'service',
        outcome: 'DENIED',
        errorCode: 'PERMISSION_DENIED',
        sourceAddress: '192.0.2.10',
        details: { plaintextBytes: 1024, batch: true, mode: 'gcm' },
      });
      const bare = auditRecord();
      await h().log.append(full);
      await h().log.append(bare);
      expect(await stored([full.id, bare.id])).toEqual([full, bare]);
    });

    it('given the caller changes its object after append, then the stored record does not change', async () => {
      const r = auditRecord({ details: { bytes: 1 } });
      await h().log.append(r);
      r.outcome = 'FAILURE';
      r.time.setTime(0);
      (r.details as Record<string, number>)['bytes'] = 2;
      expect(await stored([r.id])).toEqual([expect.objectContaining({ outcome: 'SUCCESS', time: new Date('2026-05-06T07:08:09.123Z'), details: { bytes: 1 } })]);
    });

    it('keeps the order of appends awaited one after the other', async () => {
      const batch = auditRecords(10);
      for (const r of batch) await h().log.append(r);
      expect(await storedIds(batch.map((r) => r.id))).toEqual(batch.map((r) => r.id));
    });

    it('stores an appendMany in its order and contiguously, even with appends in flight beside it', async () => {
      const many = auditRecords(30);
      const singles = auditRecords(30);
      const pending = [...singles.slice(0, 15).map((r) => h().log.append(r)), h().log.appendMany(many), ...singles.slice(15).map((r) => h().log.append(r))];
      expect(new Set(await Promise.all(pending.map(outcome)))).toEqual(new Set(['RESOLVED']));
      const all = await storedIds([...many, ...singles].map((r) => r.id));
      expect(all).toHaveLength(60);
      const start = all.indexOf(many[0]?.id ?? '');
      expect(all.slice(start, start + many.length)).toEqual(many.map((r) => r.id));
    });

    it('resolves an appendMany of no records and stores nothing', async () => {
      const before = (await h().read()).length;
      await h().log.appendMany([]);
      expect(await h().read()).toHaveLength(before);
    });

    it('given the storage refuses, then append and appendMany reject with AUDIT_UNAVAILABLE and store nothing (fail closed)', async () => {
      await h().breakStorage();
      const one = auditRecord();
      const many = auditRecords(5);
      expect(await Promise.all([outcome(h().log.append(one)), outcome(h().log.appendMany(many))])).toEqual(['AUDIT_UNAVAILABLE', 'AUDIT_UNAVAILABLE']);
      await h().heal();
      const later = auditRecord();
      await h().log.append(later);
      expect(await storedIds([one, ...many, later].map((r) => r.id))).toEqual([later.id]);
    });

    it('given the storage refuses one record of an appendMany, then none of its records is stored (atomic)', async () => {
      const many = auditRecords(25);
      const refused = many[17] as AuditRecord;
      await h().refuseRecord(refused.id);
      expect(await outcome(h().log.appendMany(many))).toBe('AUDIT_UNAVAILABLE');
      expect(await storedIds(many.map((r) => r.id))).toEqual([]);
      // The same log goes on: the refusal was the record's, not the log's.
      const next = auditRecords(3);
      await h().log.appendMany(next);
      expect(await storedIds(next.map((r) => r.id))).toEqual(next.map((r) => r.id));
    });

    if (!options.tracksCiphertexts) return;

    describe('a batch call\'s record', () => {
      const batchOf = (items: AuditRecordItem[]): AuditRecord =>
        batchAuditRecord({ id: randomUUID(), time: new Date('2026-05-06T07:08:10.000Z'), requestId: `req-${randomUUID()}`, operation: 'BatchEncrypt', actor: 'svc-billing', sourceAddress: '192.0.2.11' }, items);
      const item = (batchIndex: number, over: Partial<AuditRecordItem> = {}): AuditRecordItem => ({ id: randomUUID(), batchIndex, outcome: 'SUCCESS', keyId: randomUUID(), keyVersion: 2, details: { plaintextBytes: 10 + batchIndex }, ...over });
      /** What a reader makes of the stored records: each batch item as the record of a single call. */
      const readItems = async (ids: readonly string[]): Promise<AuditRecord[]> => {
        const wanted = new Set(ids);
        return (await h().read()).flatMap(auditRecordItems).filter((r) => wanted.has(r.id));
      };

      it('given append resolved, then every item reads back as the record of a single call, in batch order, beside the records around it', async () => {
        const before = auditRecord();
        const batch = batchOf([item(0), item(1, { outcome: 'DENIED', errorCode: 'PERMISSION_DENIED', keyVersion: undefined }), item(2)]);
        const after = auditRecord();
        await h().log.append(before);
        await h().log.append(batch);
        await h().log.append(after);
        const expanded = auditRecordItems(batch);
        expect(expanded.map((r) => r.details?.['batchIndex'])).toEqual([0, 1, 2]);
        expect(await readItems([before.id, ...expanded.map((r) => r.id), after.id])).toEqual([before, ...expanded, after]);
      });

      it('given the storage refuses it, then none of its items is stored (one record, all or nothing)', async () => {
        const batch = batchOf([item(0), item(1)]);
        await h().refuseRecord(batch.id);
        expect(await outcome(h().log.append(batch))).toBe('AUDIT_UNAVAILABLE');
        expect(await readItems([batch.id, ...(batch.items ?? []).map((i) => i.id)])).toEqual([]);
      });
    });

    describe('ciphertext tracking', () => {
      const ref = (): string => randomUUID().replace(/-/g, '');
      const tracking = (): OutstandingCiphertexts => {
        const c = h().ciphertexts;
        if (!c) throw new Error('the harness gives no OutstandingCiphertexts, but the adapter is said to track ciphertexts');
        return c;
      };
      const counts = async (keyId: string): Promise<Record<number, number>> => Object.fromEntries(await tracking().outstanding(keyId));
      const issued = (keyId: string, version: number, r: string, over: Partial<AuditRecord> = {}): AuditRecord =>
        auditRecord({ operation: 'GenerateDataKey', keyId, keyVersion: version, details: { dataKeyBytes: 32 }, ciphertexts: { handedOut: { ref: r, keyId, version } }, ...over });
      const moved = (keyId: string, from: number, to: number, src: string, dst: string): AuditRecord =>
        auditRecord({
          operation: 'ReEncrypt',
          keyId,
          keyVersion: from,
          details: { sourceKeyId: keyId, sourceKeyVersion: from, destinationKeyId: keyId, destinationKeyVersion: to },
          ciphertexts: { released: src, handedOut: { ref: dst, keyId, version: to } },
        });

      it('counts per version what successful calls handed out, and nothing for a failed call', async () => {
        const k = randomUUID();
        await Promise.all([h().log.append(issued(k, 1, ref())), h().log.append(issued(k, 1, ref())), h().log.append(issued(k, 2, ref()))]);
        await h().log.append(issued(k, 1, ref(), { outcome: 'FAILURE', errorCode: 'KEY_DISABLED' }));
        expect(await counts(k)).toEqual({ 1: 2, 2: 1 });
        expect(await counts(randomUUID())).toEqual({});
      });

      it('moves a re-encrypted reference to its new version once, and moves within one appendMany in record order', async () => {
        const k = randomUUID();
        const [a, b, c] = [ref(), ref(), ref()];
        await h().log.appendMany([issued(k, 1, a), issued(k, 1, b), issued(k, 1, c)]);
        await h().log.append(moved(k, 1, 2, a, ref()));
        // The same source again: version 1 is not released twice.
        await h().log.append(moved(k, 1, 2, a, ref()));
        expect(await counts(k)).toEqual({ 1: 2, 2: 2 });
        // b moves to 2, then its new reference moves on to 3, in one call.
        const b2 = ref();
        await h().log.appendMany([moved(k, 1, 2, b, b2), moved(k, 2, 3, b2, ref())]);
        expect(await counts(k)).toEqual({ 1: 1, 2: 2, 3: 1 });
      });

      it('applies each successful item of a batch call\'s record, in batch order, and nothing of a failed item or a refused record', async () => {
        const k = randomUUID();
        const [a, b, c] = [ref(), ref(), ref()];
        const call = { id: randomUUID(), time: new Date('2026-05-06T07:08:11.000Z'), requestId: `req-${randomUUID()}`, operation: 'BatchEncrypt', actor: 'svc-billing' };
        const out = (batchIndex: number, r: string, version = 1, over: Partial<AuditRecordItem> = {}): AuditRecordItem => ({
          id: randomUUID(),
          batchIndex,
          outcome: 'SUCCESS',
          keyId: k,
          keyVersion: version,
          ciphertexts: { handedOut: { ref: r, keyId: k, version } },
          ...over,
        });
        await h().log.append(batchAuditRecord(call, [out(0, a), out(1, b), out(2, ref(), 1, { outcome: 'FAILURE', errorCode: 'KEY_DISABLED' })]));
        expect(await counts(k)).toEqual({ 1: 2 });
        // a moves to 2 and on to 3 within one call; c is handed out at 2.
        const a2 = ref();
        await h().log.append(
          batchAuditRecord({ ...call, id: randomUUID(), operation: 'BatchReEncrypt' }, [
            out(0, a2, 2, { ciphertexts: { released: a, handedOut: { ref: a2, keyId: k, version: 2 } } }),
            out(1, ref(), 3, { ciphertexts: { released: a2, handedOut: { ref: ref(), keyId: k, version: 3 } } }),
            out(2, c, 2),
          ]),
        );
        expect(await counts(k)).toEqual({ 1: 1, 2: 1, 3: 1 });
        await h().breakStorage();
        expect(await outcome(h().log.append(batchAuditRecord({ ...call, id: randomUUID() }, [out(0, ref()), out(1, ref())])))).toBe('AUDIT_UNAVAILABLE');
        await h().heal();
        expect(await counts(k)).toEqual({ 1: 1, 2: 1, 3: 1 });
      });

      it('given a refused append or appendMany, then no count changes (the tracking commits with the records or not at all)', async () => {
        const k = randomUUID();
        const a = ref();
        await h().log.append(issued(k, 1, a));
        await h().breakStorage();
        expect(await outcome(h().log.append(issued(k, 1, ref())))).toBe('AUDIT_UNAVAILABLE');
        expect(await outcome(h().log.append(moved(k, 1, 2, a, ref())))).toBe('AUDIT_UNAVAILABLE');
        await h().heal();
        const refused = auditRecord();
        await h().refuseRecord(refused.id);
        expect(await outcome(h().log.appendMany([issued(k, 1, ref()), moved(k, 1, 2, a, ref()), refused]))).toBe('AUDIT_UNAVAILABLE');
        expect(await counts(k)).toEqual({ 1: 1 });
      });
    });
  });
}
