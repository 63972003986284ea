import { Writable } from 'node:stream';
import { withCallLogContext } from '@kms/application';
import { createStructuredLogger } from './structured-logger';

function sink(): { stream: Writable; lines: () => Array<Record<string, unknown>>; raw: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, raw: () => text, lines: () => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('StructuredLogger (pino through Nest)', () => {
  it('writes one JSON object per line with level, service, context and message, and no colour codes', () => {
    const out = sink();
    const logger = createStructuredLogger({ level: 'info', redact: [], service: 'kms-test' }, out.stream);
    logger.log('listening on http://127.0.0.1:8080', 'key-service');
    logger.debug('not at info level', 'key-service');
    logger.error('boom', 'Error: boom\n    at x', 'key-service');
    expect(out.lines()).toEqual([
      expect.objectContaining({ level: 'info', service: 'kms-test', context: 'key-service', msg: 'listening on http://127.0.0.1:8080' }),
      expect.objectContaining({ level: 'error', context: 'key-service', msg: 'boom', stack: 'Error: boom\n    at x' }),
    ]);
    expect(out.raw().includes('\u001b[')).toBe(false);
  });

  it('adds the request id, RPC and caller of the call being served to every line under it', () => {
    const out = sink();
    const logger = createStructuredLogger({ level: 'debug', redact: [], service: 'kms-test' }, out.stream);
    withCallLogContext({ requestId: 'req-42', rpc: 'Encrypt', actor: 'orders-service' }, () => logger.debug({ msg: 'call answered', code: 'OK' }, 'kms-rpc'));
    logger.log('outside any call', 'kms');
    const [inside, outside] = out.lines();
    expect(inside).toMatchObject({ requestId: 'req-42', rpc: 'Encrypt', actor: 'orders-service', msg: 'call answered', code: 'OK' });
    expect(outside).not.toHaveProperty('requestId');
  });

  it('redacts secrets by path, always for credentials and tokens, and for the paths the configuration adds', () => {
    const out = sink();
    const logger = createStructuredLogger({ level: 'info', redact: ['req.body.note'], service: 'kms-test' }, out.stream);
    logger.log({ msg: 'issued', client_secret: 's3cr3t-value', nested: { token: 'tok-value' }, req: { body: { note: 'private-note' } } }, 'identity');
    const text = out.raw();
    expect(text).not.toContain('s3cr3t-value');
    expect(text).not.toContain('tok-value');
    expect(text).not.toContain('private-note');
    expect(out.lines()[0]).toMatchObject({ client_secret: '[REDACTED]', nested: { token: '[REDACTED]' }, req: { body: { note: '[REDACTED]' } } });
  });
});
