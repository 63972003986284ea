import type { KafkaMessage } from 'kafkajs';
import { ConfirmationRefused, parseConfirmation } from './confirmation-consumer';

const KEY = '0b8f6a52-4a3c-4d7e-9a61-2f9d1c3e5b70';

function message(value: unknown, headers: Record<string, string> = {}): KafkaMessage {
  return {
    key: Buffer.from(KEY),
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
    timestamp: '0',
    attributes: 0,
    offset: '0',
  } as KafkaMessage;
}

function refusal(m: KafkaMessage): [string, string] {
  try {
    parseConfirmation(m);
  } catch (e) {
    if (e instanceof ConfirmationRefused) return [e.errorCode, e.message];
    throw e;
  }
  throw new Error('accepted');
}

describe('parseConfirmation', () => {
  const auth = { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln' };

  it('reads key id, version, token and request id', () => {
    expect(parseConfirmation(message({ keyId: KEY, version: 3 }, { ...auth, 'request-id': 'req-42' }))).toEqual({
      keyId: KEY,
      version: 3,
      token: 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln',
      requestId: 'req-42',
    });
  });

  it('makes a request id when the message has none (or an unusable one)', () => {
    const a = parseConfirmation(message({ keyId: KEY, version: 1 }, auth));
    const b = parseConfirmation(message({ keyId: KEY, version: 1 }, { ...auth, 'request-id': 'has spaces\nand newline' }));
    for (const m of [a, b]) expect(m.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['not json', auth, 'INVALID_ARGUMENT', /^value:/],
    [{ keyId: 'k1', version: 1 }, auth, 'INVALID_ARGUMENT', /^keyId:/],
    [{ keyId: KEY, version: 0 }, auth, 'INVALID_ARGUMENT', /^version:/],
    [{ keyId: KEY, version: 1.5 }, auth, 'INVALID_ARGUMENT', /^version:/],
    [{ keyId: KEY, version: 1 }, {}, 'UNAUTHENTICATED', /^authorization:/],
    [{ keyId: KEY, version: 1 }, { authorization: 'Basic dXNlcjpwYXNz' }, 'UNAUTHENTICATED', /^authorization:/],
  ])('refuses %j with %j naming the field', (value, headers, code, text) => {
    const [errorCode, msg] = refusal(message(value, headers));
    expect(errorCode).toBe(code);
    expect(msg).toMatch(text);
  });

  it('never repeats the token in a refusal', () => {
    const [, msg] = refusal(message({ keyId: 'nope', version: 1 }, auth));
    expect(msg).not.toContain('eyJhbGci');
  });
});
