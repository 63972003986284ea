import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
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

  it('publishes ML-DSA-65 versions in the AKP form of RFC 9964, whose pub verifies a signature; ML-KEM keys are not listed', async () => {
    const events = new InMemoryEventStore();
    const source = new InMemoryPublicKeySource();
    const pq = new KeyHistoryWriter(events);
    const kem = new KeyHistoryWriter(events);
    const keys = ml_dsa65.keygen();
    // SPKI: AlgorithmIdentifier id-ml-dsa-65 (RFC 9881) + BIT STRING header, then the 1,952-byte key.
    source.put(pq.keyId, 1, Buffer.concat([Buffer.from('308207b2300b0609608648016503040312038207a100', 'hex'), keys.publicKey]));
    await pq.create({ algorithm: 'ML_DSA_65' });
    await kem.create({ algorithm: 'ML_KEM_768' });

    const jwks = new JwksProjection(source);
    await jwks.start(events);
    const set = await jwks.jwks('acme');
    await jwks.stop();

    expect(set.keys.map((k) => k.kid)).toEqual([`${pq.keyId}:1`]);
    const [jwk] = set.keys;
    expect(jwk).toMatchObject({ kty: 'AKP', alg: 'ML-DSA-65', use: 'sig' });
    const message = Buffer.from('token');
    const signature = ml_dsa65.sign(message, keys.secretKey);
    expect(ml_dsa65.verify(signature, message, Buffer.from(String(jwk?.['pub']), 'base64url'))).toBe(true);
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

  it('keeps retired (disabled, destruction-scheduled) ROOT_TENANT versions published so old RPT chains verify; destroyed ones go', async () => {
    const events = new InMemoryEventStore();
    const source = new InMemoryPublicKeySource();
    const root = new KeyHistoryWriter(events);
    const service = new KeyHistoryWriter(events);
    for (const w of [root, service]) for (const v of [1, 2, 3, 4]) source.put(w.keyId, v, generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }));
    await root.create({ purpose: 'ROOT_TENANT' });
    await service.create();
    for (const w of [root, service]) {
      for (const v of [2, 3, 4]) await w.newVersion(v, 'SCHEDULED', `2026-0${v}-01T00:00:00.000Z`);
      await w.append('KeyVersionDisabled', { version: 1 }, '2026-05-02T00:00:00.000Z');
      await w.append('KeyVersionDisabled', { version: 2 }, '2026-05-02T00:00:00.000Z');
      await w.append('KeyVersionDestructionScheduled', { version: 2, destroyAt: '2027-06-01T00:00:00.000Z', previousState: 'DISABLED' }, '2026-05-03T00:00:00.000Z');
      await w.append('KeyVersionDisabled', { version: 3 }, '2026-05-02T00:00:00.000Z');
      await w.append('KeyVersionDestructionScheduled', { version: 3, destroyAt: '2026-05-04T00:00:00.000Z', previousState: 'DISABLED' }, '2026-05-03T00:00:00.000Z');
      await w.append('KeyVersionDestroyed', { version: 3 }, '2026-05-04T00:00:00.000Z');
    }
    const jwks = new JwksProjection(source);
    await jwks.start(events);
    const kids = (await jwks.jwks('acme')).keys.map((k) => k.kid);
    await jwks.stop();
    expect(kids.filter((k) => k.startsWith(root.keyId)).sort()).toEqual([`${root.keyId}:1`, `${root.keyId}:2`, `${root.keyId}:4`]);
    expect(kids.filter((k) => k.startsWith(service.keyId))).toEqual([`${service.keyId}:4`]);
  });
});
