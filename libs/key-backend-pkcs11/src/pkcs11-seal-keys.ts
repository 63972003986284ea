import { randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { findObjects } from './pkcs11-objects';
import type { Pkcs11Session, Pkcs11SessionPool } from './pkcs11-session-pool';

/** CKA_LABEL of the HSM secret the history seal keys are derived from. */
export const SEAL_ROOT_KEY_LABEL = 'kms-seal-v1';

const SEAL_ROOT_KEY_BYTES = 32;
const OBJECT_ID_BYTES = 16;

/**
 * Derivations in flight per session pool and label: one at a time, so a process whose components ask
 * at once on a fresh token creates one root, not one each (the roots would differ, and so the keys).
 */
const inFlight = new WeakMap<Pkcs11SessionPool, Map<string, Promise<unknown>>>();

function oneAtATime<T>(pool: Pkcs11SessionPool, label: string, work: () => Promise<T>): Promise<T> {
  let byLabel = inFlight.get(pool);
  if (!byLabel) inFlight.set(pool, (byLabel = new Map()));
  const previous = byLabel.get(label) ?? Promise.resolve();
  const next = previous.then(work, work);
  byLabel.set(label, next);
  return next;
}

/**
 * The keys that seal history (events, audit records) when an HSM is configured: each is
 * HMAC-SHA256(seal root, purpose), computed **inside the HSM** under a generic secret labelled
 * `kms-seal-v1` (sensitive, never extractable, created on first use). So the seal keys exist only
 * with the HSM: the master key file, a backup of it, or the database give nobody the means to seal a
 * forged row. The derived keys live in the process's memory (every reader checks seals), as keys
 * derived from the master key do without an HSM.
 */
export class Pkcs11SealKeySource {
  constructor(
    private readonly pool: Pkcs11SessionPool,
    private readonly label: string = SEAL_ROOT_KEY_LABEL,
    /**
     * Whether a missing root is created. Only the process that provisions the KMS (the key service,
     * the migrate step) creates it; the others find it or fail, so two processes starting at once on a
     * fresh token cannot each create one (their keys would differ).
     */
    private readonly create = true,
  ) {}

  /** The seal key for `purpose` (e.g. `event-seal-v1`), 32 bytes. */
  async derive(purpose: string): Promise<Buffer> {
    if (!/^[a-z0-9-]{1,64}$/.test(purpose)) throw new RangeError(`purpose must be lower-case letters, digits and dashes, got "${purpose}"`);
    return oneAtATime(this.pool, this.label, () =>
      this.pool.withSession('seal-key.derive', async (s) => {
        const root = await this.rootOn(s);
        s.module.C_SignInit(s.handle, { mechanism: pkcs11js.CKM_SHA256_HMAC }, root);
        return Buffer.from(await s.module.C_SignAsync(s.handle, Buffer.from(purpose, 'utf8'), Buffer.alloc(32)));
      }),
    );
  }

  private async rootOn(s: Pkcs11Session): Promise<Buffer> {
    const found = this.find(s);
    if (found) return found;
    if (!this.create) {
      throw new Error(`the HSM has no seal root ${this.label}: it is created by the key service or the migrate step (provision) on first start; start that first`);
    }
    const template: pkcs11js.Template = [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
      { type: pkcs11js.CKA_VALUE_LEN, value: SEAL_ROOT_KEY_BYTES },
      { type: pkcs11js.CKA_LABEL, value: this.label },
      { type: pkcs11js.CKA_ID, value: randomBytes(OBJECT_ID_BYTES) },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_SIGN, value: true },
      { type: pkcs11js.CKA_VERIFY, value: true },
      { type: pkcs11js.CKA_ENCRYPT, value: false },
      { type: pkcs11js.CKA_DECRYPT, value: false },
      { type: pkcs11js.CKA_WRAP, value: false },
      { type: pkcs11js.CKA_UNWRAP, value: false },
      { type: pkcs11js.CKA_DERIVE, value: false },
    ];
    await s.module.C_GenerateKeyAsync(s.handle, { mechanism: pkcs11js.CKM_GENERIC_SECRET_KEY_GEN }, template);
    // Found again rather than used as created: two processes creating it at once both settle on the
    // same one (the lowest CKA_ID), so they seal with the same keys.
    const settled = this.find(s);
    if (!settled) throw new Error(`the HSM seal key ${this.label} was created but cannot be found`);
    return settled;
  }

  private find(s: Pkcs11Session): Buffer | undefined {
    const keys = findObjects(s, [
      { type: pkcs11js.CKA_LABEL, value: this.label },
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    ]).filter((o) => o.keyType === pkcs11js.CKK_GENERIC_SECRET);
    keys.sort((a, b) => Buffer.compare(a.id, b.id));
    return keys[0]?.handle;
  }
}
