import { randomUUID } from 'node:crypto';
import { systemClock } from '@kms/application';
import { inclusionProof, leafHash, consistencyProof, rootHash, verifyInclusion } from '@kms/ledger';
import type { PositionedAuditRecord } from '@kms/persistence-postgres';
import { SoftwareAttestationSigner } from '../attestation/software-attestation-signer';
import { ProjectionStore } from '../projections/projection-store';
import { readModelTestSchema, type ReadModelTestSchema } from '../testing';
import { LedgerStore } from './ledger-store';
import { backfillLedgerNodes } from './ledger-nodes.migration';

const schemas: ReadModelTestSchema[] = [];
afterAll(async () => {
  for (const s of schemas) await s.drop();
});

function records(from: number, count: number): PositionedAuditRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    position: BigInt(from + i),
    id: randomUUID(),
    time: new Date(Date.UTC(2026, 11, 5, 4, 0, from + i)),
    requestId: `req-${from + i}`,
    operation: 'Encrypt',
    keyId: randomUUID(),
    keyVersion: 1,
    actor: 'svc',
    outcome: 'SUCCESS',
  }));
}

async function allLeafHashes(t: ReadModelTestSchema): Promise<Buffer[]> {
  return (await t.pool.query<{ h: Buffer }>(`SELECT leaf_hash AS h FROM ledger_leaves WHERE log = 'audit' ORDER BY leaf_index`)).rows.map((r) => r.h);
}

describe('ledger_nodes: the stored subtrees proofs read', () => {
  it('the projector stores every perfect subtree its batches complete, the same the SQL backfill makes, and proofs from them equal proofs over all leaves', async () => {
    const t = await readModelTestSchema('ap_ledger_nodes');
    schemas.push(t);
    const store = new ProjectionStore(t.dataSource);
    const ledger = new LedgerStore(t.dataSource, 'kms.test/ledger', SoftwareAttestationSigner.generate(), systemClock);
    // Uneven batches, so subtrees are completed across batch boundaries.
    let next = 1;
    for (const n of [3, 7, 1, 12, 5, 9]) {
      await store.projectAuditRecords(records(next, n));
      next += n;
      if (next > 20) await ledger.checkpointIfGrown('audit');
    }
    const first = await ledger.latestCheckpoint('audit');
    await store.projectAuditRecords(records(next, 6));
    const latest = await ledger.checkpointIfGrown('audit');
    const leaves = await allLeafHashes(t);
    expect(latest.treeSize).toBe(43);
    expect(latest.rootHash).toEqual(rootHash(leaves));

    const stored = (await t.pool.query('SELECT level, idx::text, hash FROM ledger_nodes ORDER BY level, idx')).rows;
    expect(stored.length).toBe(43 - 4); // one per completed pair: n minus the pieces of 43 = 32+8+2+1
    await backfillLedgerNodes((sql) => t.pool.query(sql).then((r) => r.rows));
    expect((await t.pool.query('SELECT level, idx::text, hash FROM ledger_nodes ORDER BY level, idx')).rows).toEqual(stored);

    for (let i = 0; i < latest.treeSize; i++) {
      const proof = await ledger.inclusionPath('audit', i, latest.treeSize);
      expect(proof.path).toEqual(inclusionProof(leaves, i, latest.treeSize));
      expect(verifyInclusion(leafHash(Buffer.alloc(0)), i, latest.treeSize, proof.path, latest.rootHash)).toBe(false);
      expect(verifyInclusion(proof.leafHash, i, latest.treeSize, proof.path, latest.rootHash)).toBe(true);
    }
    const consistency = await ledger.consistency('audit', first?.treeSize ?? 0, latest.treeSize);
    expect(consistency.path).toEqual(consistencyProof(leaves, first?.treeSize ?? 0, latest.treeSize).map((h) => h.toString('hex')));
  });

  it('a ledger without stored subtrees (leaves from before ledger_nodes) still gets the right root and proofs, hashed from the leaves', async () => {
    const t = await readModelTestSchema('ap_ledger_nodes_missing');
    schemas.push(t);
    await new ProjectionStore(t.dataSource).projectAuditRecords(records(1, 11));
    await t.pool.query('ALTER TABLE ledger_nodes DISABLE TRIGGER ledger_nodes_append_only');
    await t.pool.query('DELETE FROM ledger_nodes');
    const ledger = new LedgerStore(t.dataSource, 'kms.test/ledger', SoftwareAttestationSigner.generate(), systemClock);
    const leaves = await allLeafHashes(t);
    expect((await ledger.checkpointIfGrown('audit')).rootHash).toEqual(rootHash(leaves));
    expect((await ledger.inclusionPath('audit', 6, 11)).path).toEqual(inclusionProof(leaves, 6, 11));
  });
});
