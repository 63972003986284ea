import { ConfigError, type KmsConfig } from '@kms/config';
import { ensureMasterKeyFile, loadMasterKey, type MasterKey, MasterKeyError } from '@kms/key-backend-software';

/**
 * The master keys of the jurisdictions of KMS_MASTER_KEYS (the primary KMS_MASTER_KEY is loaded apart):
 * in standalone mode a missing file is created (0600) at first start, with a notice. A key that cannot
 * be loaded stops the boot naming KMS_MASTER_KEYS and the jurisdiction, never the key.
 */
export async function loadJurisdictionMasterKeys(config: KmsConfig, notices: string[]): Promise<Map<string, MasterKey>> {
  const keys = new Map<string, MasterKey>();
  for (const { jurisdiction, path } of config.masterKeys.others) {
    try {
      if (config.standalone && (await ensureMasterKeyFile(path))) {
        notices.push(`created a new master key for jurisdiction "${jurisdiction}" at ${path} (mode 0600); back it up: without it no ${jurisdiction} software key can be unwrapped`);
      }
      keys.set(jurisdiction, await loadMasterKey({ kind: 'file', path }));
    } catch (e) {
      if (e instanceof MasterKeyError) throw new ConfigError('KMS_MASTER_KEYS', `${jurisdiction}: ${e.message.slice(e.variable.length + 2)}`);
      throw e;
    }
  }
  return keys;
}
