import { randomBytes, randomInt } from 'node:crypto';
import canonicalize from 'canonicalize';
import { AuditIntegrityError, AuditSealer, canonicalSealBody, type SealableAuditRow, type StoredAuditRow } from './audit-seal';

const sealer = new AuditSealer(randomBytes(32));

const row = (position: bigint, overrides: Partial<SealableAuditRow> = {}): SealableAuditRow => ({
  position,
  id: '0a6c2f6e-9d1b-4c53-9a51-1f0f4a1b2c3d',
  time: new Date('2026-03-04T05:06:07.089Z'),
  request_id: 'req-1',
  operation: 'Decrypt',
  key_id: 'b3c1a7e2-5f04-4d3e-8c2a-7e9f0d1c2b3a',
  key_version: 7,
  actor: 'svc-payments',
  actor_role: 'service',
  outcome: 'SUCCESS',
  error_code: null,
  source_address: '10.0.0.8',
  details: { plaintextBytes: 4096, batch: false },
  ...overrides,
});

function stored(r: SealableAuditRow, prev: string | null, by = sealer): StoredAuditRow {
  const s = by.seal(r, prev);
  return { ...r, seal_prev: s.prev, seal_hash: s.hash, seal_mac: s.mac };
}

function problem(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    if (e instanceof AuditIntegrityError) return e.problem;
    throw e;
  }
}

