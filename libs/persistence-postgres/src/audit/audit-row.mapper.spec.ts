import { type AuditRecord, storableRecord } from '@kms/application';
import { KmsError } from '@kms/domain';
import { AUDIT_COLUMNS, insertAuditRowsSql, MAX_ROWS_PER_INSERT, SEALED_AUDIT_COLUMNS, toAuditRow } from './audit-row.mapper';

const base: AuditRecord = {
  id: '0a6c2f6e-9d1b-4c53-9a51-1f0f4a1b2c3d',
  time: new Date('2026-03-04T05:06:07.089Z'),
  requestId: 'req-1',
  operation: 'Decrypt',
  actor: 'svc-payments',
  outcome: 'FAILURE',
};

function fieldRefused(overrides: Partial<AuditRecord> | Record<string, unknown>): string | undefined {
  try {
    toAuditRow({ ...base, ...overrides } as AuditRecord);
    return undefined;
  } catch (e) {
    if (e instanceof KmsError && e.code === 'INVALID_ARGUMENT') return e.field;
    throw e;
  }
}

describe('toAuditRow', () => {
  it('given a full record, then every column is filled in column order, time in UTC and details as JSON', () => {
    const row = toAuditRow({
      ...base,
      keyId: 'b3c1a7e2-5f04-4d3e-8c2a-7e9f0d1c2b3a',
      keyVersion: 7,
      actorRole: 'service',
      errorCode: 'KEY_DISABLED',
      sourceAddress: '10.0.0.8',
      details: { plaintextBytes: 4096, batch: false, note: 'x' },
    });
    expect(row).toEqual([
      base.id,
      '2026-03-04T05:06:07.089Z',
      'req-1',
      'Decrypt',
      'b3c1a7e2-5f04-4d3e-8c2a-7e9f0d1c2b3a',
      7,
      'svc-payments',
      'service',
      'FAILURE',
      'KEY_DISABLED',
      '10.0.0.8',
      '{"plaintextBytes":4096,"batch":false,"note":"x"}',
      null,
    ]);
    expect(row).toHaveLength(AUDIT_COLUMNS.length);
  });

  it('given no optional fields, then their columns are null', () => {
    expect(toAuditRow(base)).toEqual([base.id, '2026-03-04T05:06:07.089Z', 'req-1', 'Decrypt', null, null, 'svc-payments', null, 'FAILURE', null, null, null, null]);
  });

  it.each([
    ['id', { id: 'not-a-uuid' }],
    ['time', { time: new Date(Number.NaN) }],
    ['keyId', { keyId: 'my-key' }],
    ['keyVersion', { keyVersion: 2 ** 31 }],
    ['keyVersion', { keyVersion: 1.5 }],
    ['outcome', { outcome: 'MAYBE' }],
    ['requestId', { requestId: 'abc\u0000def' }],
    ['actor', { actor: undefined }],
    ['sourceAddress', { sourceAddress: '\ud800' }],
    ['details.ratio', { details: { ratio: Number.POSITIVE_INFINITY } }],
    ['details.note', { details: { note: 'a\u0000' } }],
  ])('refuses a record PostgreSQL would refuse: %s', (field, overrides) => {
    expect(fieldRefused(overrides)).toBe(field);
  });

  const item = (over: Record<string, unknown> = {}) => ({ id: 'C0FFEE00-5f04-4d3e-8c2a-7e9f0d1c2b3a', batchIndex: 0, outcome: 'SUCCESS', ...over });

  it.each([
    ['items', { items: [] }],
    ['items[0].id', { items: [item({ id: 'x' })] }],
    ['items[0].batchIndex', { items: [item({ batchIndex: -1 })] }],
    ['items[0].outcome', { items: [item({ outcome: 'MAYBE' })] }],
    ['items[0].keyId', { items: [item({ keyId: 'my-key' })] }],
    ['items[0].keyVersion', { items: [item({ keyVersion: 0.5 })] }],
    ['items[0].errorCode', { items: [item({ errorCode: 'a\u0000' })] }],
    ['items[0].details.n', { items: [item({ details: { n: Number.NaN } })] }],
    ['items', { items: [item(), item({ batchIndex: 1 })] }],
  ])('refuses batch items PostgreSQL or a reader could not take: %s', (field, overrides) => {
    expect(fieldRefused(overrides)).toBe(field);
  });

  it('stores a batch call\'s items as JSON with ids in lower case and each item\'s ciphertext references in its details', () => {
    const row = toAuditRow({
      ...base,
      items: [
        { id: 'C0FFEE00-5f04-4d3e-8c2a-7e9f0d1c2b3a', batchIndex: 0, outcome: 'SUCCESS', keyId: 'B3C1A7E2-5f04-4d3e-8c2a-7e9f0d1c2b3a', keyVersion: 2, details: { plaintextBytes: 3 }, ciphertexts: { handedOut: { ref: 'a'.repeat(32), keyId: 'b3c1a7e2-5f04-4d3e-8c2a-7e9f0d1c2b3a', version: 2 } } },
        { id: 'd0ffee00-5f04-4d3e-8c2a-7e9f0d1c2b3a', batchIndex: 1, outcome: 'FAILURE', errorCode: 'KEY_DISABLED' },
      ],
    });
    expect(JSON.parse(row[AUDIT_COLUMNS.indexOf('items')] as string)).toEqual([
      { id: 'c0ffee00-5f04-4d3e-8c2a-7e9f0d1c2b3a', batchIndex: 0, outcome: 'SUCCESS', keyId: 'b3c1a7e2-5f04-4d3e-8c2a-7e9f0d1c2b3a', keyVersion: 2, details: { plaintextBytes: 3, ciphertextRef: 'a'.repeat(32) } },
      { id: 'd0ffee00-5f04-4d3e-8c2a-7e9f0d1c2b3a', batchIndex: 1, outcome: 'FAILURE', errorCode: 'KEY_DISABLED' },
    ]);
  });

  it('accepts a properly paired surrogate (an emoji) in text', () => {
    expect(fieldRefused({ actor: 'ops \u{1F510}' })).toBeUndefined();
  });
});

