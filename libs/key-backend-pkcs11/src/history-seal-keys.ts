import type { HsmConfig } from '@kms/config';
import { AUDIT_SEAL_KEY_PURPOSE, EVENT_SEAL_KEY_PURPOSE } from '@kms/key-backend-software';
import { Pkcs11SealKeySource } from './pkcs11-seal-keys';
import { Pkcs11SessionPool } from './pkcs11-session-pool';

/** The keys that seal events and audit records, and where they come from. */
export interface HistorySealKeys {
  events: Buffer;
  audit: Buffer;
  /** `HSM` (derived inside the HSM from `kms-seal-v1`) or `master-key` (derived from the master key). */
  source: 'HSM' | 'master-key';
}

/**
 * The history seal keys: with an HSM (the process's session pool), derived inside it
 * (Pkcs11SealKeySource); without, derived from the master key. Every process that writes or checks
 * history (key service, audit projector, rotation scheduler, anomaly detector) takes its keys from
 * here, so they agree.
 */
export async function historySealKeys(
  hsm: Pkcs11SessionPool | undefined,
  masterKey: { derive(purpose: string): Buffer },
  options: { createRoot?: boolean } = {},
): Promise<HistorySealKeys> {
  if (!hsm) return masterKeySealKeys(masterKey);
  const source = new Pkcs11SealKeySource(hsm, undefined, options.createRoot ?? true);
  return { events: await source.derive(EVENT_SEAL_KEY_PURPOSE), audit: await source.derive(AUDIT_SEAL_KEY_PURPOSE), source: 'HSM' };
}

/**
 * For a process that has no HSM session pool of its own otherwise (rotation scheduler, anomaly
 * detector): open one to derive the seal keys and close it again. Not for a process that keeps an HSM
 * open: closing a pool finalizes the module for the whole process.
 */
export async function historySealKeysOnce(hsm: HsmConfig, masterKey: { derive(purpose: string): Buffer }, options: { createRoot?: boolean } = {}): Promise<HistorySealKeys> {
  if (!hsm.enabled) return masterKeySealKeys(masterKey);
  const pool = new Pkcs11SessionPool({ ...hsm, sessions: 1 });
  try {
    return await historySealKeys(pool, masterKey, options);
  } finally {
    await pool.close();
  }
}

/** The seal keys derived from the master key (no HSM, or the keys an HSM replaced). */
export function masterKeySealKeys(masterKey: { derive(purpose: string): Buffer }): HistorySealKeys {
  return { events: masterKey.derive(EVENT_SEAL_KEY_PURPOSE), audit: masterKey.derive(AUDIT_SEAL_KEY_PURPOSE), source: 'master-key' };
}
