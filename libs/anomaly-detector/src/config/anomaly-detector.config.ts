import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { AnomalyConfigError, DEFAULT_ANOMALY_RULES, parseAnomalyRulesConfig, type AnomalyRulesConfig } from '@kms/anomaly-rules';
import { type AnomalyDetectorConfig, ConfigError } from '@kms/config';

/** The detector's runtime settings, with its credential read: what the detector is built from. */
export interface AnomalyDetectorSettings extends Omit<AnomalyDetectorConfig, 'credential' | 'kmsAddress'> {
  /** KMS_ANOMALY_KMS_ADDRESS, or the local key service's: key service gRPC address for containment. */
  kmsAddress: string;
  /** The detector's workload credential; both null: findings are recorded but nothing is contained. */
  clientId: string | null;
  clientSecret: string | null;
}

/**
 * The credential in KMS_ANOMALY_CREDENTIAL_FILE. Like the master key and the scheduler's credential, a file
 * that group or others can read is refused: the secret lets its holder suspend identities.
 */
function readCredentialFile(path: string): { clientId: string; clientSecret: string } {
  const variable = 'KMS_ANOMALY_CREDENTIAL_FILE';
  let text: string;
  try {
    if ((statSync(path).mode & 0o077) !== 0) throw new ConfigError(variable, 'the credential file must not be readable by group or others (chmod 600)');
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(variable, `cannot read ${path}`);
  }
  let parsed: { client_id?: unknown; client_secret?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new ConfigError(variable, 'is not JSON ({"client_id": ..., "client_secret": ...})');
  }
  if (typeof parsed.client_id !== 'string' || typeof parsed.client_secret !== 'string' || !parsed.client_id || !parsed.client_secret) {
    throw new ConfigError(variable, 'must hold "client_id" and "client_secret" strings');
  }
  return { clientId: parsed.client_id, clientSecret: parsed.client_secret };
}

/**
 * The detector's settings from its configuration section (libs/config): the credential file is read
 * here, at boot, and `defaultKmsAddress` (the local key service) is used unless KMS_ANOMALY_KMS_ADDRESS is set.
 */
export function anomalyDetectorSettings(section: AnomalyDetectorConfig, defaultKmsAddress: string): AnomalyDetectorSettings {
  const { credential, kmsAddress, ...rest } = section;
  const resolved =
    credential === null
      ? { clientId: null, clientSecret: null }
      : credential.kind === 'file'
        ? readCredentialFile(credential.path)
        : { clientId: credential.value.clientId, clientSecret: credential.value.clientSecret.reveal() };
  return { ...rest, kmsAddress: kmsAddress ?? defaultKmsAddress, ...resolved };
}

