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
