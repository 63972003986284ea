import { randomBytes } from 'node:crypto';
import { decodeTtlv, DEFAULT_TTLV_LIMITS, encodeTtlv, ttlv, TtlvError, type TtlvItem } from './ttlv';
import { parseRequest, versionOf } from './kmip-message';
import { Operation, Tag } from './kmip-tags';

function request(items: TtlvItem[]): TtlvItem {
  return ttlv.struct(Tag.RequestMessage, [
    ttlv.struct(Tag.RequestHeader, [
      ttlv.struct(Tag.ProtocolVersion, [ttlv.int(Tag.ProtocolVersionMajor, 1), ttlv.int(Tag.ProtocolVersionMinor, 2)]),
      ttlv.int(Tag.BatchCount, items.length),
    ]),
    ...items,
  ]);
}

const encryptItem = ttlv.struct(Tag.BatchItem, [
  ttlv.enum(Tag.Operation, Operation.Encrypt),
  ttlv.struct(Tag.RequestPayload, [ttlv.text(Tag.UniqueIdentifier, 'ünïcode-id'), ttlv.bytes(Tag.Data, Buffer.from('hello'))]),
]);

function nested(depth: number): TtlvItem {
  let item: TtlvItem = ttlv.int(Tag.BatchCount, 1);
  for (let i = 0; i < depth; i++) item = ttlv.struct(Tag.Attribute, [item]);
  return item;
}

function problemOf(bytes: Buffer): string {
  try {
    decodeTtlv(bytes);
  } catch (e) {
    if (e instanceof TtlvError) return e.problem;
    throw e;
  }
  return 'DECODED';
}

describe('TTLV encoding', () => {
  it('round-trips every type, padding included', () => {
    const item = ttlv.struct(Tag.RequestPayload, [
      ttlv.int(Tag.BatchCount, -7),
      ttlv.long(Tag.TimeStamp, 1234567890123n),
      ttlv.enum(Tag.Operation, Operation.Create),
      ttlv.bool(Tag.ValidityIndicator, true),
      ttlv.text(Tag.UniqueIdentifier, 'abc'),
      ttlv.bytes(Tag.Data, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9])),
      ttlv.date(Tag.InitialDate, new Date('2026-01-02T03:04:05Z')),
      ttlv.interval(Tag.CryptographicLength, 86400),
      { tag: Tag.Data, type: 'BigInteger', value: Buffer.alloc(16, 0xab) },
    ]);
    const bytes = encodeTtlv(item);
    expect(bytes.length % 8).toBe(0);
    expect(decodeTtlv(bytes)).toEqual(item);
  });

  it('reads the example of KMIP 1.4 §9.1.2 (an Integer 8 as 42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00)', () => {
    const bytes = Buffer.from('420020020000000400000008' + '00000000', 'hex');
    expect(decodeTtlv(bytes)).toEqual({ tag: 0x420020, type: 'Integer', value: 8 });
    expect(encodeTtlv({ tag: 0x420020, type: 'Integer', value: 8 })).toEqual(bytes);
  });

  it('parses a request message into its batch items', () => {
    const r = parseRequest(decodeTtlv(encodeTtlv(request([encryptItem, encryptItem]))));
    expect(r.version).toEqual({ major: 1, minor: 2 });
    expect(r.items.map((i) => i.operation)).toEqual(['Encrypt', 'Encrypt']);
    expect(r.items[0]?.payload.req(Tag.UniqueIdentifier, 'TextString')).toBe('ünïcode-id');
  });
});