describe('AuditSealer', () => {
  it('given a sealed row, when its details come back with keys re-ordered (jsonb), then the seal still holds', () => {
    const s = stored(row(1n), null);
    expect(problem(() => sealer.check({ ...s, details: { batch: false, plaintextBytes: 4096 } }, null))).toBe('accepted');
  });

  it('given a row sealed before the items column existed, when it reads back with items null, then the seal still holds', () => {
    const before = stored(row(1n), null);
    expect(problem(() => sealer.check({ ...before, items: null }, null))).toBe('accepted');
  });

  it('given a batch call\'s sealed row, when an item is edited, removed or reordered, then the check names the edit', () => {
    const items = [
      { id: 'c0ffee00-5f04-4d3e-8c2a-7e9f0d1c2b3a', batchIndex: 0, outcome: 'SUCCESS', keyId: 'b3c1a7e2-5f04-4d3e-8c2a-7e9f0d1c2b3a', keyVersion: 7 },
      { id: 'd0ffee00-5f04-4d3e-8c2a-7e9f0d1c2b3a', batchIndex: 1, outcome: 'FAILURE', errorCode: 'KEY_DISABLED' },
    ];
    const batch = stored(row(2n, { items }), null);
    expect(problem(() => sealer.check(batch, null))).toBe('accepted');
    const edited = 'the record differs from what was sealed (edited or moved)';
    expect(problem(() => sealer.check({ ...batch, items: [{ ...items[0], outcome: 'FAILURE' }, items[1]] }, null))).toBe(edited);
    expect(problem(() => sealer.check({ ...batch, items: [items[0]] }, null))).toBe(edited);
    expect(problem(() => sealer.check({ ...batch, items: [items[1], items[0]] }, null))).toBe(edited);
    expect(problem(() => sealer.check({ ...batch, items: null }, null))).toBe(edited);
  });

  it('given a key shorter than 32 bytes, then it refuses to make a sealer', () => {
    expect(() => new AuditSealer(randomBytes(16))).toThrow(RangeError);
  });

  it.each<[string, Partial<SealableAuditRow>]>([
    ['position', { position: 2n }],
    ['id', { id: '1a6c2f6e-9d1b-4c53-9a51-1f0f4a1b2c3d' }],
    ['time', { time: new Date('2026-03-04T05:06:07.090Z') }],
    ['request_id', { request_id: 'req-2' }],
    ['operation', { operation: 'Encrypt' }],
    ['key_id', { key_id: null }],
    ['key_version', { key_version: 8 }],
    ['actor', { actor: 'svc-other' }],
    ['actor_role', { actor_role: null }],
    ['outcome', { outcome: 'DENIED' }],
    ['error_code', { error_code: 'PERMISSION_DENIED' }],
    ['source_address', { source_address: '10.0.0.9' }],
    ['details', { details: { plaintextBytes: 4097, batch: false } }],
    ['details (removed)', { details: null }],
  ])('covers %s: a stored row edited there is refused', (_field, edit) => {
    const s = stored(row(1n), null);
    expect(problem(() => sealer.check({ ...s, ...edit }, null))).toBe('the record differs from what was sealed (edited or moved)');
  });

  it('chains: each row names the previous hash; a wrong, missing or extra link is refused', () => {
    const a = stored(row(1n), null);
    const b = stored(row(2n, { request_id: 'req-2' }), a.seal_hash);
    expect(sealer.checkChain([a, b], null)).toEqual({ valid: [a, b] });
    // b read as the first record of the trail: something before it is missing.
    expect(problem(() => sealer.check(b, null))).toBe('the record claims a predecessor but none precedes it (records removed)');
    // a read after some other record: it does not follow it.
    expect(problem(() => sealer.check(a, b.seal_hash))).toBe('the record does not follow the previous one (reordered, removed or inserted)');
    const { valid, error } = sealer.checkChain([b, a], null);
    expect(valid).toEqual([]);
    expect(error?.position).toBe(2n);
  });

  it('refuses an unsealed row, a row sealed with another key (a correct hash, a forged MAC) and a non-hex MAC, naming position and id only', () => {
    const r = row(5n, { details: { secretish: 'do-not-leak' } });
    const unsealed: StoredAuditRow = { ...r, seal_prev: null, seal_hash: null, seal_mac: null };
    const other = stored(r, null, new AuditSealer(randomBytes(32)));
    const ours = stored(r, null);
    expect(problem(() => sealer.check(unsealed))).toBe('the record is not sealed');
    expect(other.seal_hash).toBe(ours.seal_hash);
    expect(problem(() => sealer.check(other))).toBe('the seal was not made with the KMS key (forged)');
    expect(problem(() => sealer.check({ ...ours, seal_mac: 'zz' + (ours.seal_mac as string).slice(2) }))).toBe('the seal was not made with the KMS key (forged)');
    try {
      sealer.check(other);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(AuditIntegrityError);
      const err = e as AuditIntegrityError;
      expect(err.position).toBe(5n);
      expect(err.recordId).toBe(r.id);
      expect(err.message).toContain(`record ${r.id} at position 5`);
      expect(err.message).not.toContain('do-not-leak');
      expect(err.message).not.toContain(ours.seal_hash as string);
    }
  });

  describe('the canonical body a seal hashes', () => {
    /** The body as the canonicalize library writes the whole object, which is what seals have always hashed. */
    const reference = (r: SealableAuditRow, prev: string | null): string | undefined =>
      canonicalize({
        position: r.position.toString(),
        id: r.id,
        time: r.time.toISOString(),
        request_id: r.request_id,
        operation: r.operation,
        key_id: r.key_id ?? null,
        key_version: r.key_version ?? null,
        actor: r.actor,
        actor_role: r.actor_role ?? null,
        outcome: r.outcome,
        error_code: r.error_code ?? null,
        source_address: r.source_address ?? null,
        details: r.details ?? null,
        ...(r.items !== undefined && r.items !== null ? { items: r.items } : {}),
        prev,
      });
    const pick = <T>(values: readonly T[]): T => values[randomInt(values.length)] as T;
    // Escapes, non-ASCII, astral characters, names that sort differently by code unit than by code point.
    const texts = ['', 'a', 'svc-payments', 'quote " and \\ backslash', 'line\nbreak\ttab', '\u0001\u001f', 'é', 'ﬃ', '\ud83d\udd11 key', '\u2028\u2029', '</script>'];
    const text = (): string => pick(texts) + pick(texts);
    const maybe = <T>(value: () => T): T | null => (randomInt(3) === 0 ? null : value());
    const details = (): Record<string, unknown> => {
      const d: Record<string, unknown> = {};
      for (let i = randomInt(6); i > 0; i--) d[pick(['zeta', 'alpha', 'Alpha', '\ue000', '\ud83d\ude00', '_', 'a_b', '10', '9', text()])] = pick([text(), randomInt(1e9), -1.5, 1e21, 0.1, true, false]);
      return d;
    };

    it('is, byte for byte, what canonicalize writes for the whole row, over 2,000 varied rows', () => {
      for (let n = 0; n < 2000; n++) {
        const r: SealableAuditRow = {
          position: BigInt(randomInt(1, 2 ** 47)) * BigInt(randomInt(1, 1000)),
          id: text(),
          time: new Date(randomInt(0, 2 ** 47)),
          request_id: text(),
          operation: text(),
          key_id: maybe(text),
          key_version: maybe(() => randomInt(0, 2 ** 31 - 1)),
          actor: text(),
          actor_role: maybe(text),
          outcome: pick(['SUCCESS', 'FAILURE', 'DENIED']),
          error_code: maybe(text),
          source_address: maybe(text),
          details: maybe(details),
          ...(randomInt(2) === 0 ? { items: maybe(() => Array.from({ length: randomInt(1, 4) }, () => ({ id: text(), batchIndex: randomInt(100), outcome: 'SUCCESS', details: details() }))) } : {}),
        };
        const prev = maybe(() => randomBytes(32).toString('hex'));
        expect(canonicalSealBody(r, prev)).toBe(reference(r, prev));
      }
    });

    it('a fixed row hashes to the value seals made with canonicalize alone gave it', () => {
      const r = row(42n, { items: [{ id: 'i-1', batchIndex: 0, outcome: 'SUCCESS', details: { ciphertextRef: 'ab' } }] });
      // SHA-256 of canonicalize() of this row, computed before the fixed-order writer existed.
      expect(sealer.seal(r, null).hash).toBe('da91976d52be9844cacbaa58a1d92387f03054c68cf38aba52582431ef828521');
    });
  });
});