describe('insertAuditRowsSql', () => {
  it('numbers parameters row by row, position first and the seal last, and casts details and items to jsonb', () => {
    const sql = insertAuditRowsSql(2);
    expect(sql).toContain('("position", "id",');
    expect(sql).toContain('"details", "items", "seal_prev", "seal_hash", "seal_mac")');
    expect(sql).toContain('($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15, $16, $17), ($18,');
    expect(sql).toContain('$30::jsonb, $31::jsonb, $32, $33, $34)');
    expect(sql).not.toContain('$35');
  });

  it('keeps the widest INSERT within the bind parameter limit', () => {
    expect(MAX_ROWS_PER_INSERT * SEALED_AUDIT_COLUMNS.length).toBeLessThanOrEqual(65_535);
  });
});

describe('toAuditRow after storableRecord', () => {
  /** Text of random UTF-16 code units: NULs, lone surrogates, controls and all. */
  function noise(rnd: () => number, max: number): string {
    return String.fromCharCode(...Array.from({ length: Math.floor(rnd() * max) }, () => Math.floor(rnd() * 0x10000)));
  }

  it('accepts any record the executor can build from what a caller sent (2,000 random ones)', () => {
    let s = 20261204;
    const rnd = (): number => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    for (let i = 0; i < 2000; i++) {
      const record: AuditRecord = {
        ...base,
        requestId: noise(rnd, 40),
        actor: noise(rnd, 20),
        keyId: rnd() < 0.5 ? noise(rnd, 40) : 'b3c1a7e2-5f04-4d3e-8c2a-7e9f0d1c2b3a',
        keyVersion: rnd() < 0.5 ? Math.floor((rnd() - 0.5) * 2 ** 33) : 1,
        sourceAddress: noise(rnd, 10),
        details: { [noise(rnd, 8)]: noise(rnd, 60), n: rnd() < 0.1 ? Number.NaN : i },
      };
      expect(() => toAuditRow(storableRecord(record))).not.toThrow();
    }
    // Without it, the same noise is refused: the property above is not vacuous.
    expect(fieldRefused({ requestId: 'a\u0000', keyId: 'not-a-uuid' })).toBeDefined();
  });
});
