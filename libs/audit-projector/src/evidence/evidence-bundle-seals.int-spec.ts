import { randomBytes, randomUUID } from 'node:crypto';
import { keyStreamId } from '@kms/domain';
import { EventSealer, type NewEvent } from '@kms/event-store';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { BUNDLE_FILES, readTar, type SealChainFile, verifyEvidenceBundle } from '@kms/ledger';
import { auditMigrations, createPgPool, dropSchema, PostgresAuditFeed, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import type { Pool } from 'pg';
import { SoftwareAttestationSigner } from '../attestation/software-attestation-signer';
import { LedgerStore } from '../ledger/ledger-store';
import { ProjectionRunner } from '../projections/projection-runner';
import { ProjectionStore } from '../projections/projection-store';
import { type ReadModelTestSchema, readModelTestSchema } from '../testing/read-model-test-schema';
import { EvidenceBundleBuilder } from './evidence-bundle.builder';

/*
 * Issue 13, "done when": the evidence-bundle verifier fails on a bundle exported from a store with a
 * forged event. The key's history is written through the sealed PostgreSQL store and projected into
 * the ledger by the real projector; an insider then INSERTs a KeyPolicyChanged for that key.
 */
const source = { url: testDatabaseUrl(), schema: uniqueTestSchema('ev_seals_src') };
const KEY = randomUUID();
const STREAM = keyStreamId(KEY);
const signer = SoftwareAttestationSigner.generate();
const sealer = new EventSealer(randomBytes(32));
const clock = { now: () => new Date('2026-03-02T00:00:00.000Z') };
let pool: Pool;
let events: PostgresEventStore;
let target: ReadModelTestSchema;
let runner: ProjectionRunner;
let builder: EvidenceBundleBuilder;
let pem: string;

const meta = (at: string) => ({ actor: 'alice', correlationId: randomUUID(), occurredAt: at });
const ev = (type: string, data: Record<string, unknown>, at: string): NewEvent => ({ id: randomUUID(), type, data, metadata: meta(at) });

beforeAll(async () => {
  await runMigrations(source, [...eventStoreMigrations, ...auditMigrations]);
  pool = createPgPool(source, { max: 4 });
  events = new PostgresEventStore(pool, { channel: `kms_events_${source.schema}`.slice(0, 63), pollIntervalMs: 50, sealer });
  target = await readModelTestSchema('ev_seals_rm');
  const ledger = new LedgerStore(target.dataSource, 'kms.test/ledger', signer, clock);
  runner = new ProjectionRunner(new ProjectionStore(target.dataSource), events, new PostgresAuditFeed(pool, testAuditSealer()), ledger, clock, undefined, { checkpointIntervalMs: 0, pollIntervalMs: 20, retryDelayMs: 50 });
  // The projector's own composition: the store as stored and its sealer.
  builder = new EvidenceBundleBuilder(target.dataSource, ledger, signer, clock, { stored: events, sealer });
  pem = await signer.publicKeyPem();
  runner.start();
});

afterAll(async () => {
  await runner?.stop();
  await events?.close();
  await pool?.end();
  await target?.drop();
  await dropSchema(source);
});

async function exportAndVerify(): Promise<{ chain: SealChainFile; verification: ReturnType<typeof verifyEvidenceBundle> }> {
  const files = readTar((await builder.build(KEY)).tar);
  const chain = JSON.parse((files.get(BUNDLE_FILES.sealChain) as Buffer).toString('utf8')) as SealChainFile;
  return { chain, verification: verifyEvidenceBundle(files, pem) };
}

describe('evidence bundle seal chain on PostgreSQL', () => {
  it('a key history written by the KMS exports VERIFIED; after a forged INSERT the bundle fails naming seals/events.json and the forged version', async () => {
    await events.appendToStream(
      STREAM,
      [
        ev('KeyCreated', { keyId: KEY, tenant: 'acme', name: 'payments', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: {}, owner: 'team', rotationPeriodDays: 90, policy: { grants: {} } }, '2026-03-01T09:00:00.000Z'),
        ev('KeyVersionCreated', { keyId: KEY, version: 1, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: 'm-1', reason: 'INITIAL' }, '2026-03-01T09:00:00.000Z'),
        ev('PrimaryVersionChanged', { keyId: KEY, version: 1, previousVersion: null, reason: 'INITIAL' }, '2026-03-01T09:00:00.000Z'),
      ],
      { expectedVersion: 'no_stream' },
    );
    const { lastGlobalPosition } = await events.appendToStream(
      STREAM,
      [
        ev('KeyVersionCreated', { keyId: KEY, version: 2, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: 'm-2', reason: 'MANUAL' }, '2026-03-01T10:00:00.000Z'),
        ev('PrimaryVersionChanged', { keyId: KEY, version: 2, previousVersion: 1, reason: 'MANUAL' }, '2026-03-01T10:00:00.000Z'),
      ],
      { expectedVersion: 2 },
    );
    await runner.waitFor({ events: lastGlobalPosition }, 10_000);

    const clean = await exportAndVerify();
    expect(clean.verification.failedFiles).toEqual([]);
    expect(clean.verification.ok).toBe(true);
    expect(clean.chain.streamId).toBe(STREAM);
    expect(clean.chain.ledgeredThrough).toBe(lastGlobalPosition.toString());
    expect(clean.chain.events.map((e) => [e.streamVersion, e.sealCheck])).toEqual([0, 1, 2, 3, 4].map((v) => [v, 'valid']));
    expect(clean.verification.findings).toContainEqual(expect.objectContaining({ ok: true, file: BUNDLE_FILES.sealChain, message: expect.stringContaining('5 ledgered key event(s) recompute to their sealed hashes') }));
    // Nothing beyond the chain's own fields: no event data, no MAC.
    expect(Object.keys(clean.chain.events[0] ?? {}).sort()).toEqual(['globalPosition', 'hash', 'id', 'prev', 'sealCheck', 'streamVersion', 'type']);

    // An insider with write access to PostgreSQL INSERTs a KeyPolicyChanged granting themselves DECRYPT.
    const forged = await pool.query<{ p: string }>(
      `INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata) VALUES ($1, $2, 5, 'KeyPolicyChanged', $3, $4) RETURNING global_position::text AS p`,
      [randomUUID(), STREAM, JSON.stringify({ keyId: KEY, policy: { grants: { mallory: ['DECRYPT'] } }, previousPolicy: { grants: {} } }), JSON.stringify({ ...meta('2026-03-01T11:00:00.000Z'), approvers: ['bob'] })],
    );
    const position = forged.rows[0]?.p;
    // The projector reaches the row and refuses it (it stays stopped there).
    const deadline = Date.now() + 10_000;
    while (!runner.snapshot().some((s) => s.name === 'events' && s.lastError?.includes(`${STREAM} version 5`))) {
      if (Date.now() > deadline) throw new Error(`the projector did not refuse the forged row: ${JSON.stringify(runner.snapshot())}`);
      await new Promise((r) => setTimeout(r, 25));
    }

    const after = await exportAndVerify();
    expect(after.chain.events[5]).toMatchObject({ streamVersion: 5, globalPosition: position, type: 'KeyPolicyChanged', prev: null, hash: null, sealCheck: 'the event is not sealed' });
    expect(after.verification.ok).toBe(false);
    expect(after.verification.failedFiles).toEqual([BUNDLE_FILES.sealChain]);
    const failures = after.verification.findings.filter((f) => !f.ok).map((f) => f.message);
    expect(failures).toContain(`version 5 (position ${position}): the seal check in the source store failed: the event is not sealed`);
    expect(failures).toContain(`version 5 (position ${position}) is in the source store but not in the ledger (the projector refused it)`);
  }, 30_000);
});
