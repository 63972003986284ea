import { InMemoryEventStore } from '@kms/event-store';
import { createPublicKey, generateKeyPairSync, verify, sign } from 'node:crypto';
import { KeyHistoryWriter } from '../testing/key-events.fixtures';
import { InMemoryPublicKeySource } from './in-memory-public-key-source';
import { JwksProjection } from './jwks.projection';

describe('JwksProjection', () => {
  it('publishes every ENABLED version of a tenant signing key with kid <keyId>:<version>, and the key verifies', async () => {
    const events = new InMemoryEventStore();
    const source = new InMemoryPublicKeySource();
    const signing = new KeyHistoryWriter(events);
    const pairs = [1, 2, 3].map(() => generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    pairs.forEach((p, i) => source.put(signing.keyId, i + 1, p.publicKey.export({ format: 'der', type: 'spki' })));
    await signing.create();
    await signing.newVersion(2, 'SCHEDULED', '2026-02-01T00:00:00.000Z');
    await signing.newVersion(3, 'SCHEDULED', '2026-03-01T00:00:00.000Z');
    await signing.append('KeyVersionDisabled', { version: 1 }, '2026-03-02T00:00:00.000Z');
    await new KeyHistoryWriter(events).create({ tenant: 'other' });
    await new KeyHistoryWriter(events).create({ algorithm: 'AES_256_GCM' });

    const jwks = new JwksProjection(source);
    await jwks.start(events);
    const set = await jwks.jwks('acme');
    await jwks.stop();

    expect(set.keys.map((k) => k.kid)).toEqual([`${signing.keyId}:2`, `${signing.keyId}:3`]);
    expect(set.keys[1]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    const message = Buffer.from('token');
    const [, , third] = pairs;
    const [, second] = set.keys;
    if (!third || !second) throw new Error('fixture missing');
    const signature = sign('sha256', message, third.privateKey);
    expect(verify('sha256', message, createPublicKey({ key: second, format: 'jwk' }), signature)).toBe(true);
  });

  it('follows rotations live and reads each public key once', async () => {
    const events = new InMemoryEventStore();
    const source = new InMemoryPublicKeySource();
    const key = new KeyHistoryWriter(events);
    for (const v of [1, 2]) source.put(key.keyId, v, generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }));
    await key.create();
    const jwks = new JwksProjection(source);
    await jwks.start(events);
    expect((await jwks.jwks('acme')).keys).toHaveLength(1);
    await key.newVersion(2, 'MANUAL', '2026-02-01T00:00:00.000Z');
    await new Promise((r) => setTimeout(r, 20));
    const set = await jwks.jwks('acme');
    await jwks.stop();
    expect(set.keys.map((k) => k.kid)).toEqual([`${key.keyId}:1`, `${key.keyId}:2`]);
    expect(source.reads.get(`${key.keyId}:1`)).toBe(1);
  });
});