describe('TTLV decoding of hostile bytes (fuzz)', () => {
  const good = encodeTtlv(request([encryptItem]));

  it('gives TRUNCATED, never a crash, for every truncation of a valid message', () => {
    for (let n = 0; n < good.length; n++) expect(problemOf(good.subarray(0, n))).toBe('TRUNCATED');
  });

  it('refuses a message larger than the limit before decoding it', () => {
    const big = encodeTtlv(ttlv.bytes(Tag.Data, Buffer.alloc(DEFAULT_TTLV_LIMITS.maxMessageBytes)));
    expect(problemOf(big)).toBe('TOO_LARGE');
  });

  it('refuses an item announcing more bytes than the message holds without allocating them', () => {
    const lie = Buffer.from(good);
    lie.writeUInt32BE(0x7fffffff, 4);
    const before = process.memoryUsage().arrayBuffers;
    expect(problemOf(lie)).toBe('TRUNCATED');
    // Nothing near the announced 2 GiB was allocated.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a wrong type code and a fixed-size type with the wrong length', () => {
    const unknownType = encodeTtlv(ttlv.int(Tag.BatchCount, 1));
    unknownType[3] = 0x0b;
    expect(problemOf(unknownType)).toBe('BAD_TYPE');
    const badLength = Buffer.from('42000d02000000080000000100000000', 'hex');
    expect(problemOf(badLength)).toBe('BAD_LENGTH');
  });

  it('refuses non-zero padding, invalid UTF-8 and a Boolean that is neither 0 nor 1', () => {
    const pad = encodeTtlv(ttlv.int(Tag.BatchCount, 1));
    pad[15] = 1;
    expect(problemOf(pad)).toBe('BAD_PADDING');
    expect(problemOf(encodeTtlv(ttlv.bytes(Tag.Data, Buffer.from([0xff, 0xfe]))).fill(0x07, 3, 4))).toBe('BAD_TEXT');
    const bool = encodeTtlv(ttlv.bool(Tag.ValidityIndicator, true));
    bool[15] = 2;
    expect(problemOf(bool)).toBe('BAD_LENGTH');
  });

  it('refuses structures nested deeper than the limit, and accepts the limit itself', () => {
    expect(problemOf(encodeTtlv(nested(DEFAULT_TTLV_LIMITS.maxDepth)))).toBe('DECODED');
    expect(problemOf(encodeTtlv(nested(DEFAULT_TTLV_LIMITS.maxDepth + 1)))).toBe('TOO_DEEP');
    // A deep nest built by hand, far past any stack: refused by the limit, not a stack overflow.
    const depth = 100_000;
    const deep = Buffer.alloc(depth * 8);
    for (let i = 0; i < depth; i++) {
      deep.writeUIntBE(Tag.Attribute, i * 8, 3);
      deep[i * 8 + 3] = 0x01;
      deep.writeUInt32BE((depth - i - 1) * 8, i * 8 + 4);
    }
    expect(problemOf(deep)).toBe('TOO_DEEP');
  });

  it('refuses more items than the limit', () => {
    const many = ttlv.struct(Tag.RequestPayload, Array.from({ length: DEFAULT_TTLV_LIMITS.maxItems }, () => ttlv.bool(Tag.ValidityIndicator, false)));
    expect(problemOf(encodeTtlv(many))).toBe('TOO_MANY_ITEMS');
  });

  it('refuses bytes after the top-level item', () => {
    expect(problemOf(Buffer.concat([good, Buffer.alloc(8)]))).toBe('TRAILING_BYTES');
  });

  it('answers random mutations of a valid message with a TtlvError or a decoded item, never anything else', () => {
    for (let round = 0; round < 3000; round++) {
      const mutated = Buffer.from(good);
      const flips = 1 + (round % 4);
      for (let i = 0; i < flips; i++) mutated[randomBytes(2).readUInt16BE(0) % mutated.length] = randomBytes(1)[0] as number;
      let outcome: string;
      try {
        const item = decodeTtlv(mutated);
        // A decodable mutation may still not be a request: that is a KMIP error too, never a crash.
        try {
          versionOf(item);
          parseRequest(item);
          outcome = 'request';
        } catch (e) {
          outcome = (e as Error).name;
        }
      } catch (e) {
        outcome = (e as Error).name;
      }
      expect(['TtlvError', 'KmipError', 'request']).toContain(outcome);
    }
  });

  it('answers random bytes with a TtlvError', () => {
    for (let round = 0; round < 2000; round++) {
      const bytes = randomBytes(8 + (round % 200));
      let name = 'decoded';
      try {
        decodeTtlv(bytes);
      } catch (e) {
        name = (e as Error).name;
      }
      expect(['TtlvError', 'decoded']).toContain(name);
    }
  });
});
