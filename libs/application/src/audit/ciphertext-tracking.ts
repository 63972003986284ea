import { createHash } from 'node:crypto';
import type { AuditRecord } from '../ports/audit-log.port';

/**
 * Tracking of the ciphertexts (wrapped data keys included) handed out under DATA_PROTECTION keys, so a
 * version is retired only once nothing handed out under it is left (policy: "retain data protection
 * keys until all ciphertext ... has been re-keyed").
 *
 * What is kept is a reference, never contents: the first 16 bytes of the SHA-256 of the ciphertext,
 * which says nothing about the plaintext or the data key. The references travel in the audit
 * record of the call that handed out or moved the ciphertext (`details.ciphertextRef`,
 * `details.sourceCiphertextRef`), and the audit log applies them in the same commit as the record:
 * a tracked ciphertext exists exactly when its audit record is durable, and the table can be rebuilt
 * from the audit trail. A reference moves once: re-encrypting the same ciphertext twice cannot
 * release a version twice.
 */

/** Audit detail naming the ciphertext a successful call handed out. */
export const CIPHERTEXT_REF = 'ciphertextRef';
/** Audit detail naming the ciphertext a successful ReEncrypt took in (released from its version). */
export const SOURCE_CIPHERTEXT_REF = 'sourceCiphertextRef';

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

function refDetail(details: AuditRecord['details'], name: string): string | undefined {
  const v = details?.[name];
  return typeof v === 'string' && /^[0-9a-f]{32}$/.test(v) ? v : undefined;
}

/** Tracking changes carried by audit records (only successful calls count). Pure. */
export function trackingChanges(records: readonly AuditRecord[]): TrackingChanges {
  const track = new Map<string, TrackedVersion>();
  const release = new Set<string>();
  for (const r of records) {
    if (r.outcome !== 'SUCCESS') continue;
    const released = refDetail(r.details, SOURCE_CIPHERTEXT_REF);
    if (released) {
      track.delete(released);
      release.add(released);
    }
    const tracked = refDetail(r.details, CIPHERTEXT_REF);
    if (!tracked) continue;
    // ReEncrypt records name the source key; the new ciphertext lives under the destination.
    const keyId = typeof r.details?.['destinationKeyId'] === 'string' ? r.details['destinationKeyId'] : r.keyId;
    const version = typeof r.details?.['destinationKeyVersion'] === 'number' ? r.details['destinationKeyVersion'] : r.keyVersion;
    if (keyId === undefined || version === undefined) continue;
    release.delete(tracked);
    track.set(tracked, { keyId, version });
  }
  return { track, release };
}

/** How many tracked ciphertexts each version of a key still holds (versions with none are absent). */
export interface OutstandingCiphertexts {
  outstanding(keyId: string): Promise<ReadonlyMap<number, number>>;
}
export const OUTSTANDING_CIPHERTEXTS = Symbol('OUTSTANDING_CIPHERTEXTS');
