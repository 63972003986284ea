import { createHash } from 'node:crypto';

/** Size of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** RFC 9162 §2.1.1: the hash of an empty tree is SHA-256 of the empty string. */
export const EMPTY_TREE_ROOT: Buffer = createHash('sha256').digest();

/** RFC 9162 leaf hash: SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.of(0x00)).update(data).digest();
}

/** RFC 9162 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) throw new TypeError('node children must be 32-byte hashes');
  return createHash('sha256').update(Buffer.of(0x01)).update(left).update(right).digest();
}

/** Largest power of two strictly smaller than n (n >= 2): the RFC's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkHashes(hashes: readonly Uint8Array[]): void {
  for (const h of hashes) if (h.length !== HASH_SIZE) throw new TypeError('leaf hashes must be 32 bytes');
}

function subtreeRoot(hashes: readonly Uint8Array[], start: number, end: number): Buffer {
  const n = end - start;
  if (n === 1) return Buffer.from(hashes[start]);
  const k = splitPoint(n);
  return nodeHash(subtreeRoot(hashes, start, start + k), subtreeRoot(hashes, start + k, end));
}

/** Merkle Tree Hash (RFC 9162 §2.1.1) of a list of leaf hashes. */
export function rootHash(leafHashes: readonly Uint8Array[]): Buffer {
  checkHashes(leafHashes);
  return leafHashes.length === 0 ? Buffer.from(EMPTY_TREE_ROOT) : subtreeRoot(leafHashes, 0, leafHashes.length);
}

function path(index: number, hashes: readonly Uint8Array[], start: number, end: number): Buffer[] {
  const n = end - start;
  if (n === 1) return [];
  const k = splitPoint(n);
  return index < k
    ? [...path(index, hashes, start, start + k), subtreeRoot(hashes, start + k, end)]
    : [...path(index - k, hashes, start + k, end), subtreeRoot(hashes, start, start + k)];
}

/** Inclusion proof (RFC 9162 §2.1.3.1) of leaf `index` in the tree of the first `treeSize` leaf hashes. */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number, treeSize: number = leafHashes.length): Buffer[] {
  checkHashes(leafHashes);
  if (!Number.isInteger(treeSize) || treeSize < 1 || treeSize > leafHashes.length) throw new RangeError(`tree size ${treeSize} is out of range`);
  if (!Number.isInteger(index) || index < 0 || index >= treeSize) throw new RangeError(`leaf index ${index} is not in a tree of size ${treeSize}`);
  return path(index, leafHashes, 0, treeSize);
}

function subproof(m: number, hashes: readonly Uint8Array[], start: number, end: number, complete: boolean): Buffer[] {
  const n = end - start;
  if (m === n) return complete ? [] : [subtreeRoot(hashes, start, end)];
  const k = splitPoint(n);
  return m <= k
    ? [...subproof(m, hashes, start, start + k, complete), subtreeRoot(hashes, start + k, end)]
    : [...subproof(m - k, hashes, start + k, end, false), subtreeRoot(hashes, start, start + k)];
}

/** Consistency proof (RFC 9162 §2.1.4.1) between tree sizes `first` and `second`. */
export function consistencyProof(leafHashes: readonly Uint8Array[], first: number, second: number = leafHashes.length): Buffer[] {
  checkHashes(leafHashes);
  if (!Number.isInteger(second) || second < 0 || second > leafHashes.length) throw new RangeError(`tree size ${second} is out of range`);
  if (!Number.isInteger(first) || first < 0 || first > second) throw new RangeError(`first size ${first} must be from 0 to ${second}`);
  if (first === 0 || first === second) return [];
  return subproof(first, leafHashes, 0, second, true);
}

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === HASH_SIZE && b.length === HASH_SIZE && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** Verify an inclusion proof (RFC 9162 §2.1.3.2). Never throws: malformed input is simply not valid. */
export function verifyInclusion(leaf: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Array.isArray(proof) || leaf.length !== HASH_SIZE || root.length !== HASH_SIZE) return false;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (p.length !== HASH_SIZE || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(r, root);
}

