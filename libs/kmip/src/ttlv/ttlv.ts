/**
 * KMIP's TTLV encoding (KMIP 1.x §9.1): every item is a 3-byte tag, a 1-byte type, a 4-byte length and
 * a value padded to a multiple of 8 bytes. The decoder is bounded (message size, nesting depth, item
 * count) and strict (fixed lengths, zero padding, valid UTF-8), so hostile bytes give a TtlvError,
 * never a crash or an allocation larger than the bytes received.
 */

export const TTLV_TYPES = {
  Structure: 0x01,
  Integer: 0x02,
  LongInteger: 0x03,
  BigInteger: 0x04,
  Enumeration: 0x05,
  Boolean: 0x06,
  TextString: 0x07,
  ByteString: 0x08,
  DateTime: 0x09,
  Interval: 0x0a,
} as const;
export type TtlvTypeName = keyof typeof TTLV_TYPES;

export type TtlvItem =
  | { tag: number; type: 'Structure'; value: TtlvItem[] }
  | { tag: number; type: 'Integer'; value: number }
  | { tag: number; type: 'Enumeration'; value: number }
  | { tag: number; type: 'Interval'; value: number }
  | { tag: number; type: 'LongInteger'; value: bigint }
  | { tag: number; type: 'DateTime'; value: bigint }
  | { tag: number; type: 'BigInteger'; value: Buffer }
  | { tag: number; type: 'ByteString'; value: Buffer }
  | { tag: number; type: 'Boolean'; value: boolean }
  | { tag: number; type: 'TextString'; value: string };

/** Why bytes are not an acceptable TTLV message (mapped to the KMIP result reason Invalid Message). */
export type TtlvProblem = 'TRUNCATED' | 'TOO_LARGE' | 'TOO_DEEP' | 'TOO_MANY_ITEMS' | 'BAD_TYPE' | 'BAD_LENGTH' | 'BAD_PADDING' | 'BAD_TEXT' | 'TRAILING_BYTES';

export class TtlvError extends Error {
  constructor(
    readonly problem: TtlvProblem,
    message: string,
  ) {
    super(message);
    this.name = 'TtlvError';
  }
}

export interface TtlvLimits {
  /** Largest message accepted, header included. */
  maxMessageBytes: number;
  /** Deepest nesting of structures. */
  maxDepth: number;
  /** Most items in one message, at every level together. */
  maxItems: number;
}

/** Enough for every operation the server offers (KMIP messages here are small: ids, attributes, data up to 64 KiB). */
export const DEFAULT_TTLV_LIMITS: TtlvLimits = { maxMessageBytes: 1024 * 1024, maxDepth: 16, maxItems: 4096 };

export const TTLV_HEADER_BYTES = 8;

const TYPE_BY_CODE = new Map<number, TtlvTypeName>(Object.entries(TTLV_TYPES).map(([name, code]) => [code, name as TtlvTypeName]));
const FIXED_LENGTH: Partial<Record<TtlvTypeName, number>> = { Integer: 4, Enumeration: 4, Interval: 4, LongInteger: 8, DateTime: 8, Boolean: 8 };
const utf8 = new TextDecoder('utf-8', { fatal: true });

const padded = (n: number): number => Math.ceil(n / 8) * 8;

/** The total length (header + value) announced by the first 8 bytes of a message, for framing a stream. */
export function announcedLength(header: Buffer): number {
  if (header.length < TTLV_HEADER_BYTES) throw new TtlvError('TRUNCATED', 'message header: fewer than 8 bytes');
  return TTLV_HEADER_BYTES + header.readUInt32BE(4);
}

/** Decode one complete TTLV message, or throw TtlvError naming what is wrong and where. */
export function decodeTtlv(bytes: Buffer, limits: TtlvLimits = DEFAULT_TTLV_LIMITS): TtlvItem {
  if (bytes.length > limits.maxMessageBytes) throw new TtlvError('TOO_LARGE', `message: ${bytes.length} bytes, at most ${limits.maxMessageBytes}`);
  const budget = { items: 0 };
  const { item, end } = decodeItem(bytes, 0, bytes.length, 0, limits, budget);
  if (end !== bytes.length) throw new TtlvError('TRAILING_BYTES', `message: ${bytes.length - end} bytes after the top-level item`);
  return item;
}

