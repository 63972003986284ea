/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-jurisdictions-test.environment.ts
 */
import { createHash, createVerify, randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { IdentityService } from '@kms/application';
import { systemClock } from '@kms/application';
import { complianceIdentity, SoftwareAttestationSigner } from '@kms/audit-projector';
import type { Jurisdiction } from '@kms/domain';
import { canonicalJsonBytes } from '@kms/evidence';
import { EventSealer } from '@kms/event-store';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { HsmInstanceRegistry, historySealKeysOnce, masterKeySealKeys } from '@kms/key-backend-pkcs11';
import { JURISDICTION_TEST_TOKENS, SOFTHSM_MODULE, softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { MasterKey } from '@kms/key-backend-software';
import { loadConfig } from '@kms/config';
import { eventLeafRecord, leafData, leafHash, verifyCheckpointNote, verifyInclusion } from '@kms/ledger';
import { auditMigrations, createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { exitOf, type MainProcess, startMainProcess } from '@kms/testing';
import type { Pool } from 'pg';

// The audit projector deployed alone (apps/audit-projector/src/main.ts as its own process, no key
// service running): it opens the declared HSM instance itself (KMS_HSM_INSTANCES, a SoftHSM2 token
// kms-eu), serves GET /v1/evidence/hsms/{id} signed by that token's own attestation key, records the
// timeline and bundle events with their audit record, and registers legal artifacts too.

const MAIN = resolve(__dirname, 'main.ts');
const url = testDatabaseUrl();
const source = { url, schema: uniqueTestSchema('hsm_alone') };
const masterKeyBytes = randomBytes(32);
const masterKey = MasterKey.fromBytes(masterKeyBytes);
const token = softHsmTestToken();

let pool: Pool;
let events: PostgresEventStore;
let identity: IdentityService;
let bearer: string;
let main: MainProcess;
let projectorUrl: string;

function get(path: string, auth: string = bearer): Promise<Response> {
  return fetch(`${projectorUrl}${path}`, { headers: auth ? { authorization: `Bearer ${auth}` } : {} });
}

beforeAll(async () => {
  await runMigrations(source, [...eventStoreMigrations, ...auditMigrations]);
  pool = createPgPool(source, { max: 4 });
  // Sealed as the projector checks them: the seal keys derived from the same master key (no custody HSM).
  events = new PostgresEventStore(pool, { channel: `kms_events_${source.schema}`.slice(0, 63), pollIntervalMs: 50, sealer: new EventSealer(masterKeySealKeys(masterKey).events) });
  identity = complianceIdentity(events, { tokenSigningKey: masterKey.derive('token-signing-v1'), credentialPepper: masterKey.derive('credential-verifier-v1') }, systemClock);
  const { identity: officer } = await identity.register({ name: 'carol-auditor', kind: 'HUMAN', roles: ['compliance-officer'] }, { actor: 'test-setup', correlationId: randomUUID() });
  bearer = (await identity.issueVerifiedPersonToken(officer.identityId, { webauthnCredentialId: 'test-key-of-carol' })).token;
  main = startMainProcess(MAIN, {
    KMS_HTTP_ADDRESS: '127.0.0.1:0',
    KMS_DATABASE_URL: url,
    KMS_DATABASE_SCHEMA: source.schema,
    KMS_MASTER_KEY: masterKeyBytes.toString('base64'),
    KMS_MASTER_KEY_JURISDICTION: 'eu',
    KMS_LEDGER_ORIGIN: 'kms.hsm-alone.test/ledger',
    SOFTHSM2_CONF: token.confPath,
    KMS_HSM_INSTANCES: JSON.stringify([
      {
        id: 'hsm-eu',
        module: SOFTHSM_MODULE,
        tokenLabel: JURISDICTION_TEST_TOKENS.eu,
        pinFile: token.userPinFile,
        jurisdiction: 'eu',
        provider: 'softhsm2 (sovereign test)',
        environment: 'sovereign',
        certifications: ['FIPS 140-3 certificate #4821 (declared)'],
      },
    ]),
  });
  projectorUrl = await main.url;
}, 90_000);

afterAll(async () => {
  if (main?.child.exitCode === null) {
    const exited = exitOf(main.child);
    main.child.kill('SIGTERM');
    await exited;
  }
  await events?.close();
  await pool?.end();
  await dropSchema(source);
});

describe('the audit projector deployed alone', () => {
  it('opens the declared HSM instance and serves its attestation bundle, signed by that token, anchored in the ledger', async () => {
    expect(main.output()).toContain('HSM instances opened for their attestation bundles: hsm-eu');
    const res = await get('/v1/evidence/hsms/hsm-eu?format=json');
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    const bundle = JSON.parse(body.toString('utf8')) as { facts: { hsm: { id: string; jurisdiction: string; environment: string } } };
    expect(bundle.facts.hsm).toMatchObject({ id: 'hsm-eu', jurisdiction: 'eu', environment: 'sovereign' });
    expect(JSON.stringify(bundle.facts)).toContain(JURISDICTION_TEST_TOKENS.eu);

    // The timeline was recorded by this process (the identity first seen here, then the bundle), each
    // change with its audit record.
    const timeline = (await events.readStream('hsm-hsm-eu')).events;
    expect(timeline.map((e) => e.type)).toEqual(['HsmInstanceRegistered', 'HsmAttestationBundleIssued']);
    const anchor = timeline[1];
    const recordId = res.headers.get('x-kms-ledger-record-id');
    expect(anchor?.id).toBe(recordId);
    expect(anchor?.data['statementSha256']).toBe(res.headers.get('x-kms-statement-sha256'));
    const audited = await pool.query<{ operation: string; outcome: string }>(
      `SELECT operation, outcome FROM audit_records WHERE operation IN ('RecordHsmIdentity', 'IssueHsmAttestationBundle', 'ExportEvidence') ORDER BY "position"`,
    );
    expect(audited.rows).toEqual([
      { operation: 'RecordHsmIdentity', outcome: 'SUCCESS' },
      { operation: 'IssueHsmAttestationBundle', outcome: 'SUCCESS' },
      { operation: 'ExportEvidence', outcome: 'SUCCESS' },
    ]);

    // The PDF of a second call: its hash is the one anchored by its own event.
    const pdfRes = await get('/v1/evidence/hsms/hsm-eu');
    expect(pdfRes.status).toBe(200);
    expect(pdfRes.headers.get('content-type')).toContain('application/pdf');
    const pdf = Buffer.from(await pdfRes.arrayBuffer());
    const pdfAnchor = (await events.readStream('hsm-hsm-eu')).events.find((e) => e.id === pdfRes.headers.get('x-kms-ledger-record-id'));
    expect(pdfAnchor?.data['bundleSha256']).toBe(createHash('sha256').update(pdf).digest('hex'));

    // Its ledger leaf, once this process's next checkpoint (every 10 s) covers it.
    let proof: { leafIndex: number; treeSize: number; path: string[]; checkpoint: string } | undefined;
    const deadline = Date.now() + 40_000;
    while (!proof && Date.now() < deadline) {
      const inclusion = await get(`/v1/ledger/events/inclusion?recordId=${pdfAnchor?.id ?? ''}`);
      if (inclusion.status === 200) proof = (await inclusion.json()) as typeof proof;
      else await new Promise((r) => setTimeout(r, 500));
    }
    if (!proof || !pdfAnchor) throw new Error('no checkpoint covered the bundle event');
    // Against the checkpoint this process signed (its attestation key, derived from the master key: no custody HSM).
    const pem = await SoftwareAttestationSigner.fromSeed(masterKey.derive('audit-attestation-v1')).publicKeyPem();
    const note = verifyCheckpointNote(proof.checkpoint, pem, 'kms.hsm-alone.test/ledger/events');
    if (!note.valid) throw new Error(note.reason);
    expect(verifyInclusion(leafHash(leafData(eventLeafRecord(pdfAnchor))), proof.leafIndex, proof.treeSize, proof.path.map((h) => Buffer.from(h, 'hex')), note.checkpoint.rootHash)).toBe(true);
  }, 90_000);

  it('the statement verifies with the public key the bundle names, the attestation key of the kms-eu token', async () => {
    const res = await get('/v1/evidence/hsms/hsm-eu?format=json');
    const bundle = (await res.json()) as { facts: unknown; statement: { sha256: string }; signature: { der: string }; attestationKey: { publicKeyPem: string; fingerprint: string } };
    const statement = canonicalJsonBytes(bundle.facts);
    expect(createHash('sha256').update(statement).digest('hex')).toBe(bundle.statement.sha256);
    expect(createVerify('sha256').update(statement).verify(bundle.attestationKey.publicKeyPem, Buffer.from(bundle.signature.der, 'base64'))).toBe(true);
    // The same key as the token's own kms-attestation-v1, read here through PKCS#11.
    const registry = new HsmInstanceRegistry([
      {
        id: 'hsm-eu',
        jurisdiction: 'eu' as Jurisdiction,
        provider: 'softhsm2 (sovereign test)',
        environment: 'sovereign',
        certifications: [],
        modulePath: SOFTHSM_MODULE,
        token: { kind: 'label', label: JURISDICTION_TEST_TOKENS.eu },
        pin: { kind: 'file', path: token.userPinFile },
        softhsm2Conf: token.confPath,
      },
    ]);
    try {
      await registry.connect();
      expect(await registry.attestable('hsm-eu').signer.keyFingerprint()).toBe(bundle.attestationKey.fingerprint);
    } finally {
      await registry.close();
    }
  });

  it('registers a legal artifact: the change commits with its audit record through this process', async () => {
    const res = await fetch(`${projectorUrl}/v1/legal-artifacts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jurisdiction: 'eu', kind: 'PROVIDER_STATEMENT', title: 'SoftHSM2 test provider statement', owner: 'legal', retentionLocation: 'contract folder', url: 'https://provider.example/s.pdf', sha256: 'a'.repeat(64) }),
    });
    expect(res.status).toBe(201);
    const { ledgerRecordId } = (await res.json()) as { ledgerRecordId: string };
    // Read back through a sealing store: the event carries a valid seal of the shared key.
    const stored = (await events.readStream('legal-artifacts-eu')).events;
    expect(stored.map((e) => [e.id, e.type])).toEqual([[ledgerRecordId, 'LegalArtifactRegistered']]);
    const audit = await pool.query<{ outcome: string; id: string }>(`SELECT outcome, id FROM audit_records WHERE operation = 'RegisterLegalArtifact'`);
    expect(audit.rows.map((r) => r.outcome)).toEqual(['SUCCESS']);
    expect(stored[0]?.metadata['auditRecordId']).toBe(audit.rows[0]?.id);
  });

  it('refuses a body that is not JSON with 400 MALFORMED_REQUEST naming the body, audited under the caller (HttpRequest)', async () => {
    const requestId = '5f0c3a2e-1b7d-4c8e-9f60-2a4b6c8d0e11';
    const res = await fetch(`${projectorUrl}/v1/legal-artifacts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'x-request-id': requestId },
      body: '{"jurisdiction": "eu", oops',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'MALFORMED_REQUEST', field: 'body' });
    const audit = await pool.query<{ operation: string; error_code: string; actor: string; details: Record<string, unknown> }>(`SELECT operation, error_code, actor, details FROM audit_records WHERE request_id = $1`, [requestId]);
    expect(audit.rows).toEqual([expect.objectContaining({ operation: 'HttpRequest', error_code: 'MALFORMED_REQUEST', actor: expect.not.stringMatching(/^unauthenticated$/), details: expect.objectContaining({ route: 'POST /v1/legal-artifacts' }) })]);
  });
});

describe('the audit projector deployed alone with a custody HSM (KMS_HSM_*) that is also a declared instance', () => {
  const custodySource = { url, schema: uniqueTestSchema('hsm_alone_custody') };
  const custodyKeyBytes = randomBytes(32);
  const custodyMasterKey = MasterKey.fromBytes(custodyKeyBytes);
  const hsmEnv = { KMS_HSM_ENABLED: '1', KMS_HSM_PIN_FILE: token.userPinFile, SOFTHSM2_CONF: token.confPath };
  let custodyPool: Pool;
  let custodyEvents: PostgresEventStore;
  let custodyMain: MainProcess;
  let custodyUrl: string;
  let custodyBearer: string;

  beforeAll(async () => {
    await runMigrations(custodySource, [...eventStoreMigrations, ...auditMigrations]);
    // What the key service or the migrate step does first: the HSM seal root, from which the seal keys derive.
    const sealKeys = await historySealKeysOnce(loadConfig({ KMS_DATABASE_URL: url, KMS_MASTER_KEY: custodyKeyBytes.toString('base64'), ...hsmEnv }).hsm, custodyMasterKey);
    expect(sealKeys.source).toBe('HSM');
    custodyPool = createPgPool(custodySource, { max: 4 });
    custodyEvents = new PostgresEventStore(custodyPool, { channel: `kms_events_${custodySource.schema}`.slice(0, 63), pollIntervalMs: 50, sealer: new EventSealer(sealKeys.events) });
    const ids = complianceIdentity(custodyEvents, { tokenSigningKey: custodyMasterKey.derive('token-signing-v1'), credentialPepper: custodyMasterKey.derive('credential-verifier-v1') }, systemClock);
    const { identity: officer } = await ids.register({ name: 'carol-auditor', kind: 'HUMAN', roles: ['compliance-officer'] }, { actor: 'test-setup', correlationId: randomUUID() });
    custodyBearer = (await ids.issueVerifiedPersonToken(officer.identityId, { webauthnCredentialId: 'test-key-of-carol' })).token;
    custodyMain = startMainProcess(MAIN, {
      KMS_HTTP_ADDRESS: '127.0.0.1:0',
      KMS_DATABASE_URL: url,
      KMS_DATABASE_SCHEMA: custodySource.schema,
      KMS_MASTER_KEY: custodyKeyBytes.toString('base64'),
      KMS_LEDGER_ORIGIN: 'kms.hsm-alone-custody.test/ledger',
      ...hsmEnv,
      KMS_HSM_INSTANCES: JSON.stringify([
        { id: 'hsm-main', module: SOFTHSM_MODULE, tokenLabel: token.label, pinFile: token.userPinFile, jurisdiction: 'eu', provider: 'softhsm2', environment: 'on-premises' },
        { id: 'hsm-eu', module: SOFTHSM_MODULE, tokenLabel: JURISDICTION_TEST_TOKENS.eu, pinFile: token.userPinFile, jurisdiction: 'eu', provider: 'softhsm2', environment: 'sovereign' },
      ]),
    });
    custodyUrl = await custodyMain.url;
  }, 90_000);

  afterAll(async () => {
    if (custodyMain?.child.exitCode === null) {
      const exited = exitOf(custodyMain.child);
      custodyMain.child.kill('SIGTERM');
      await exited;
    }
    await custodyEvents?.close();
    await custodyPool?.end();
    await dropSchema(custodySource);
  });

  it('shares the custody token with the instance declared on it: its bundle key is the key that signs the checkpoints', async () => {
    expect(custodyMain.output()).toContain('attestation key: the HSM key kms-attestation-v1');
    expect(custodyMain.output()).toContain('HSM instances opened for their attestation bundles: hsm-main, hsm-eu');
    const get2 = (path: string) => fetch(`${custodyUrl}${path}`, { headers: { authorization: `Bearer ${custodyBearer}` } });
    const main = (await (await get2('/v1/evidence/hsms/hsm-main?format=json')).json()) as { attestationKey: { publicKeyPem: string; fingerprint: string } };
    const eu = (await (await get2('/v1/evidence/hsms/hsm-eu?format=json')).json()) as { attestationKey: { fingerprint: string } };
    // Two tokens, two attestation keys.
    expect(eu.attestationKey.fingerprint).not.toBe(main.attestationKey.fingerprint);
    let note: string | undefined;
    const deadline = Date.now() + 40_000;
    while (!note && Date.now() < deadline) {
      const res = await get2('/v1/ledger/events/checkpoint');
      if (res.status === 200) note = await res.text();
      else await new Promise((r) => setTimeout(r, 500));
    }
    if (!note) throw new Error('no checkpoint was signed');
    expect(verifyCheckpointNote(note, main.attestationKey.publicKeyPem, 'kms.hsm-alone-custody.test/ledger/events')).toMatchObject({ valid: true });
  }, 90_000);
});
