/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-jurisdictions-test.environment.ts
 */
import { HsmAttestationService, HsmTimelineService, systemClock } from '@kms/application';
import type { Jurisdiction } from '@kms/domain';
import { eventStoreMigrations, PostgresChangeCommitter, PostgresEventStore } from '@kms/event-store-postgres';
import { HsmInstanceRegistry, type HsmInstanceOptions } from '@kms/key-backend-pkcs11';
import { JURISDICTION_TEST_TOKENS, SOFTHSM_MODULE, softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { eventLeafRecord, leafData, leafHash, verifyInclusion } from '@kms/ledger';
import { auditMigrations, createPgPool, dropSchema, PostgresAuditFeed, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { SoftwareAttestationSigner } from '../attestation/software-attestation-signer';
import { LedgerStore } from '../ledger/ledger-store';
import { ProjectionRunner } from '../projections/projection-runner';
import { ProjectionStore } from '../projections/projection-store';
import { type ReadModelTestSchema, readModelTestSchema } from '../testing/read-model-test-schema';

const token = softHsmTestToken();
const source = { url: testDatabaseUrl(), schema: uniqueTestSchema('hsm_att_src') };
const declared: HsmInstanceOptions[] = [
  {
    id: 'hsm-eu',
    jurisdiction: 'eu' as Jurisdiction,
    provider: 'softhsm2 (sovereign test)',
    environment: 'sovereign',
    certifications: ['FIPS 140-3 certificate #4821 (declared)', 'Common Criteria EAL4+ BSI-DSZ-CC-1234 (declared)'],
    modulePath: SOFTHSM_MODULE,
    token: { kind: 'label', label: JURISDICTION_TEST_TOKENS.eu },
    pin: { kind: 'file', path: token.userPinFile },
    softhsm2Conf: token.confPath,
  },
];

function pdftotext(pdf: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    void (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hsm-pdf-'));
      const file = join(dir, 'bundle.pdf');
      await writeFile(file, pdf);
      execFile('pdftotext', ['-layout', file, '-'], (error, stdout) => {
        void rm(dir, { recursive: true, force: true });
        if (error) reject(error);
        else resolve(stdout);
      });
    })();
  });
}

describe('per-HSM attestation bundle (PDF + canonical JSON, hash in the ledger)', () => {
  let pool: Pool;
  let events: PostgresEventStore;
  let audit: PostgresAuditLog;
  let registry: HsmInstanceRegistry;
  let service: HsmAttestationService;
  let target: ReadModelTestSchema;

  beforeAll(async () => {
    await runMigrations(source, [...eventStoreMigrations, ...auditMigrations]);
    pool = createPgPool(source, { max: 4 });
    events = new PostgresEventStore(pool, { pollIntervalMs: 100 });
    audit = new PostgresAuditLog(pool, testAuditSealer());
    registry = new HsmInstanceRegistry(declared);
    await registry.connect();
    const timeline = new HsmTimelineService(events, new PostgresChangeCommitter(pool, { channel: events.channel, auditSealer: testAuditSealer() }), systemClock);
    service = new HsmAttestationService((id) => {
      const { declaration, hsm } = registry.get(id);
      return { declaration, identity: () => hsm.pool.identity(), signer: hsm.attestationSigner };
    }, timeline);
    target = await readModelTestSchema('hsm_att_rm');
  });
  afterAll(async () => {
    await registry.close();
    await audit.close();
    await events.close();
    await pool.end();
    await dropSchema(source);
    await target.drop();
  });

  it('renders every required field, signed by that HSM\'s key, and re-issuing shows the same facts', async () => {
    const first = await service.issue('hsm-eu', 'alice');
    const identity = await registry.get('hsm-eu').hsm.pool.identity();
    const text = (await pdftotext(first.pdf)).replace(/\s+/g, ' ');
    for (const required of [
      'HSM id: hsm-eu',
      'Jurisdiction: eu',
      'Environment: sovereign',
      'Certification: FIPS 140-3 certificate #4821 (declared)',
      'Certification: Common Criteria EAL4+ BSI-DSZ-CC-1234 (declared)',
      `Manufacturer: ${identity.manufacturer}`,
      `Model: ${identity.model}`,
      `Serial number: ${identity.serialNumber}`,
      `Firmware version: ${identity.firmwareVersion}`,
      `Firmware digest (SHA-256): ${first.facts.firmwareDigest.value}`,
      `Statement SHA-256: ${first.statementSha256}`,
      'Verification log',
      'VALID',
      'BEGIN PUBLIC KEY',
      'HsmInstanceRegistered',
    ]) {
      expect(text).toContain(required);
    }
    // The signature in the PDF is the one in the JSON, and it verifies with the HSM's attestation key.
    const json = JSON.parse(first.json.toString('utf8')) as { facts: unknown; signature: { der: string }; attestationKey: { publicKeyPem: string; fingerprint: string } };
    expect(json.attestationKey.publicKeyPem).toBe(await registry.get('hsm-eu').hsm.attestationSigner.publicKeyPem());
    expect(text.replace(/ /g, '')).toContain(json.signature.der);
    expect(first.bundleSha256).toBe(createHash('sha256').update(first.pdf).digest('hex'));

    const again = await service.issue('hsm-eu', 'bob');
    expect(JSON.stringify(again.facts)).toBe(JSON.stringify(first.facts));
    expect(again.statementSha256).toBe(first.statementSha256);
    expect(again.anchor.id).not.toBe(first.anchor.id);
  });

  it('appends the bundle\'s SHA-256 to the ledger, provable by an inclusion proof', async () => {
    const issued = await service.issue('hsm-eu', 'carol');
    const head = issued.anchor.globalPosition;
    const store = new ProjectionStore(target.dataSource);
    const ledger = new LedgerStore(target.dataSource, 'kms.test/ledger', SoftwareAttestationSigner.generate(), systemClock);
    const runner = new ProjectionRunner(store, events, new PostgresAuditFeed(pool, testAuditSealer()), ledger, systemClock, undefined, { checkpointIntervalMs: 0, pollIntervalMs: 20, retryDelayMs: 50 });
    runner.start();
    try {
      await runner.waitFor({ events: head }, 20_000);
    } finally {
      await runner.stop();
    }
    await ledger.checkpointIfGrown('events');
    const proof = await ledger.inclusion('events', issued.anchor.id);
    const record = eventLeafRecord(issued.anchor);
    expect(JSON.stringify(record)).toContain(issued.bundleSha256);
    const checkpoint = await ledger.latestCheckpoint('events');
    expect(checkpoint).toBeTruthy();
    const root = checkpoint?.rootHash ?? Buffer.alloc(0);
    const path = proof.path.map((h) => Buffer.from(h, 'hex'));
    expect(verifyInclusion(leafHash(leafData(record)), proof.leafIndex, proof.treeSize, path, root)).toBe(true);
    // A bundle with one changed hash is not in the ledger.
    const forged = { ...record, data: { ...record.data, bundleSha256: createHash('sha256').update('other').digest('hex') } };
    expect(verifyInclusion(leafHash(leafData(forged)), proof.leafIndex, proof.treeSize, path, root)).toBe(false);
  });
});
