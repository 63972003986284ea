import { DEFAULT_JURISDICTION, type Jurisdiction, KmsError, parseJurisdiction } from '@kms/domain';
import { resolve } from 'node:path';
import { ConfigError } from './config-error';
import type { Env } from './env-schema';

/** The master keys that wrap software key material, one per jurisdiction (docs/jurisdictions.md). */
export interface JurisdictionMasterKeysConfig {
  /** KMS_MASTER_KEY_JURISDICTION (default "default"): the jurisdiction of the one KMS_MASTER_KEY / KMS_MASTER_KEY_FILE. */
  primary: Jurisdiction;
  /** KMS_MASTER_KEYS: the other jurisdictions' master keys, each a 0600 file (created at first start in standalone mode). */
  others: Array<{ jurisdiction: Jurisdiction; path: string }>;
}

function jurisdictionOf(variable: string, value: unknown, field: string): Jurisdiction {
  try {
    return parseJurisdiction(value, field);
  } catch (e) {
    if (e instanceof KmsError) throw new ConfigError(variable, e.message);
    throw e;
  }
}

/**
 * KMS_MASTER_KEY_JURISDICTION and KMS_MASTER_KEYS (a JSON object: jurisdiction -> path of a file
 * holding that jurisdiction's master key, e.g. {"eu":"/run/secrets/kms-eu.key"}). Without them the
 * one master key is the `default` jurisdiction's, as before jurisdictions existed.
 */
export function loadJurisdictionMasterKeys(env: Env, cwd: string): JurisdictionMasterKeysConfig {
  const primary = env['KMS_MASTER_KEY_JURISDICTION'] ? jurisdictionOf('KMS_MASTER_KEY_JURISDICTION', env['KMS_MASTER_KEY_JURISDICTION'], 'KMS_MASTER_KEY_JURISDICTION') : DEFAULT_JURISDICTION;
  const text = env['KMS_MASTER_KEYS'];
  if (!text) return { primary, others: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError('KMS_MASTER_KEYS', 'is not valid JSON (expected an object: jurisdiction -> path of its master key file)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('KMS_MASTER_KEYS', 'must be a JSON object: jurisdiction -> path of its master key file');
  }
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length > 16) throw new ConfigError('KMS_MASTER_KEYS', 'declares more than 16 jurisdictions');
  const seen = new Set<string>([primary]);
  return {
    primary,
    others: entries.map(([name, path]) => {
      const jurisdiction = jurisdictionOf('KMS_MASTER_KEYS', name, 'KMS_MASTER_KEYS');
      if (seen.has(jurisdiction)) {
        throw new ConfigError('KMS_MASTER_KEYS', `${jurisdiction}: ${jurisdiction === primary ? 'is the jurisdiction of KMS_MASTER_KEY (KMS_MASTER_KEY_JURISDICTION)' : 'is declared twice'}`);
      }
      seen.add(jurisdiction);
      // A path, never the key itself: a secret in this JSON would end up wherever the environment is shown.
      if (typeof path !== 'string' || path.trim() === '') throw new ConfigError('KMS_MASTER_KEYS', `${jurisdiction}: must be the path of a file holding the master key (base64 of 32 bytes)`);
      return { jurisdiction, path: resolve(cwd, path) };
    }),
  };
}
