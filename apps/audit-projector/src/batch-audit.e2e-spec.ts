import { randomUUID } from 'node:crypto';
import { type OcsfExportManifest, ProjectionRunner, verifyOcsfExport } from '@kms/audit-projector';
import { SoftwareAttestationSigner } from '@kms/audit-projector/testing';
import type { KmsClient } from '@kms/contracts';
import { readStoredEventsAfter } from '@kms/event-store-postgres';
import type { BootstrapEnrolment } from '@kms/key-service-grpc';
import type { RunningKeyService } from '@kms/key-service-app';
import { type AuditLeafRecord, BUNDLE_FILES, leafData, leafHash, readTar, verifyCheckpointNote, verifyEvidenceBundle, verifyInclusion } from '@kms/ledger';
import { readStoredAuditRows } from '@kms/persistence-postgres';
import type { HttpApp } from '@kms/platform';
import type { ConsolePeople } from '@kms/testing';
import { type ProjectorStack, startProjectorStack } from './projector-stack.e2e-helpers';

/*
 * Issue 23, "Batches": a batch call is one audit_records row (one seal, one commit), and everything
 * downstream still sees each item: rm_audit_log and the compliance query page item by item, the
 * evidence bundle carries every item with its own inclusion proof, the OCSF export has one event per
 * item, and the ledger reconciliation matches each item's leaf to its row.
 */
