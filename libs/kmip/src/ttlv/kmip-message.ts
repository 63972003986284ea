import { BatchErrorContinuation, OPERATION_NAMES, type OperationName, ResultReason, type ResultReasonName, ResultStatus, Tag } from './kmip-tags';
import { ttlv, type TtlvItem, type TtlvTypeName } from './ttlv';

/** A refusal in KMIP terms: the result reason and a message naming the field. */
export class KmipError extends Error {
  constructor(
    readonly reason: ResultReasonName,
    message: string,
  ) {
    super(message);
    this.name = 'KmipError';
  }
}

type ItemOf<T extends TtlvTypeName> = Extract<TtlvItem, { type: T }>;

/** Read access to a structure's fields, with errors naming the missing or mistyped field. */
export class Fields {
  constructor(
    readonly items: readonly TtlvItem[],
    private readonly where: string,
  ) {}

  static of(item: TtlvItem | undefined, where: string): Fields {
    if (!item) return new Fields([], where);
    if (item.type !== 'Structure') throw new KmipError('InvalidMessage', `${where}: must be a Structure`);
    return new Fields(item.value, where);
  }

  private name(tag: number): string {
    const known = Object.entries(Tag).find(([, v]) => v === tag);
    return known ? known[0] : `0x${tag.toString(16)}`;
  }

  /** Every field with this tag, checked to be of `type`. */
  all<T extends TtlvTypeName>(tag: number, type: T): Array<ItemOf<T>> {
    return this.items.filter((i) => i.tag === tag).map((i) => {
      if (i.type !== type) throw new KmipError('InvalidField', `${this.where}.${this.name(tag)}: must be ${type}, not ${i.type}`);
      return i as ItemOf<T>;
    });
  }

  opt<T extends TtlvTypeName>(tag: number, type: T): ItemOf<T>['value'] | undefined {
    const found = this.all(tag, type);
    if (found.length > 1) throw new KmipError('InvalidField', `${this.where}.${this.name(tag)}: given more than once`);
    return found[0]?.value as ItemOf<T>['value'] | undefined;
  }

  req<T extends TtlvTypeName>(tag: number, type: T): ItemOf<T>['value'] {
    const v = this.opt(tag, type);
    if (v === undefined) throw new KmipError('MissingData', `${this.where}.${this.name(tag)}: is required`);
    return v;
  }

  struct(tag: number): Fields | undefined {
    const s = this.opt(tag, 'Structure');
    return s ? new Fields(s, `${this.where}.${this.name(tag)}`) : undefined;
  }
}

export interface ProtocolVersion {
  major: number;
  minor: number;
}

export interface RequestBatchItem {
  operation: OperationName;
  operationCode: number;
  uniqueBatchItemId?: Buffer;
  payload: Fields;
}

export interface KmipRequest {
  version: ProtocolVersion;
  /** Stop (default), Continue or Undo — Undo is answered as Stop: items commit one by one. */
  continueOnError: boolean;
  maximumResponseSize?: number;
  items: RequestBatchItem[];
  /** Batch items whose operation this server does not know: answered Operation Not Supported. */
  unknown: Array<{ operationCode: number; uniqueBatchItemId?: Buffer }>;
}

/** The protocol version a message carries, read before anything else so a refusal can answer in it. */
export function versionOf(message: TtlvItem): ProtocolVersion {
  const header = Fields.of(message, 'RequestMessage').struct(Tag.RequestHeader);
  const v = header?.struct(Tag.ProtocolVersion);
  return { major: v?.opt(Tag.ProtocolVersionMajor, 'Integer') ?? 1, minor: v?.opt(Tag.ProtocolVersionMinor, 'Integer') ?? 0 };
}