function decodeItem(bytes: Buffer, offset: number, limit: number, depth: number, limits: TtlvLimits, budget: { items: number }): { item: TtlvItem; end: number } {
  if (++budget.items > limits.maxItems) throw new TtlvError('TOO_MANY_ITEMS', `message: more than ${limits.maxItems} items`);
  if (limit - offset < TTLV_HEADER_BYTES) throw new TtlvError('TRUNCATED', `item at byte ${offset}: header truncated`);
  const tag = bytes.readUIntBE(offset, 3);
  const code = bytes[offset + 3] as number;
  const length = bytes.readUInt32BE(offset + 4);
  const type = TYPE_BY_CODE.get(code);
  if (!type) throw new TtlvError('BAD_TYPE', `item 0x${tag.toString(16)} at byte ${offset}: unknown type 0x${code.toString(16)}`);
  const fixed = FIXED_LENGTH[type];
  if (fixed !== undefined && length !== fixed) throw new TtlvError('BAD_LENGTH', `item 0x${tag.toString(16)}: ${type} must be ${fixed} bytes, not ${length}`);
  if (type === 'BigInteger' && length % 8 !== 0) throw new TtlvError('BAD_LENGTH', `item 0x${tag.toString(16)}: a Big Integer is a multiple of 8 bytes`);
  const start = offset + TTLV_HEADER_BYTES;
  const end = start + padded(length);
  // Checked before anything is read or allocated: a length larger than the bytes present is a lie.
  if (end > limit) throw new TtlvError('TRUNCATED', `item 0x${tag.toString(16)} at byte ${offset}: announces ${length} bytes, only ${Math.max(0, limit - start)} present`);
  for (let i = start + length; i < end; i++) {
    if (bytes[i] !== 0) throw new TtlvError('BAD_PADDING', `item 0x${tag.toString(16)}: padding is not zero`);
  }
  const raw = bytes.subarray(start, start + length);
  switch (type) {
    case 'Structure': {
      if (depth + 1 > limits.maxDepth) throw new TtlvError('TOO_DEEP', `message: structures nested deeper than ${limits.maxDepth}`);
      const value: TtlvItem[] = [];
      let at = start;
      while (at < start + length) {
        const child = decodeItem(bytes, at, start + length, depth + 1, limits, budget);
        value.push(child.item);
        at = child.end;
      }
      return { item: { tag, type, value }, end };
    }
    case 'Integer':
      return { item: { tag, type, value: raw.readInt32BE(0) }, end };
    case 'Enumeration':
      return { item: { tag, type, value: raw.readUInt32BE(0) }, end };
    case 'Interval':
      return { item: { tag, type, value: raw.readUInt32BE(0) }, end };
    case 'LongInteger':
      return { item: { tag, type, value: raw.readBigInt64BE(0) }, end };
    case 'DateTime':
      return { item: { tag, type, value: raw.readBigInt64BE(0) }, end };
    case 'Boolean': {
      const v = raw.readBigUInt64BE(0);
      if (v > 1n) throw new TtlvError('BAD_LENGTH', `item 0x${tag.toString(16)}: a Boolean is 0 or 1`);
      return { item: { tag, type, value: v === 1n }, end };
    }
    case 'TextString': {
      let value: string;
      try {
        value = utf8.decode(raw);
      } catch {
        throw new TtlvError('BAD_TEXT', `item 0x${tag.toString(16)}: a Text String is not valid UTF-8`);
      }
      return { item: { tag, type, value }, end };
    }
    case 'ByteString':
    case 'BigInteger':
      return { item: { tag, type, value: Buffer.from(raw) }, end };
    default: {
      const never: never = type;
      throw new TtlvError('BAD_TYPE', `unknown type ${String(never)}`);
    }
  }
}

function header(tag: number, type: TtlvTypeName, length: number): Buffer {
  const h = Buffer.alloc(TTLV_HEADER_BYTES);
  h.writeUIntBE(tag, 0, 3);
  h[3] = TTLV_TYPES[type];
  h.writeUInt32BE(length, 4);
  return h;
}

function withPadding(value: Buffer): Buffer {
  const pad = padded(value.length) - value.length;
  return pad === 0 ? value : Buffer.concat([value, Buffer.alloc(pad)]);
}

/** Encode an item (and its children) as TTLV. */
export function encodeTtlv(item: TtlvItem): Buffer {
  let value: Buffer;
  switch (item.type) {
    case 'Structure': {
      value = Buffer.concat(item.value.map(encodeTtlv));
      return Buffer.concat([header(item.tag, item.type, value.length), value]);
    }
    case 'Integer':
      value = Buffer.alloc(4);
      value.writeInt32BE(item.value);
      break;
    case 'Enumeration':
    case 'Interval':
      value = Buffer.alloc(4);
      value.writeUInt32BE(item.value);
      break;
    case 'LongInteger':
    case 'DateTime':
      value = Buffer.alloc(8);
      value.writeBigInt64BE(item.value);
      break;
    case 'Boolean':
      value = Buffer.alloc(8);
      value.writeBigUInt64BE(item.value ? 1n : 0n);
      break;
    case 'TextString':
      value = Buffer.from(item.value, 'utf8');
      break;
    case 'ByteString':
    case 'BigInteger':
      value = item.value;
      break;
    default: {
      const never: never = item;
      throw new Error(`unknown TTLV item ${JSON.stringify(never)}`);
    }
  }
  return Buffer.concat([header(item.tag, item.type, value.length), withPadding(value)]);
}

/** Builders, so code reads as the message it sends. */
export const ttlv = {
  struct: (tag: number, value: TtlvItem[]): TtlvItem => ({ tag, type: 'Structure', value }),
  int: (tag: number, value: number): TtlvItem => ({ tag, type: 'Integer', value }),
  long: (tag: number, value: bigint): TtlvItem => ({ tag, type: 'LongInteger', value }),
  enum: (tag: number, value: number): TtlvItem => ({ tag, type: 'Enumeration', value }),
  bool: (tag: number, value: boolean): TtlvItem => ({ tag, type: 'Boolean', value }),
  text: (tag: number, value: string): TtlvItem => ({ tag, type: 'TextString', value }),
  bytes: (tag: number, value: Buffer): TtlvItem => ({ tag, type: 'ByteString', value }),
  date: (tag: number, value: Date): TtlvItem => ({ tag, type: 'DateTime', value: BigInt(Math.floor(value.getTime() / 1000)) }),
  interval: (tag: number, value: number): TtlvItem => ({ tag, type: 'Interval', value }),
};