/** Verify a consistency proof (RFC 9162 §2.1.4.2). Never throws. */
export function verifyConsistency(first: number, second: number, firstRoot: Uint8Array, secondRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Array.isArray(proof) || firstRoot.length !== HASH_SIZE || secondRoot.length !== HASH_SIZE) return false;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  if (first === second) return proof.length === 0 && sameHash(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0 && sameHash(firstRoot, EMPTY_TREE_ROOT);
  if (proof.length === 0) return false;
  for (const p of proof) if (p.length !== HASH_SIZE) return false;
  let nodes = [...proof];
  // When first is an exact power of two its root is the first node of the path, not part of the proof.
  if ((first & (first - 1)) === 0) nodes = [Buffer.from(firstRoot), ...nodes];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(nodes[0]);
  let sr: Buffer = Buffer.from(nodes[0]);
  for (const c of nodes.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sameHash(fr, firstRoot) && sameHash(sr, secondRoot) && sn === 0;
}

/**
 * A perfect subtree of the ledger: the 2^level leaves from index·2^level on. Level 0 is a leaf.
 * Stored subtrees let proofs read O(log n) hashes instead of every leaf (ledger_nodes).
 */
export interface NodeId {
  level: number;
  index: number;
}

/** A leaf range [start, end) of the tree, as an RFC 9162 proof names its nodes. */
export type LeafRange = readonly [start: number, end: number];

/**
 * The perfect subtrees covering leaves [start, end), left to right, each the largest aligned one that
 * fits: for every range an RFC 9162 proof or root names (start aligned as its recursion makes it),
 * its hash is these subtrees folded from the right (rangeHash).
 */
export function rangeNodes(start: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let p = start;
  while (p < end) {
    let level = 0;
    while (p % 2 ** (level + 1) === 0 && p + 2 ** (level + 1) <= end) level += 1;
    out.push({ level, index: p / 2 ** level });
    p += 2 ** level;
  }
  return out;
}

/** The hash of a range from its rangeNodes' hashes: H(n1, H(n2, … H(nk-1, nk))). */
export function rangeHash(nodes: readonly Uint8Array[]): Buffer {
  if (nodes.length === 0) return Buffer.from(EMPTY_TREE_ROOT);
  let h: Buffer = Buffer.from(nodes[nodes.length - 1]);
  for (let i = nodes.length - 2; i >= 0; i--) h = nodeHash(nodes[i], h);
  return h;
}

function pathRanges(index: number, start: number, end: number): LeafRange[] {
  const n = end - start;
  if (n === 1) return [];
  const k = splitPoint(n);
  return index < k ? [...pathRanges(index, start, start + k), [start + k, end]] : [...pathRanges(index - k, start + k, end), [start, start + k]];
}

/** The ranges whose hashes make the inclusion proof of leaf `index` in a tree of `treeSize` (as inclusionProof). */
export function inclusionProofRanges(index: number, treeSize: number): LeafRange[] {
  if (!Number.isSafeInteger(treeSize) || treeSize < 1) throw new RangeError(`tree size ${treeSize} is out of range`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) throw new RangeError(`leaf index ${index} is not in a tree of size ${treeSize}`);
  return pathRanges(index, 0, treeSize);
}

function subproofRanges(m: number, start: number, end: number, complete: boolean): LeafRange[] {
  const n = end - start;
  if (m === n) return complete ? [] : [[start, end]];
  const k = splitPoint(n);
  return m <= k
    ? [...subproofRanges(m, start, start + k, complete), [start + k, end]]
    : [...subproofRanges(m - k, start + k, end, false), [start, start + k]];
}

/** The ranges whose hashes make the consistency proof between `first` and `second` (as consistencyProof). */
export function consistencyProofRanges(first: number, second: number): LeafRange[] {
  if (!Number.isSafeInteger(second) || second < 0) throw new RangeError(`tree size ${second} is out of range`);
  if (!Number.isSafeInteger(first) || first < 0 || first > second) throw new RangeError(`first size ${first} must be from 0 to ${second}`);
  if (first === 0 || first === second) return [];
  return subproofRanges(first, 0, second, true);
}

/** A stored perfect subtree: where it is and its hash. */
export interface StoredNode extends NodeId {
  hash: Buffer;
}

/**
 * Append leaf hashes to a tree of `size` leaves whose right edge (the rangeNodes(0, size), with
 * their hashes) is `edge`: returns the new edge and every perfect subtree of level ≥ 1 the append
 * completed, the nodes to store.
 */
export function appendToEdge(size: number, edge: readonly StoredNode[], leaves: readonly Uint8Array[]): { edge: StoredNode[]; completed: StoredNode[] } {
  checkHashes(leaves);
  const out = [...edge];
  const completed: StoredNode[] = [];
  leaves.forEach((leaf, i) => {
    out.push({ level: 0, index: size + i, hash: Buffer.from(leaf) });
    for (;;) {
      const right = out[out.length - 1];
      const left = out[out.length - 2];
      if (!left || !right || left.level !== right.level) break;
      const merged = { level: left.level + 1, index: left.index / 2, hash: nodeHash(left.hash, right.hash) };
      out.splice(out.length - 2, 2, merged);
      completed.push(merged);
    }
  });
  return { edge: out, completed };
}
