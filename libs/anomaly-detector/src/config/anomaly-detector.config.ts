import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { DEFAULT_ANOMALY_RULES, parseAnomalyRulesConfig, type AnomalyRulesConfig } from '@kms/anomaly-rules';
import { ConfigError } from '@kms/config';

/** The detector's runtime settings (environment), beside the rules file. */
export interface AnomalyDetectorSettings {
  /** KMS_ANOMALY_RULES_FILE: JSON rules file; defaults apply when unset. */
  rulesFile: string | null;
  /** KMS_ANOMALY_KMS_ADDRESS: key service gRPC address for containment. */
  kmsAddress: string;
  /** KMS_ANOMALY_CLIENT_ID / KMS_ANOMALY_CLIENT_SECRET (secret): the detector's workload credential. */
  clientId: string | null;
  clientSecret: string | null;
  /** KMS_ANOMALY_KAFKA_BROKERS: comma-separated; no broker, no Kafka notices. */
  kafkaBrokers: string[];
  /** KMS_ANOMALY_POLL_MS (default 500) and KMS_ANOMALY_BATCH (default 1000). */
  pollMs: number;
  batchSize: number;
}

function int(env: NodeJS.ProcessEnv, name: string, d: number, min: number): number {
  const v = env[name];
  if (v === undefined || v === '') return d;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(name, `must be an integer >= ${min}`);
  return n;
}

/** Read and validate the detector's environment. */
export function loadAnomalyDetectorSettings(env: NodeJS.ProcessEnv, defaultKmsAddress: string): AnomalyDetectorSettings {
  const clientId = env['KMS_ANOMALY_CLIENT_ID'] || null;
  const clientSecret = env['KMS_ANOMALY_CLIENT_SECRET'] || null;
  if ((clientId === null) !== (clientSecret === null)) throw new ConfigError(clientId ? 'KMS_ANOMALY_CLIENT_SECRET' : 'KMS_ANOMALY_CLIENT_ID', 'set both the client id and secret, or neither');
  return {
    rulesFile: env['KMS_ANOMALY_RULES_FILE'] || null,
    kmsAddress: env['KMS_ANOMALY_KMS_ADDRESS'] || defaultKmsAddress,
    clientId,
    clientSecret,
    kafkaBrokers: (env['KMS_ANOMALY_KAFKA_BROKERS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    pollMs: int(env, 'KMS_ANOMALY_POLL_MS', 500, 10),
    batchSize: int(env, 'KMS_ANOMALY_BATCH', 1000, 1),
  };
}

/** Load the rules file (JSON) or the defaults; a bad file names the field. */
export function loadRulesFile(path: string | null): AnomalyRulesConfig {
  if (path === null) return DEFAULT_ANOMALY_RULES;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError('KMS_ANOMALY_RULES_FILE', `cannot read ${path} as JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseAnomalyRulesConfig(doc);
}

/**
 * Reload the rules on SIGHUP and when the file changes. A bad new file is reported and the running
 * rules stay, so a typo never disables detection. Returns a function that stops watching.
 */
export function watchRules(path: string | null, apply: (c: AnomalyRulesConfig) => void, log: (level: 'log' | 'error', m: string) => void): () => void {
  const reload = () => {
    try {
      apply(loadRulesFile(path));
      log('log', `anomaly rules reloaded from ${path ?? 'defaults'}`);
    } catch (e) {
      log('error', `anomaly rules not reloaded, keeping the previous ones: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  process.on('SIGHUP', reload);
  if (path !== null) watchFile(path, { interval: 2000 }, reload);
  return () => {
    process.off('SIGHUP', reload);
    if (path !== null) unwatchFile(path, reload);
  };
}
