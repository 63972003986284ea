import { createHmac, createSecretKey, hash, type KeyObject, timingSafeEqual } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * An audit record's seal, made by the writer under the audit append lock: `hash` is the SHA-256 of
 * the record's canonical JSON (RFC 8785: its position and every stored column as it reads back, a
 * batch call's items included) and
 * of the previous record's hash in position order (`prev`, null for the first), so the whole audit
 * trail is one hash chain; `mac` is an HMAC-SHA256 of `hash` under a key the database never sees.
 */
export interface AuditSeal {
  prev: string | null;
  hash: string;
  mac: string;
}

/** What a seal covers: an audit_records row as PostgreSQL gives it back (column names, nulls included). */
export interface SealableAuditRow {
  position: bigint;
  id: string;
  time: Date;
  request_id: string;
  operation: string;
  key_id: string | null;
  key_version: number | null;
  actor: string;
  actor_role: string | null;
  outcome: string;
  error_code: string | null;
  source_address: string | null;
  details: Record<string, unknown> | null;
  /** A batch call's items (StoredAuditItem); null or absent for any other record. */
  items?: unknown[] | null;
}

/** A stored row with its seal columns (null for a row written before sealing, or forged). */
export interface StoredAuditRow extends SealableAuditRow {
  seal_prev: string | null;
  seal_hash: string | null;
  seal_mac: string | null;
}

/** A stored audit record whose seal is missing, wrong, or does not chain: audit_records was written to by someone else. */
export class AuditIntegrityError extends Error {
  override readonly name = 'AuditIntegrityError';
  constructor(
    readonly position: bigint,
    readonly recordId: string,
    readonly problem: string,
  ) {
    super(`audit trail integrity: record ${recordId} at position ${position}: ${problem}`);
  }
}

const HEX = /^[0-9a-f]+$/;

/** A string, number or null as RFC 8785 writes it (ECMAScript's JSON.stringify for these). */
function scalar(value: string | number | null | undefined): string {
  return value === null || value === undefined ? 'null' : JSON.stringify(value);
}

/** A nested value (details, items) as RFC 8785 writes it. */
function nested(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('an audit record holds a value canonical JSON cannot write');
  return text;
}

/**
 * What a seal hashes: RFC 8785 canonical JSON of the row's position (as text), every stored column
 * and `prev`. The top-level members are written in their canonical order (names sorted by UTF-16 code
 * units, fixed here) without sorting them for every record; details and items, whose names vary, go
 * through the canonicalize library. The same bytes canonicalize gives for the whole object
 * (audit-seal.spec.ts checks that over many rows); a row without items hashes as rows did before the
 * column existed.
 */
export function canonicalSealBody(r: SealableAuditRow, prev: string | null): string {
  const items = r.items !== undefined && r.items !== null ? `,"items":${nested(r.items)}` : '';
  return (
    `{"actor":${scalar(r.actor)},"actor_role":${scalar(r.actor_role)},"details":${nested(r.details)},"error_code":${scalar(r.error_code)}` +
    `,"id":${scalar(r.id)}${items},"key_id":${scalar(r.key_id)},"key_version":${scalar(r.key_version)},"operation":${scalar(r.operation)}` +
    `,"outcome":${scalar(r.outcome)},"position":${scalar(r.position.toString())},"prev":${scalar(prev)},"request_id":${scalar(r.request_id)}` +
    `,"source_address":${scalar(r.source_address)},"time":${scalar(r.time.toISOString())}}`
  );
}

function sameHex(a: string, b: string): boolean {
  if (!HEX.test(a) || !HEX.test(b)) return false;
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Makes and checks audit seals with one key (derived from the master key with AUDIT_SEAL_KEY_PURPOSE). */
export class AuditSealer {
  private readonly observers = new Set<(violation: AuditIntegrityError) => void>();

  /**
   * Call `observer` with every violation a check of this sealer finds, before the check throws (the
   * process's integrity alarm listens here). An observer must not throw. Returns the unsubscribe.
   */
  onViolation(observer: (violation: AuditIntegrityError) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  private refuse(violation: AuditIntegrityError): never {
    for (const observe of this.observers) {
      try {
        observe(violation);
      } catch {
        // An alarm that fails must not turn a refusal into something else.
      }
    }
    throw violation;
  }

  /** The seal key as a KeyObject: an HMAC made from one skips importing raw key bytes every record. */
  private readonly key: KeyObject;

  constructor(key: Buffer) {
    if (key.length < 32) throw new RangeError('the seal key must be at least 32 bytes');
    this.key = createSecretKey(key);
  }

  private hashOf(r: SealableAuditRow, prev: string | null): string {
    return hash('sha256', canonicalSealBody(r, prev), 'hex');
  }

  /**
   * Whether `mac` is this key's MAC of `hash` (the seal's MAC alone, not what it covers): tells a
   * history sealed under another key (the seal key changed) from one this key sealed.
   */
  madeWithThisKey(hash: string, mac: string): boolean {
    return sameHex(this.macOf(hash), mac);
  }

  private macOf(hash: string): string {
    return createHmac('sha256', this.key).update(hash, 'hex').digest('hex');
  }

  /** The seal of `row` following a record whose hash is `prev` (null: the first record of the trail). */
  seal(row: SealableAuditRow, prev: string | null): AuditSeal {
    const hash = this.hashOf(row, prev);
    return { prev, hash, mac: this.macOf(hash) };
  }

  /**
   * Check one stored row's seal: present, its MAC right, its hash the hash of what is stored. With
   * `prev` given, also that it follows that hash (null: it must be the first record). Returns the seal.
   */
  check(stored: StoredAuditRow, prev?: string | null): AuditSeal {
    const fail = (problem: string): never => this.refuse(new AuditIntegrityError(stored.position, stored.id, problem));
    const { seal_prev: sealPrev, seal_hash: hash, seal_mac: mac } = stored;
    if (typeof hash !== 'string' || typeof mac !== 'string') return fail('the record is not sealed');
    if (!sameHex(this.macOf(hash), mac)) return fail('the seal was not made with the KMS key (forged)');
    if (!sameHex(this.hashOf(stored, sealPrev), hash)) return fail('the record differs from what was sealed (edited or moved)');
    if (prev !== undefined && sealPrev !== prev) {
      return fail(prev === null ? 'the record claims a predecessor but none precedes it (records removed)' : 'the record does not follow the previous one (reordered, removed or inserted)');
    }
    return { prev: sealPrev, hash, mac };
  }

  /**
   * Check rows read in position order, the first following a record whose hash is `prev` (null: the
   * first rows of the trail). Returns the rows before the first bad one and the error for that one.
   */
  checkChain(rows: StoredAuditRow[], prev: string | null): { valid: StoredAuditRow[]; error?: AuditIntegrityError } {
    let link = prev;
    for (let i = 0; i < rows.length; i++) {
      try {
        link = this.check(rows[i] as StoredAuditRow, link).hash;
      } catch (e) {
        if (e instanceof AuditIntegrityError) return { valid: rows.slice(0, i), error: e };
        throw e;
      }
    }
    return { valid: rows };
  }
}
