import { connect, type TLSSocket } from 'node:tls';
import { Fields, KmipError } from '../ttlv/kmip-message';
import { Operation, type OperationName, ResultReason, ResultStatus, Tag } from '../ttlv/kmip-tags';
import { announcedLength, decodeTtlv, encodeTtlv, ttlv, TTLV_HEADER_BYTES, type TtlvItem } from '../ttlv/ttlv';

export interface KmipClientOptions {
  host: string;
  port: number;
  /** PEM client certificate, its key, and the CA the server's certificate chains to. */
  cert: string;
  key: string;
  ca: string;
  version?: { major: number; minor: number };
}

/** One batch item's answer: its payload, or the KMIP failure. */
export type KmipItemResult = { ok: true; payload: Fields } | { ok: false; reason: number; message: string };

/**
 * A small KMIP client over one mutual-TLS connection (benchmarks, tests): one request at a time,
 * several batch items per request.
 */
export class KmipClient {
  /** A request is waiting for its response: KMIP answers in order on a connection, and this client reads one at a time. */
  private pending = false;

  private constructor(
    private readonly socket: TLSSocket,
    private readonly version: { major: number; minor: number },
  ) {}

  static connect(options: KmipClientOptions): Promise<KmipClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port, cert: options.cert, key: options.key, ca: options.ca, servername: 'localhost', minVersion: 'TLSv1.2' }, () =>
        resolve(new KmipClient(socket, options.version ?? { major: 1, minor: 4 })),
      );
      socket.once('error', reject);
    });
  }

  close(): void {
    this.socket.end();
  }

  /** Send one request of `items` (operation and payload fields) and read its response. */
  async request(items: Array<{ operation: OperationName; payload: TtlvItem[] }>): Promise<KmipItemResult[]> {
    // Two requests in flight would both take the first response: refuse rather than pair them wrongly.
    if (this.pending) throw new Error('KmipClient: a request is already in flight on this connection; use one client per concurrent caller');
    this.pending = true;
    try {
      return await this.exchange(items);
    } finally {
      this.pending = false;
    }
  }

  private async exchange(items: Array<{ operation: OperationName; payload: TtlvItem[] }>): Promise<KmipItemResult[]> {
    const message = ttlv.struct(Tag.RequestMessage, [
      ttlv.struct(Tag.RequestHeader, [
        ttlv.struct(Tag.ProtocolVersion, [ttlv.int(Tag.ProtocolVersionMajor, this.version.major), ttlv.int(Tag.ProtocolVersionMinor, this.version.minor)]),
        ttlv.int(Tag.BatchCount, items.length),
      ]),
      ...items.map((i) => ttlv.struct(Tag.BatchItem, [ttlv.enum(Tag.Operation, Operation[i.operation]), ttlv.struct(Tag.RequestPayload, i.payload)])),
    ]);
    const response = this.readOne();
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.write(encodeTtlv(message));
    const root = Fields.of(decodeTtlv(await response), 'ResponseMessage');
    return root.all(Tag.BatchItem, 'Structure').map((b, i) => {
      const f = new Fields(b.value, `BatchItem[${i}]`);
      if (f.req(Tag.ResultStatus, 'Enumeration') === ResultStatus.Success) return { ok: true as const, payload: f.struct(Tag.ResponsePayload) ?? new Fields([], 'ResponsePayload') };
      return { ok: false as const, reason: f.opt(Tag.ResultReason, 'Enumeration') ?? ResultReason.GeneralFailure, message: f.opt(Tag.ResultMessage, 'TextString') ?? '' };
    });
  }

  /** One operation; a failure throws a KmipError. */
  async call(operation: OperationName, payload: TtlvItem[]): Promise<Fields> {
    const [result] = await this.request([{ operation, payload }]);
    if (!result) throw new KmipError('InvalidMessage', 'the response has no batch item');
    if (!result.ok) throw new KmipError('GeneralFailure', `${operation} failed (reason 0x${result.reason.toString(16)}): ${result.message}`);
    return result.payload;
  }

  private readOne(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed || this.socket.readableEnded) {
        reject(new Error('the KMIP server closed the connection'));
        return;
      }
      let chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        size += chunk.length;
        if (size < TTLV_HEADER_BYTES) return;
        const all = Buffer.concat(chunks);
        chunks = [all];
        const total = announcedLength(all);
        if (size < total) return;
        done();
        resolve(all.subarray(0, total));
      };
      const onClose = (): void => {
        done();
        reject(new Error('the KMIP server closed the connection'));
      };
      const done = (): void => {
        this.socket.off('data', onData);
        this.socket.off('close', onClose);
        this.socket.off('error', onClose);
      };
      this.socket.on('data', onData);
      this.socket.once('close', onClose);
      this.socket.once('error', onClose);
    });
  }
}
