import { KmsError } from '@kms/domain';
import type { AuditRecord } from '../ports/audit-log.port';
import { auditLogContract } from '../testing/audit-log.contract';
import { InMemoryAuditLog } from './in-memory-audit-log';

let seq = 0;
function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  seq++;
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    time: new Date('2026-01-02T03:04:05.678Z'),
    requestId: `req-${seq}`,
    operation: 'Encrypt',
    actor: 'alice',
    outcome: 'SUCCESS',
    ...overrides,
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KmsError) return e.code;
    throw e;
  }
  return 'RESOLVED';
}

describe('InMemoryAuditLog', () => {
  it('given appends, when read back, then records are there in order', async () => {
    const log = new InMemoryAuditLog();
    const a = record();
    const b = record({ keyId: '11111111-1111-4111-8111-111111111111', keyVersion: 2, details: { bytes: 32 } });
    await log.append(a);
    await log.appendMany([b, record()]);
    expect(log.records.map((r) => r.id)).toEqual([a.id, b.id, expect.any(String)]);
    expect(log.records[1]).toEqual(b);
  });

  it('given a stored record, when the caller mutates its object, then the stored record is unchanged', async () => {
    const log = new InMemoryAuditLog();
    const r = record({ details: { bytes: 1 } });
    await log.append(r);
    r.outcome = 'FAILURE';
    r.time.setTime(0);
    (r.details as Record<string, number>)['bytes'] = 2;
    expect(log.records[0]).toMatchObject({ outcome: 'SUCCESS', details: { bytes: 1 } });
    expect(log.records[0].time.toISOString()).toBe('2026-01-02T03:04:05.678Z');
  });

  it('given failNext(2), when called three times, then two reject with AUDIT_UNAVAILABLE and only the third is stored', async () => {
    const log = new InMemoryAuditLog();
    log.failNext(2);
    const third = record();
    expect(await codeOf(log.append(record()))).toBe('AUDIT_UNAVAILABLE');
    expect(await codeOf(log.appendMany([record(), record()]))).toBe('AUDIT_UNAVAILABLE');
    expect(await codeOf(log.append(third))).toBe('RESOLVED');
    expect(log.records.map((r) => r.id)).toEqual([third.id]);
  });

  it('given setAvailable(false), when appending, then every call rejects until it is available again', async () => {
    const log = new InMemoryAuditLog();
    log.setAvailable(false);
    expect(await codeOf(log.append(record()))).toBe('AUDIT_UNAVAILABLE');
    expect(await codeOf(log.appendMany([record()]))).toBe('AUDIT_UNAVAILABLE');
    expect(log.records).toHaveLength(0);
    log.setAvailable(true);
    await log.append(record());
    expect(log.records).toHaveLength(1);
  });

  it('given records and pending failures, when cleared, then it is empty and available', async () => {
    const log = new InMemoryAuditLog();
    await log.append(record());
    log.failNext(3);
    log.setAvailable(false);
    log.clear();
    expect(log.records).toHaveLength(0);
    await log.append(record());
    expect(log.records).toHaveLength(1);
  });

  it('rejects a negative failure count', () => {
    expect(() => new InMemoryAuditLog().failNext(-1)).toThrow(RangeError);
  });
});

auditLogContract(
  'InMemoryAuditLog',
  async () => {
    const log = new InMemoryAuditLog();
    return {
      log,
      ciphertexts: log,
      read: async () => [...log.records],
      breakStorage: async () => log.setAvailable(false),
      heal: async () => log.setAvailable(true),
      refuseRecord: async (id) => log.refuseRecord(id),
      cleanup: async () => undefined,
    };
  },
  { tracksCiphertexts: true },
);