/** Parse a decoded TTLV request message (KMIP 1.x §7.1). */
export function parseRequest(message: TtlvItem): KmipRequest {
  if (message.tag !== Tag.RequestMessage || message.type !== 'Structure') throw new KmipError('InvalidMessage', 'message: not a KMIP RequestMessage');
  const root = Fields.of(message, 'RequestMessage');
  const header = root.struct(Tag.RequestHeader);
  if (!header) throw new KmipError('InvalidMessage', 'RequestMessage.RequestHeader: is required');
  const v = header.struct(Tag.ProtocolVersion);
  if (!v) throw new KmipError('InvalidMessage', 'RequestHeader.ProtocolVersion: is required');
  const version = { major: v.req(Tag.ProtocolVersionMajor, 'Integer'), minor: v.req(Tag.ProtocolVersionMinor, 'Integer') };
  const batchCount = header.req(Tag.BatchCount, 'Integer');
  const continuation = header.opt(Tag.BatchErrorContinuationOption, 'Enumeration') ?? BatchErrorContinuation.Stop;
  const maximumResponseSize = header.opt(Tag.MaximumResponseSize, 'Integer');
  const batch = root.all(Tag.BatchItem, 'Structure');
  if (batch.length !== batchCount) throw new KmipError('InvalidMessage', `RequestHeader.BatchCount: says ${batchCount}, the message has ${batch.length} batch items`);
  if (batch.length === 0) throw new KmipError('InvalidMessage', 'RequestMessage.BatchItem: at least one is required');
  const items: RequestBatchItem[] = [];
  const unknown: KmipRequest['unknown'] = [];
  batch.forEach((b, i) => {
    const f = new Fields(b.value, `BatchItem[${i}]`);
    const operationCode = f.req(Tag.Operation, 'Enumeration');
    const id = f.opt(Tag.UniqueBatchItemId, 'ByteString');
    const operation = OPERATION_NAMES.get(operationCode);
    if (!operation) {
      unknown.push({ operationCode, ...(id ? { uniqueBatchItemId: id } : {}) });
      return;
    }
    items.push({ operation, operationCode, ...(id ? { uniqueBatchItemId: id } : {}), payload: f.struct(Tag.RequestPayload) ?? new Fields([], `BatchItem[${i}].RequestPayload`) });
  });
  return { version, continueOnError: continuation === BatchErrorContinuation.Continue, ...(maximumResponseSize !== undefined ? { maximumResponseSize } : {}), items, unknown };
}

export type BatchResult =
  | { operationCode: number; uniqueBatchItemId?: Buffer; ok: true; payload: TtlvItem[] }
  | { operationCode: number; uniqueBatchItemId?: Buffer; ok: false; reason: ResultReasonName; message: string };

/** A response message (KMIP 1.x §7.2) carrying one batch item per result, in order. */
export function buildResponse(version: ProtocolVersion, now: Date, results: BatchResult[]): TtlvItem {
  const header = ttlv.struct(Tag.ResponseHeader, [
    ttlv.struct(Tag.ProtocolVersion, [ttlv.int(Tag.ProtocolVersionMajor, version.major), ttlv.int(Tag.ProtocolVersionMinor, version.minor)]),
    ttlv.date(Tag.TimeStamp, now),
    ttlv.int(Tag.BatchCount, results.length),
  ]);
  const items = results.map((r) =>
    ttlv.struct(Tag.BatchItem, [
      ...(r.operationCode ? [ttlv.enum(Tag.Operation, r.operationCode)] : []),
      ...(r.uniqueBatchItemId ? [ttlv.bytes(Tag.UniqueBatchItemId, r.uniqueBatchItemId)] : []),
      ...(r.ok
        ? [ttlv.enum(Tag.ResultStatus, ResultStatus.Success), ttlv.struct(Tag.ResponsePayload, r.payload)]
        : [ttlv.enum(Tag.ResultStatus, ResultStatus.OperationFailed), ttlv.enum(Tag.ResultReason, ResultReason[r.reason]), ttlv.text(Tag.ResultMessage, r.message)]),
    ]),
  );
  return ttlv.struct(Tag.ResponseMessage, [header, ...items]);
}
