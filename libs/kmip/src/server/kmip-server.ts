import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { CallPipeline } from '@kms/application';
import type { KmipOperations, KmipSession } from '../operations/kmip-operations';
import { toKmipFailure } from '../operations/kmip-error.mapper';
import type { KmipTlsMaterial } from '../pki/kmip-pki';
import { type BatchResult, buildResponse, parseRequest, type ProtocolVersion, versionOf } from '../ttlv/kmip-message';
import { OPERATION_NAMES } from '../ttlv/kmip-tags';
import { announcedLength, decodeTtlv, DEFAULT_TTLV_LIMITS, encodeTtlv, TTLV_HEADER_BYTES, TtlvError, type TtlvItem, type TtlvLimits } from '../ttlv/ttlv';

export interface KmipServerOptions {
  host: string;
  /** 5696 is KMIP's port; 0 asks the OS (tests). */
  port: number;
  tls: KmipTlsMaterial;
  limits?: TtlvLimits;
  /** Idle connections are closed after this long. */
  idleTimeoutMs?: number;
  now?: () => Date;
}

const DEFAULT_VERSION: ProtocolVersion = { major: 1, minor: 4 };

/**
 * KMIP over TLS 1.2+ with mutual TLS: a client must present a certificate from the configured CA,
 * and every request is answered by KmipOperations (authenticated by that certificate). Messages are
 * framed by their TTLV length, bounded before anything is buffered; a bad message gets a KMIP error
 * (audited) and the connection is closed.
 */
export class KmipServer {
  private server: Server | undefined;
  private readonly sockets = new Set<TLSSocket>();
  private readonly limits: TtlvLimits;

  constructor(
    private readonly operations: KmipOperations,
    private readonly pipeline: CallPipeline,
    private readonly options: KmipServerOptions,
  ) {
    this.limits = options.limits ?? DEFAULT_TTLV_LIMITS;
  }

  /** Listen; resolves with the bound port. */
  start(): Promise<number> {
    const server = createServer(
      { key: this.options.tls.key, cert: this.options.tls.cert, ca: this.options.tls.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
      (socket) => this.connection(socket),
    );
    server.on('tlsClientError', (err, socket) => {
      // A client without a certificate from our CA never reaches an operation: audited as a refused connection.
      void this.pipeline.refuseTransport({ operation: 'KmipConnect', peer: `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`, details: { protocol: 'KMIP' } }, `TLS handshake refused: ${err.message}`).catch(() => undefined);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve((server.address() as AddressInfo).port));
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private connection(socket: TLSSocket): void {
    this.sockets.add(socket);
    socket.setTimeout(this.options.idleTimeoutMs ?? 5 * 60_000, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const peerCert = socket.getPeerX509Certificate();
    if (!peerCert) {
      socket.destroy();
      return;
    }
    const certificate = { fingerprint: createHash('sha256').update(peerCert.raw).digest('hex'), subject: peerCert.subject.replace(/\n/g, ', ') };
    const peer = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    let buffered: Buffer[] = [];
    let size = 0;
    let busy = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buffered.push(chunk);
      size += chunk.length;
      for (;;) {
        if (size < TTLV_HEADER_BYTES) return;
        const all = buffered.length === 1 ? (buffered[0] as Buffer) : Buffer.concat(buffered);
        buffered = [all];
        const total = announcedLength(all);
        if (total > this.limits.maxMessageBytes) {
          // Refused from the header alone: nothing more of it is read.
          socket.pause();
          busy = busy.then(() => this.refuse(socket, peer, DEFAULT_VERSION, new TtlvError('TOO_LARGE', `message: announces ${total} bytes, at most ${this.limits.maxMessageBytes}`), true));
          return;
        }
        if (size < total) return;
        const message = all.subarray(0, total);
        buffered = size > total ? [all.subarray(total)] : [];
        size -= total;
        busy = busy.then(() => this.handle(socket, message, { certificate, peer })).catch(() => {
          socket.destroy();
        });
      }
    });
  }

  private async refuse(socket: TLSSocket, peer: string, version: ProtocolVersion, error: unknown, close: boolean): Promise<void> {
    const failure = toKmipFailure(error);
    await this.pipeline.refuseTransport({ operation: 'KmipRequest', peer, details: { protocol: 'KMIP' } }, failure.message);
    const response = encodeTtlv(buildResponse(version, this.now(), [{ operationCode: 0, ok: false, ...failure }]));
    if (close) socket.end(response);
    else socket.write(response);
  }

  private now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }

  private async handle(socket: TLSSocket, bytes: Buffer, who: Omit<KmipSession, 'version'>): Promise<void> {
    let message: TtlvItem;
    let version = DEFAULT_VERSION;
    let request;
    try {
      message = decodeTtlv(bytes, this.limits);
      version = versionOf(message);
      request = parseRequest(message);
    } catch (e) {
      await this.refuse(socket, who.peer, version, e, true);
      return;
    }
    const session: KmipSession = { ...who, version: request.version };
    const results: BatchResult[] = [];
    let placeholder: string | undefined;
    const secrets: Buffer[] = [];
    for (const item of request.items) {
      const id = item.uniqueBatchItemId ? { uniqueBatchItemId: item.uniqueBatchItemId } : {};
      try {
        const out = await this.operations.execute(item.operation, item.payload, session, placeholder);
        if (out.uid !== undefined) placeholder = out.uid;
        if (out.secrets) secrets.push(...out.secrets);
        results.push({ operationCode: item.operationCode, ...id, ok: true, payload: out.payload });
      } catch (e) {
        results.push({ operationCode: item.operationCode, ...id, ok: false, ...toKmipFailure(e) });
        if (!request.continueOnError) break;
      }
    }
    for (const u of request.unknown) {
      await this.pipeline.refuseTransport({ operation: 'KmipRequest', peer: who.peer, details: { protocol: 'KMIP' } }, `operation 0x${u.operationCode.toString(16)} is not supported`);
      results.push({ operationCode: u.operationCode, ...(u.uniqueBatchItemId ? { uniqueBatchItemId: u.uniqueBatchItemId } : {}), ok: false, reason: 'OperationNotSupported', message: `operation 0x${u.operationCode.toString(16)} is not supported (${[...OPERATION_NAMES.values()].join(', ')} are)` });
    }
    const response = encodeTtlv(buildResponse(request.version, this.now(), results));
    // Key material (an exportable key's Get, a clear Register) is wiped once encoded, and the encoded response once sent.
    for (const secret of secrets) secret.fill(0);
    // The request's bytes too (a clear Register carried the key in them).
    if (secrets.length > 0) bytes.fill(0);
    const wipe = secrets.length > 0 ? () => response.fill(0) : undefined;
    // A certificate that authenticates no one gets its answer and loses the connection: no second try on it.
    if (results.some((r) => !r.ok && r.reason === 'AuthenticationNotSuccessful')) socket.end(response, wipe);
    else socket.write(response, wipe);
  }
}
