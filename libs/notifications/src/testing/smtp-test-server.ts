import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** A message as the SMTP server received it, with the text part decoded for assertions. */
export interface ReceivedMail {
  from: string;
  to: string[];
  /** Whether the session had upgraded to TLS (STARTTLS) and who authenticated. */
  secure: boolean;
  user: string | null;
  raw: string;
  headers: Record<string, string>;
  text: string;
  html: string;
}

/** Decode a MIME part body by its Content-Transfer-Encoding. */
function decodePart(body: string, encoding: string): string {
  if (/base64/i.test(encoding)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/quoted-printable/i.test(encoding)) {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

function parseHeaders(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** The headers and the decoded text/plain and text/html parts of a raw message (multipart/alternative or single part). */
export function parseMail(raw: string): { headers: Record<string, string>; text: string; html: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = parseHeaders(raw.slice(0, split));
  const body = raw.slice(split + 4);
  const parts: Record<string, string> = { text: '', html: '' };
  const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  const chunks = boundary ? body.split(`--${boundary}`).slice(1, -1) : [`${raw.slice(0, split)}\r\n\r\n${body}`];
  for (const chunk of chunks) {
    const at = chunk.indexOf('\r\n\r\n');
    const h = parseHeaders(chunk.slice(0, at).replace(/^\r\n/, ''));
    const decoded = decodePart(chunk.slice(at + 4).replace(/\r\n$/, ''), h['content-transfer-encoding'] ?? '7bit');
    if (/text\/plain/i.test(h['content-type'] ?? '')) parts['text'] = decoded;
    if (/text\/html/i.test(h['content-type'] ?? '')) parts['html'] = decoded;
  }
  return { headers, text: parts['text'] ?? '', html: parts['html'] ?? '' };
}

/**
 * A real SMTP server (the smtp-server package) on loopback for tests: it records what arrives, and can
 * be stopped and started again on the same port to stand for an outage.
 */
export class SmtpTestServer {
  readonly received: ReceivedMail[] = [];
  private server?: SMTPServer;
  port = 0;

  constructor(private readonly options: Partial<SMTPServerOptions> = {}) {}

  /** Listen on `port` (0: one the OS picks, kept for restarts). */
  async start(port = this.port): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      closeTimeout: 50,
      logger: false,
      ...this.options,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            secure: session.secure,
            user: typeof session.user === 'string' ? session.user : null,
            raw,
            ...parseMail(raw),
          });
          callback();
        });
      },
    });
    server.on('error', () => undefined); // a client dropping the connection is not a test failure
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stop listening and drop open connections (an outage, not a goodbye). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** What the Slack stand-in received: the JSON body of each POST. */
export interface ReceivedSlackMessage {
  path: string;
  body: Record<string, unknown>;
}

/** A local HTTP server standing for a Slack incoming webhook; `status` sets its answer. */
export class SlackWebhookTestServer {
  readonly received: ReceivedSlackMessage[] = [];
  /** The HTTP status to answer with (200 as Slack does; 404 for a removed webhook, 500 for an outage). */
  status = 200;
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.status === 200) this.received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        res.writeHead(this.status, { 'content-type': 'text/plain' });
        res.end(this.status === 200 ? 'ok' : this.status === 404 ? 'no_service' : 'internal_error');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
