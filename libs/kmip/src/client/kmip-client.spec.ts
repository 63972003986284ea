import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { issueKmipClientCertificate, ensureKmipPki } from '../pki/kmip-pki';
import { Operation, ResultStatus, Tag } from '../ttlv/kmip-tags';
import { announcedLength, decodeTtlv, encodeTtlv, ttlv, TTLV_HEADER_BYTES, type TtlvItem } from '../ttlv/ttlv';
import { KmipClient } from './kmip-client';

/**
 * KmipClient against a TLS peer that answers only when the test says so: KMIP answers in order on a
 * connection, so a second request while one waits would take the first one's answer; the client refuses it.
 */
const dir = mkdtempSync(join(tmpdir(), 'kmip-client-'));
let server: Server;
let port: number;
let options: Parameters<typeof KmipClient.connect>[0];
/** Requests the peer has read and not answered yet, oldest first, with the socket to answer on. */
const heard: Array<{ socket: TLSSocket; uniqueIdentifier: string }> = [];
const sockets = new Set<TLSSocket>();

/** A successful Get answer whose payload names `uniqueIdentifier`. */
function answer(socket: TLSSocket, uniqueIdentifier: string): void {
  const message = ttlv.struct(Tag.ResponseMessage, [
    ttlv.struct(Tag.ResponseHeader, [ttlv.int(Tag.BatchCount, 1)]),
    ttlv.struct(Tag.BatchItem, [
      ttlv.enum(Tag.Operation, Operation.Get),
      ttlv.enum(Tag.ResultStatus, ResultStatus.Success),
      ttlv.struct(Tag.ResponsePayload, [ttlv.text(Tag.UniqueIdentifier, uniqueIdentifier)]),
    ]),
  ]);
  socket.write(encodeTtlv(message));
}

function uniqueIdentifierOf(request: Buffer): string {
  const find = (item: TtlvItem): string | undefined => {
    if (item.tag === Tag.UniqueIdentifier && typeof item.value === 'string') return item.value;
    return Array.isArray(item.value) ? item.value.map(find).find((v) => v !== undefined) : undefined;
  };
  return find(decodeTtlv(request)) ?? '';
}

beforeAll(async () => {
  const tls = ensureKmipPki(dir, ['localhost']);
  const client = issueKmipClientCertificate(dir, 'kmip-client-spec');
  server = createServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= TTLV_HEADER_BYTES && buffered.length >= announcedLength(buffered)) {
        const total = announcedLength(buffered);
        heard.push({ socket, uniqueIdentifier: uniqueIdentifierOf(buffered.subarray(0, total)) });
        buffered = buffered.subarray(total);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  options = { host: '127.0.0.1', port, cert: client.cert, key: client.key, ca: tls.ca };
}, 60_000);

beforeEach(() => {
  heard.length = 0;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const get = (client: KmipClient, id: string) => client.call('Get', [ttlv.text(Tag.UniqueIdentifier, id)]);

describe('KmipClient: one request at a time per connection', () => {
  it('refuses a second request while the first waits, sends nothing for it, and takes requests again once answered', async () => {
    const client = await KmipClient.connect(options);
    try {
      const first = get(client, 'first');
      await until(() => heard.length === 1);
      await expect(get(client, 'second')).rejects.toThrow(/already in flight on this connection/);
      // The refused request never reached the peer, so the first answer can only be the first's.
      expect(heard.map((h) => h.uniqueIdentifier)).toEqual(['first']);
      const pending = heard.shift();
      if (pending) answer(pending.socket, pending.uniqueIdentifier);
      expect((await first).opt(Tag.UniqueIdentifier, 'TextString')).toBe('first');

      const third = get(client, 'third');
      await until(() => heard.length === 1);
      const next = heard.shift();
      expect(next?.uniqueIdentifier).toBe('third');
      if (next) answer(next.socket, next.uniqueIdentifier);
      expect((await third).opt(Tag.UniqueIdentifier, 'TextString')).toBe('third');
    } finally {
      client.close();
    }
  });

  it('takes a request again after one failed: the peer closing the connection rejects it, and the next is refused for the closed connection, not as in flight', async () => {
    const client = await KmipClient.connect(options);
    const lost = get(client, 'lost');
    await until(() => heard.length === 1);
    heard.shift()?.socket.destroy();
    await expect(lost).rejects.toThrow(/closed the connection/);
    await expect(get(client, 'after')).rejects.toThrow(/closed the connection/);
    client.close();
  });
});