/** Load the rules file (JSON) or the defaults; a bad file names the field. */
export function loadRulesFile(path: string | null): AnomalyRulesConfig {
  if (path === null) return DEFAULT_ANOMALY_RULES;
  const reason = (e: unknown): string => (typeof e === 'object' && e !== null && 'message' in e ? String(e.message) : String(e));
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('KMS_ANOMALY_RULES_FILE', `cannot read ${path}: ${reason(e)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('KMS_ANOMALY_RULES_FILE', `cannot read ${path} as JSON: ${reason(e)}`);
  }
  try {
    return parseAnomalyRulesConfig(doc);
  } catch (e) {
    // The field comes first so an operator sees at once what to fix, then the file it is in.
    if (e instanceof AnomalyConfigError) throw new ConfigError('KMS_ANOMALY_RULES_FILE', `${e.message} (in ${path})`);
    throw e;
  }
}

/** Short fingerprint of a rules configuration (sha256 of its canonical JSON): which rules are in force. */
export function rulesVersion(config: AnomalyRulesConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** What a reload changes: the running detector (AnomalyDetectorService implements it). */
export interface RulesReloadTarget {
  /** rulesVersion() of the rules in force. */
  readonly rulesVersion: string;
  /** Put new rules in force for the records evaluated from now on. */
  reconfigure(config: AnomalyRulesConfig): void;
  /** A reload was refused (the previous rules stay); for metrics. */
  rulesRefused(message: string): void;
}

/** The outcome of one reload. */
export type RulesReloadResult = { outcome: 'applied' | 'unchanged'; version: string } | { outcome: 'refused'; error: string; version: string };

/** How reloads are triggered. */
export interface RulesWatchOptions {
  /** Reload on SIGHUP (default true). */
  signal?: boolean;
  /** Poll the file's mtime every this many ms and reload when it changes; 0 turns it off (default 2000). */
  fileIntervalMs?: number;
}

/**
 * Re-reads and validates the rules file and hands valid rules to the detector. A file that does not
 * parse or validate is refused with the field named, and the rules in force stay, so a typo never
 * disables detection. Reloads are synchronous: the detector never sees half a configuration.
 */
export class RulesReloader {
  private readonly onSignal = (): void => void this.reload('SIGHUP');
  private watchingSignal = false;
  private poll: NodeJS.Timeout | undefined;
  /** The file's identity (inode, size, mtime) when last looked at; a change triggers a reload. */
  private seen = '';

  constructor(
    private readonly path: string | null,
    private readonly target: RulesReloadTarget,
    private readonly log: (level: 'log' | 'error', m: string) => void,
  ) {}

  /** Re-read the file now; `trigger` is only for the log line. */
  reload(trigger = 'request', options: { quietIfUnchanged?: boolean } = {}): RulesReloadResult {
    const from = this.path ?? 'defaults';
    const current = this.target.rulesVersion;
    let next: AnomalyRulesConfig;
    try {
      next = loadRulesFile(this.path);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      this.target.rulesRefused(error);
      this.log('error', `anomaly rules not reloaded (${trigger}), version ${current} stays in force: ${error}`);
      return { outcome: 'refused', error, version: current };
    }
    const version = rulesVersion(next);
    if (version === current) {
      if (!options.quietIfUnchanged) this.log('log', `anomaly rules unchanged (${trigger}): version ${version}`);
      return { outcome: 'unchanged', version };
    }
    this.target.reconfigure(next);
    this.log('log', `anomaly rules reloaded from ${from} (${trigger}): version ${current} -> ${version}`);
    return { outcome: 'applied', version };
  }

  /** Start reloading on SIGHUP and/or when the file changes. */
  watch(options: RulesWatchOptions = {}): this {
    const interval = options.fileIntervalMs ?? 2000;
    if ((options.signal ?? true) && !this.watchingSignal) {
      process.on('SIGHUP', this.onSignal);
      this.watchingSignal = true;
    }
    const path = this.path;
    if (path !== null && interval > 0 && !this.poll) {
      // Look at the file first, then read it: a change after the look is seen by the next poll, one
      // before it by this read, so no edit made while the watch starts is missed. Polling by path
      // (not fs.watch) also sees a file replaced by rename, as editors and config management do.
      this.seen = fileIdentity(statSync(path, { throwIfNoEntry: false }));
      this.reload('watch start', { quietIfUnchanged: true });
      let busy = false;
      this.poll = setInterval(() => {
        if (busy) return;
        busy = true;
        // Nothing here can reject (a failed stat is "no file"); void marks the chain as handled here.
        void stat(path)
          .then(fileIdentity, () => fileIdentity(undefined))
          .then((now) => {
            if (now !== this.seen && this.poll) {
              this.seen = now;
              this.reload('file change');
            }
          })
          .finally(() => (busy = false));
      }, interval);
      this.poll.unref();
    }
    return this;
  }

  /** Stop watching (the signal handler and the file poll). */
  close(): void {
    if (this.watchingSignal) process.off('SIGHUP', this.onSignal);
    this.watchingSignal = false;
    clearInterval(this.poll);
    this.poll = undefined;
  }
}

function fileIdentity(s: { ino: number; size: number; mtimeMs: number } | undefined): string {
  return s ? `${s.ino}:${s.size}:${s.mtimeMs}` : 'missing';
}

/**
 * Reload the rules on SIGHUP and when the file changes (see RulesReloader). Returns a function that
 * stops watching.
 */
export function watchRules(path: string | null, target: RulesReloadTarget, log: (level: 'log' | 'error', m: string) => void, options: RulesWatchOptions = {}): () => void {
  const reloader = new RulesReloader(path, target, log).watch(options);
  return () => reloader.close();
}
