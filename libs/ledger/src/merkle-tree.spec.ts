import { createHash } from 'node:crypto';
import {
  appendToEdge,
  consistencyProof,
  consistencyProofRanges,
  EMPTY_TREE_ROOT,
  inclusionProof,
  inclusionProofRanges,
  leafHash,
  nodeHash,
  rangeHash,
  rangeNodes,
  rootHash,
  type StoredNode,
  verifyConsistency,
  verifyInclusion,
} from './merkle-tree';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Buffer => Buffer.from(s, 'hex');

// RFC 6962 reference data (certificate-transparency / transparency-dev testonly constants).
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => leafHash(unhex(h)));
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_INCLUSION = [
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];
const CT_CONSISTENCY = [
  { first: 2, second: 8, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { first: 6, second: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { first: 2, second: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];

/** An independent Merkle Tree Hash: bottom-up, promoting the odd node, as RFC 9162 §2.1.1 also allows computing it. */
function independentRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? createHash('sha256').update(Buffer.of(1)).update(level[i]).update(level[i + 1]).digest() : level[i]);
    }
    level = next;
  }
  return level[0];
}

const many = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from(`leaf-${i}`)));

describe('RFC 9162 Merkle tree', () => {
  it('matches the published roots for every tree size 0..8', () => {
    expect(hex(EMPTY_TREE_ROOT)).toBe(CT_ROOTS[0]);
    for (let n = 0; n <= 8; n++) expect(hex(rootHash(CT_LEAVES.slice(0, n)))).toBe(CT_ROOTS[n]);
  });

  it('hashes leaves and nodes with the 0x00 / 0x01 prefixes', () => {
    expect(hex(leafHash(Buffer.alloc(0)))).toBe(CT_ROOTS[1]);
    expect(hex(nodeHash(CT_LEAVES[0], CT_LEAVES[1]))).toBe(CT_ROOTS[2]);
  });

  it.each(CT_INCLUSION)('produces and verifies the published inclusion proof of leaf $index in size $size', ({ index, size, proof }) => {
    expect(inclusionProof(CT_LEAVES, index, size).map(hex)).toEqual(proof);
    expect(verifyInclusion(CT_LEAVES[index], index, size, proof.map(unhex), unhex(CT_ROOTS[size]))).toBe(true);
  });

  it.each(CT_CONSISTENCY)('produces and verifies the published consistency proof $first -> $second', ({ first, second, proof }) => {
    expect(consistencyProof(CT_LEAVES, first, second).map(hex)).toEqual(proof);
    expect(verifyConsistency(first, second, unhex(CT_ROOTS[first]), unhex(CT_ROOTS[second]), proof.map(unhex))).toBe(true);
  });

  it('agrees with an independent bottom-up implementation for sizes 0..40', () => {
    for (let n = 0; n <= many.length; n++) expect(hex(rootHash(many.slice(0, n)))).toBe(hex(independentRoot(many.slice(0, n))));
  });

  it('verifies every inclusion proof and rejects a flipped byte, a wrong index and a truncated proof', () => {
    for (let n = 1; n <= many.length; n++) {
      const root = rootHash(many.slice(0, n));
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(many, i, n);
        expect(verifyInclusion(many[i], i, n, proof, root)).toBe(true);
        if (proof.length > 0) {
          const flipped = proof.map((p) => Buffer.from(p));
          flipped[0][5] ^= 0x01;
          expect(verifyInclusion(many[i], i, n, flipped, root)).toBe(false);
          expect(verifyInclusion(many[i], i, n, proof.slice(0, -1), root)).toBe(false);
          expect(verifyInclusion(many[i], (i + 1) % n, n, proof, root)).toBe(false);
        }
      }
    }
  });

  it('verifies every consistency proof and rejects tampered ones', () => {
    for (let n = 1; n <= many.length; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(many, m, n);
        const r1 = rootHash(many.slice(0, m));
        const r2 = rootHash(many.slice(0, n));
        expect(verifyConsistency(m, n, r1, r2, proof)).toBe(true);
        if (proof.length > 0) {
          const flipped = proof.map((p) => Buffer.from(p));
          flipped[flipped.length - 1][0] ^= 0x80;
          expect(verifyConsistency(m, n, r1, r2, flipped)).toBe(false);
          expect(verifyConsistency(m, n, r1, r2, proof.slice(0, -1))).toBe(false);
        }
      }
    }
  });

  it('detects a rewritten history: a reordered or truncated log is not consistent with the earlier root', () => {
    const before = rootHash(many.slice(0, 10));
    const reordered = [many[1], many[0], ...many.slice(2, 20)];
    expect(verifyConsistency(10, 20, before, rootHash(reordered), consistencyProof(reordered, 10, 20))).toBe(false);
    const withoutOne = [...many.slice(0, 4), ...many.slice(5, 21)];
    expect(verifyConsistency(10, 20, before, rootHash(withoutOne), consistencyProof(withoutOne, 10, 20))).toBe(false);
    expect(() => consistencyProof(many.slice(0, 9), 10, 20)).toThrow(RangeError);
  });
});

describe('proofs from stored perfect subtrees (rangeNodes, appendToEdge)', () => {
  const leaves = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
  // Every perfect subtree, as the projector stores them while appending one batch at a time.
  const stored = new Map<string, Buffer>();
  let edge: StoredNode[] = [];
  for (let size = 0; size < leaves.length; size += 7) {
    const batch = leaves.slice(size, size + 7);
    batch.forEach((h, i) => stored.set(`0/${size + i}`, h));
    const appended = appendToEdge(size, edge, batch);
    edge = appended.edge;
    for (const n of appended.completed) stored.set(`${n.level}/${n.index}`, n.hash);
  }
  const hashOf = ([start, end]: readonly [number, number]) => rangeHash(rangeNodes(start, end).map((n) => stored.get(`${n.level}/${n.index}`) as Buffer));

  it('gives every tree size the root rootHash computes from all leaves', () => {
    for (let n = 1; n <= leaves.length; n++) expect(hashOf([0, n])).toEqual(rootHash(leaves.slice(0, n)));
    expect(rangeHash(edge.map((n) => n.hash))).toEqual(rootHash(leaves));
  });

  it('gives the same inclusion and consistency proofs as the proofs over all leaves', () => {
    for (let n = 1; n <= leaves.length; n++) {
      for (let i = 0; i < n; i++) expect(inclusionProofRanges(i, n).map(hashOf)).toEqual(inclusionProof(leaves, i, n));
      for (let m = 0; m <= n; m++) expect(consistencyProofRanges(m, n).map(hashOf)).toEqual(consistencyProof(leaves, m, n));
    }
  });

  it('reads O(log n) subtrees for a proof in a tree of a hundred million leaves', () => {
    const ranges = inclusionProofRanges(12_345_678, 100_000_000);
    const nodes = ranges.flatMap(([s, e]) => rangeNodes(s, e));
    expect(ranges.length).toBeLessThanOrEqual(27);
    expect(nodes.length).toBeLessThanOrEqual(2 * 27);
  });
});