describe('batch audit records end to end: gRPC batch → one row → one record per item downstream', () => {
  const signer = SoftwareAttestationSigner.generate();
  let stack: ProjectorStack;
  let service: RunningKeyService;
  let projector: HttpApp;
  let client: KmsClient;
  let bootstrap: BootstrapEnrolment;
  let people: ConsolePeople;
  let readModels: string;

  beforeAll(async () => {
    stack = await startProjectorStack({
      schemaPrefix: 'kms_batch_e2e',
      origin: 'kms.e2e.test/ledger',
      signer,
      projectorDeps: ({ runtime: { pool, auditSealer, sealedHistory } }) => ({
        reconciliation: {
          source: { eventsAfter: (p, n) => readStoredEventsAfter(pool, p, n), auditRecordsAfter: async (p, n) => (await readStoredAuditRows(pool, p, n)).rows },
          sealer: (sealedHistory as NonNullable<typeof sealedHistory>).sealer,
          auditSealer,
        },
      }),
    });
    ({ service, projector, client, bootstrap, people, readModels } = stack);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('BatchEncrypt and BatchDecrypt of 20 items: one row each; 20 records in the read model, the query, the bundle (proven) and the export; reconciliation clean, and an edited item named', async () => {
    const admin = (await people.signIn(bootstrap.identityId)).accessToken;
    const call = <T = Record<string, unknown>>(method: Parameters<KmsClient['call']>[0], body: Record<string, unknown>, t: string, requestId = randomUUID()) =>
      client.call<T & Record<string, unknown>>(method, body, { token: t, requestId });
    const app = await call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: 'batch-service', kind: 'WORKLOAD', roles: [] }, admin);
    const auditor = await call<{ client_id: string }>('RegisterIdentity', { name: 'dana-auditor', kind: 'HUMAN', roles: ['compliance-officer'] }, admin);
    const key = await call<{ key_id: string }>(
      'CreateKey',
      { tenant: 'acme', name: 'batched', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', policy: { grants: { [app.client_id]: { permissions: ['ENCRYPT', 'DECRYPT'] } } } },
      admin,
    );
    const appToken = (await client.call<{ access_token: string }>('IssueToken', { client_id: app.client_id, client_secret: app.client_secret })).access_token;

    // Item 5 names a key the workload may not use: refused on its own, the rest go through.
    const foreign = randomUUID();
    const encryptId = randomUUID();
    const enc = await call<{ results: Array<{ response?: { ciphertext: Buffer }; error?: { error_code: string } }> }>(
      'BatchEncrypt',
      { items: Array.from({ length: 20 }, (_, i) => ({ key_id: i === 5 ? foreign : key.key_id, plaintext: Buffer.from(`item ${i}`) })) },
      appToken,
      encryptId,
    );
    expect(enc.results[5]?.error).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    const ciphertexts = enc.results.filter((r) => r.response).map((r) => r.response?.ciphertext as Buffer);
    expect(ciphertexts).toHaveLength(19);
    const decryptId = randomUUID();
    await call('BatchDecrypt', { items: ciphertexts.map((ciphertext) => ({ ciphertext })) }, appToken, decryptId);

    const rows = await service.runtime.pool.query<{ request_id: string; position: string; outcome: string; n: number }>(
      'SELECT request_id, "position"::text AS position, outcome, jsonb_array_length(items) AS n FROM audit_records WHERE request_id = ANY($1) ORDER BY "position"',
      [[encryptId, decryptId]],
    );
    expect(rows.rows.map((r) => [r.request_id, r.outcome, r.n])).toEqual([
      [encryptId, 'FAILURE', 20],
      [decryptId, 'SUCCESS', 19],
    ]);

    // The projection reaches the decrypt row's position (its last item's).
    await projector.app.get(ProjectionRunner).waitFor({ audit: BigInt(rows.rows[1]?.position as string) }, 20_000);
    const officer = (await people.signIn(auditor.client_id)).accessToken;
    const get = (path: string) => fetch(`${projector.url}${path}`, { headers: { authorization: `Bearer ${officer}` } });

    // The compliance query pages item by item (cursor = the item's position), in batch order.
    type AuditItem = { id: string; position: string; outcome: string; key_id: string | null; error_code: string | null; request_id: string; details: Record<string, unknown>; leaf_index: string };
    const paged: AuditItem[] = [];
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page = (await (await get(`/v1/audit-records?operation=BatchEncrypt&limit=7${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { items: AuditItem[]; nextCursor: string | null };
      paged.push(...page.items);
      cursor = page.nextCursor;
    }
    expect(paged.map((r) => r.details['batchIndex'])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(new Set(paged.map((r) => r.id)).size).toBe(20);
    expect(paged.every((r) => r.request_id === encryptId && r.details['batchSize'] === 20)).toBe(true);
    expect(paged[5]).toMatchObject({ outcome: 'DENIED', error_code: 'PERMISSION_DENIED', key_id: foreign });
    expect(paged.filter((r) => r.outcome === 'SUCCESS' && r.key_id === key.key_id)).toHaveLength(19);
    const byKey = (await (await get(`/v1/audit-records?keyId=${key.key_id}&operation=BatchDecrypt&limit=100`)).json()) as { items: AuditItem[] };
    expect(byKey.items).toHaveLength(19);

    // The evidence bundle carries every item of both calls, each proven included, and verifies.
    const bundle = await get(`/v1/evidence/keys/${key.key_id}`);
    expect(bundle.status).toBe(200);
    const files = readTar(Buffer.from(await bundle.arrayBuffer()));
    const bundled = JSON.parse((files.get(BUNDLE_FILES.auditRecords) as Buffer).toString()) as AuditLeafRecord[];
    expect(bundled.filter((r) => r.operation === 'BatchEncrypt')).toHaveLength(19);
    expect(bundled.filter((r) => r.operation === 'BatchDecrypt')).toHaveLength(19);
    const verification = verifyEvidenceBundle(files, await signer.publicKeyPem());
    expect(verification.failedFiles).toEqual([]);
    expect(verification.ok).toBe(true);
    expect(verification.findings).toContainEqual(expect.objectContaining({ ok: true, file: BUNDLE_FILES.auditRecords, message: expect.stringMatching(/^\d+ record\(s\) proven included/) }));

    // An item is addressable by its own id: its inclusion proof verifies against the signed checkpoint.
    const item = bundled.find((r) => r.id === paged[3]?.id) as AuditLeafRecord;
    const proof = (await (await get(`/v1/ledger/audit/inclusion?recordId=${item.id}`)).json()) as { leafIndex: number; treeSize: number; path: string[]; checkpoint: string };
    expect(proof.leafIndex).toBe(Number(paged[3]?.leaf_index));
    const note = verifyCheckpointNote(proof.checkpoint, await signer.publicKeyPem());
    if (!note.valid) throw new Error(`checkpoint note: ${note.reason}`);
    expect(verifyInclusion(leafHash(leafData(item)), proof.leafIndex, proof.treeSize, proof.path.map((h) => Buffer.from(h, 'hex')), note.checkpoint.rootHash)).toBe(true);

    // The OCSF export has one event per item, and it verifies against the signed ledger.
    // A window that is closed and projected: the export calls' own records fall after it.
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date().toISOString();
    const head = await service.runtime.pool.query<{ h: string }>('SELECT max("position")::text AS h FROM audit_records');
    await projector.app.get(ProjectionRunner).waitFor({ audit: BigInt(head.rows[0]?.h ?? '0') }, 20_000);
    const extract = Buffer.from(await (await get(`/v1/audit/export?from=${from}&to=${to}`)).arrayBuffer());
    const manifest = (await (await get(`/v1/audit/export/manifest?from=${from}&to=${to}`)).json()) as OcsfExportManifest;
    const events = extract.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { api: { operation: string; request: { uid: string } } });
    expect(events.filter((e) => e.api.request.uid === encryptId)).toHaveLength(20);
    expect(verifyOcsfExport(extract, manifest, await signer.publicKeyPem())).toEqual([]);

    // The reconciliation matches each item's leaf to its row: nothing to report.
    const report = (await (await fetch(`${projector.url}/v1/ledger/reconciliations`, { method: 'POST', headers: { authorization: `Bearer ${officer}` } })).json()) as {
      ok: boolean;
      divergences: unknown[];
    };
    expect(report.divergences).toEqual([]);
    expect(report.ok).toBe(true);
    // What it matched: one audit leaf per item of the two rows, under the item's own id.
    const itemIds = [...paged, ...byKey.items].map((r) => r.id);
    const leaves = await service.runtime.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${readModels}".ledger_leaves WHERE log = 'audit' AND record_id = ANY($1)`, [itemIds]);
    expect(leaves.rows[0]?.n).toBe(39);

    // An insider turns the denied item into a success in the sealed row: the row's seal and that item's leaf both name it.
    const batchRow = await service.runtime.pool.query<{ id: string }>('SELECT id::text FROM audit_records WHERE request_id = $1', [encryptId]);
    const owner = await service.runtime.pool.connect();
    try {
      await owner.query('BEGIN; ALTER TABLE audit_records DISABLE TRIGGER USER');
      await owner.query(`UPDATE audit_records SET items = jsonb_set(items, '{5,outcome}', '"SUCCESS"') WHERE request_id = $1`, [encryptId]);
      await owner.query('ALTER TABLE audit_records ENABLE TRIGGER USER; COMMIT');
    } finally {
      owner.release();
    }
    const tampered = (await (await fetch(`${projector.url}/v1/ledger/reconciliations`, { method: 'POST', headers: { authorization: `Bearer ${officer}` } })).json()) as {
      ok: boolean;
      divergences: Array<{ source: string; position: string; recordId: string; problem: string }>;
    };
    expect(tampered.ok).toBe(false);
    expect(tampered.divergences).toContainEqual({ source: 'audit_records', position: rows.rows[0]?.position, recordId: batchRow.rows[0]?.id, problem: 'the record differs from what was sealed (edited or moved)' });
    expect(tampered.divergences).toContainEqual({ source: 'audit_records', position: paged[5]?.position, recordId: paged[5]?.id, problem: expect.stringMatching(/^differs from ledger leaf \d+ \(edited after it was ledgered\)$/) });
    expect(tampered.divergences).toHaveLength(2);
  }, 60_000);
});
