import { createHash } from 'node:crypto';
import type { AuditRecord, AuditRecordItem } from '../ports/audit-log.port';

/**
 * Tracking of the ciphertexts (wrapped data keys included) handed out under DATA_PROTECTION keys, so a
 * version is retired only once nothing handed out under it is left (policy: "retain data protection
 * keys until all ciphertext ... has been re-keyed").
 *
 * What is kept is a reference, never contents: the first 16 bytes of the SHA-256 of the ciphertext,
 * which says nothing about the plaintext or the data key. The references travel in the audit
 * record of the call that handed out or moved the ciphertext (AuditRecord.ciphertexts), and the
 * audit log applies them in the same commit as the record: a tracked ciphertext exists exactly when
 * its audit record is durable, and the table can be rebuilt from the audit trail. A reference moves
 * once: re-encrypting the same ciphertext twice cannot release a version twice.
 */

/** The non-secret reference of a ciphertext: hex of the first 16 bytes of its SHA-256. */
export function ciphertextRef(ciphertext: Buffer): string {
  return createHash('sha256').update(ciphertext).digest().subarray(0, 16).toString('hex');
}

/** Where a tracked ciphertext lives. */
export interface TrackedVersion {
  keyId: string;
  version: number;
}

/**
 * Net effect of some audit records on the tracking, in record order: `track` maps a reference to the
 * version now holding it, `release` lists references that left (and were not tracked again after).
 */
export interface TrackingChanges {
  track: Map<string, TrackedVersion>;
  release: Set<string>;
}

const REF = /^[0-9a-f]{32}$/;

/** Tracking changes carried by audit records (only successful calls count). Pure. */
export function trackingChanges(records: readonly AuditRecord[]): TrackingChanges {
  const track = new Map<string, TrackedVersion>();
  const release = new Set<string>();
  const move = ({ outcome, ciphertexts }: AuditRecord | AuditRecordItem): void => {
    if (outcome !== 'SUCCESS' || !ciphertexts) return;
    const { released, handedOut } = ciphertexts;
    if (released && REF.test(released)) {
      track.delete(released);
      release.add(released);
    }
    if (!handedOut || !REF.test(handedOut.ref)) return;
    release.delete(handedOut.ref);
    track.set(handedOut.ref, { keyId: handedOut.keyId, version: handedOut.version });
  };
  for (const r of records) {
    // A batch call's items move their ciphertexts one by one, in batch order (what its expanded
    // records say, read from the items in place: the flush runs this for every batch it commits).
    if (r.items && r.items.length > 0) r.items.forEach(move);
    else move(r);
  }
  return { track, release };
}

/** How many tracked ciphertexts each version of a key still holds (versions with none are absent). */
export interface OutstandingCiphertexts {
  outstanding(keyId: string): Promise<ReadonlyMap<number, number>>;
}
export const OUTSTANDING_CIPHERTEXTS = Symbol('OUTSTANDING_CIPHERTEXTS');
