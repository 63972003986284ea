import { resolve } from 'node:path';

/** A configuration problem, naming the environment variable at fault. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

/** A value that must never be logged. `toJSON`/`toString` hide it. */
export class Secret<T> {
  constructor(private readonly value: T) {}
  reveal(): T {
    return this.value;
  }
  toJSON(): string {
    return '[secret]';
  }
  toString(): string {
    return '[secret]';
  }
}

export interface Address {
  host: string;
  port: number;
}

/** The PKCS#11 HSM behind protection level HSM and the attestation key. Never log `pin`. */
export type HsmConfig =
  | { enabled: false }
  | {
      enabled: true;
      /** KMS_HSM_MODULE: path of the PKCS#11 module. Default /usr/lib/softhsm/libsofthsm2.so. */
      modulePath: string;
      /** KMS_HSM_TOKEN_LABEL (default "kms") or KMS_HSM_SLOT (index among the slots holding a token); not both. */
      token: { kind: 'label'; label: string } | { kind: 'slot'; index: number };
      /** KMS_HSM_PIN (the user PIN) or KMS_HSM_PIN_FILE (a 0600 file); in standalone mode <stateDir>/hsm/user.pin. */
      pin: { kind: 'env'; value: Secret<string> } | { kind: 'file'; path: string };
      /** KMS_HSM_SESSIONS: logged-in sessions kept open for concurrent requests, 1 to 64. Default 4. */
      sessions: number;
      /**
       * SOFTHSM2_CONF, passed through: SoftHSM2 reads its configuration path from it when the module is
       * initialised. In standalone mode, default <stateDir>/hsm/softhsm2.conf. Ignored by other modules.
       */
      softhsm2Conf?: string;
      /**
       * Standalone mode on the state folder's token (neither SOFTHSM2_CONF nor a PIN given): create the
       * SoftHSM2 token under <stateDir>/hsm on first start (ensureSoftHsmToken).
       */
      provisionSoftHsmToken: boolean;
    };

/** The whole configuration, built once from the environment and validated at boot. */
export interface KmsConfig {
  /** gRPC listen address of the key service. KMS_GRPC_ADDRESS, default 127.0.0.1:50051. */
  grpc: Address;
  /** HTTP listen address (health, metrics, compliance API). KMS_HTTP_ADDRESS, default 127.0.0.1:8080. */
  http: Address;
  postgres: {
    /** KMS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/kms. */
    url: string;
    /** KMS_DATABASE_SCHEMA, default "public". */
    schema: string;
  };
  /** KMS_REDIS_URL, default redis://127.0.0.1:6379. */
  redisUrl: string;
  eventStore:
    | { kind: 'postgres' }
    | { kind: 'eventstoredb'; connectionString: Secret<string> };
  /** KMS_STATE_DIR, default ./.kms-state: master key (standalone), SoftHSM2 token, bootstrap credentials. */
  stateDir: string;
  /** KMS_MASTER_KEY (base64 of 32 bytes) or KMS_MASTER_KEY_FILE; in standalone mode, created on first start. */
  masterKey: { kind: 'env'; value: Secret<string> } | { kind: 'file'; path: string };
  /** KMS_STANDALONE=1: all apps in one process, state created on first start. */
  standalone: boolean;
  /** KMS_AUDIT_MAX_BATCH: most audit records made durable in one commit. Default 512. */
  auditMaxBatch: number;
  /** KMS_DESTRUCTION_SWEEP_SECONDS: how often due version destructions run in-process (0 disables). Default 60. */
  destructionSweepSeconds: number;
  /** KMS_HSM_ENABLED (default: true in standalone mode, false otherwise) and the HSM's settings. */
  hsm: HsmConfig;
  /**
   * KMS_BOOTSTRAP_CREDENTIAL_FILE: where the first administrator's credential is written (mode 0600) on
   * first start. Unset: it is printed once to standard output.
   */
  bootstrapCredentialFile?: string;
}

type Env = Record<string, string | undefined>;

function parseAddress(env: Env, variable: string, fallback: string): Address {
  const raw = env[variable] ?? fallback;
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 0 || port > 65535) throw new ConfigError(variable, `must be host:port, got "${raw}"`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

function parseInteger(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(variable, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

function parseUrl(env: Env, variable: string, fallback: string, protocols: string[]): string {
  const raw = env[variable] ?? fallback;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(variable, 'is not a valid URL');
  }
  if (!protocols.includes(u.protocol)) throw new ConfigError(variable, `must use ${protocols.join(' or ')}`);
  return raw;
}

function parseBoolean(env: Env, variable: string, fallback: boolean): boolean {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(variable, `must be true or false, got "${raw}"`);
}

function parseHsm(env: Env, cwd: string, standalone: boolean, stateDir: string): HsmConfig {
  if (!parseBoolean(env, 'KMS_HSM_ENABLED', standalone)) return { enabled: false };
  const modulePath = env['KMS_HSM_MODULE'] ?? '/usr/lib/softhsm/libsofthsm2.so';
  if (modulePath.trim() === '') throw new ConfigError('KMS_HSM_MODULE', 'is empty; expected the path of a PKCS#11 module');

  let token: Extract<HsmConfig, { enabled: true }>['token'];
  if (env['KMS_HSM_SLOT'] && env['KMS_HSM_TOKEN_LABEL']) {
    throw new ConfigError('KMS_HSM_SLOT', 'set either KMS_HSM_SLOT or KMS_HSM_TOKEN_LABEL, not both');
  } else if (env['KMS_HSM_SLOT']) {
    token = { kind: 'slot', index: parseInteger(env, 'KMS_HSM_SLOT', 0, 0, 1023) };
  } else {
    const label = env['KMS_HSM_TOKEN_LABEL'] ?? 'kms';
    // PKCS#11 token labels are 32 bytes, blank padded.
    if (label.trim() === '' || Buffer.byteLength(label) > 32) throw new ConfigError('KMS_HSM_TOKEN_LABEL', 'must be 1 to 32 bytes');
    token = { kind: 'label', label };
  }

  let pin: Extract<HsmConfig, { enabled: true }>['pin'];
  const stateToken = resolve(stateDir, 'hsm');
  if (env['KMS_HSM_PIN'] && env['KMS_HSM_PIN_FILE']) {
    throw new ConfigError('KMS_HSM_PIN', 'set either KMS_HSM_PIN or KMS_HSM_PIN_FILE, not both');
  } else if (env['KMS_HSM_PIN']) pin = { kind: 'env', value: new Secret(env['KMS_HSM_PIN']) };
  else if (env['KMS_HSM_PIN_FILE']) pin = { kind: 'file', path: resolve(cwd, env['KMS_HSM_PIN_FILE']) };
  else if (standalone) pin = { kind: 'file', path: resolve(stateToken, 'user.pin') };
  else throw new ConfigError('KMS_HSM_PIN_FILE', 'the HSM user PIN is required: set KMS_HSM_PIN_FILE or KMS_HSM_PIN (or KMS_HSM_ENABLED=false)');

  const conf = env['SOFTHSM2_CONF'] ? resolve(cwd, env['SOFTHSM2_CONF']) : standalone ? resolve(stateToken, 'softhsm2.conf') : undefined;
  return {
    enabled: true,
    modulePath: resolve(cwd, modulePath),
    token,
    pin,
    sessions: parseInteger(env, 'KMS_HSM_SESSIONS', 4, 1, 64),
    ...(conf ? { softhsm2Conf: conf } : {}),
    provisionSoftHsmToken: standalone && !env['SOFTHSM2_CONF'] && !env['KMS_HSM_PIN'] && !env['KMS_HSM_PIN_FILE'],
  };
}

/** Build and validate the configuration. Throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): KmsConfig {
  const standalone = env['KMS_STANDALONE'] === '1' || env['KMS_STANDALONE'] === 'true';
  const stateDir = resolve(cwd, env['KMS_STATE_DIR'] ?? '.kms-state');
  const schema = env['KMS_DATABASE_SCHEMA'] ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new ConfigError('KMS_DATABASE_SCHEMA', 'must be a lower-case SQL identifier');

  const storeKind = env['KMS_EVENT_STORE'] ?? (env['EVENTSTORE_CONNECTION_STRING'] ? 'eventstoredb' : 'postgres');
  let eventStore: KmsConfig['eventStore'];
  if (storeKind === 'postgres') eventStore = { kind: 'postgres' };
  else if (storeKind === 'eventstoredb') {
    const cs = env['EVENTSTORE_CONNECTION_STRING'];
    if (!cs) throw new ConfigError('EVENTSTORE_CONNECTION_STRING', 'is required when KMS_EVENT_STORE=eventstoredb');
    eventStore = { kind: 'eventstoredb', connectionString: new Secret(cs) };
  } else throw new ConfigError('KMS_EVENT_STORE', 'must be "postgres" or "eventstoredb"');

  let masterKey: KmsConfig['masterKey'];
  if (env['KMS_MASTER_KEY'] && env['KMS_MASTER_KEY_FILE']) {
    throw new ConfigError('KMS_MASTER_KEY', 'set either KMS_MASTER_KEY or KMS_MASTER_KEY_FILE, not both');
  } else if (env['KMS_MASTER_KEY']) masterKey = { kind: 'env', value: new Secret(env['KMS_MASTER_KEY']) };
  else if (env['KMS_MASTER_KEY_FILE']) masterKey = { kind: 'file', path: resolve(cwd, env['KMS_MASTER_KEY_FILE']) };
  else if (standalone) masterKey = { kind: 'file', path: resolve(stateDir, 'master.key') };
  else throw new ConfigError('KMS_MASTER_KEY_FILE', 'a master key is required: set KMS_MASTER_KEY_FILE or KMS_MASTER_KEY (or run in standalone mode)');

  return {
    grpc: parseAddress(env, 'KMS_GRPC_ADDRESS', '127.0.0.1:50051'),
    http: parseAddress(env, 'KMS_HTTP_ADDRESS', '127.0.0.1:8080'),
    postgres: { url: parseUrl(env, 'KMS_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/kms', ['postgres:', 'postgresql:']), schema },
    redisUrl: parseUrl(env, 'KMS_REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    eventStore,
    stateDir,
    masterKey,
    standalone,
    auditMaxBatch: parseInteger(env, 'KMS_AUDIT_MAX_BATCH', 512, 1, 10_000),
    destructionSweepSeconds: parseInteger(env, 'KMS_DESTRUCTION_SWEEP_SECONDS', 60, 0, 86_400),
    hsm: parseHsm(env, cwd, standalone, stateDir),
    ...(env['KMS_BOOTSTRAP_CREDENTIAL_FILE'] ? { bootstrapCredentialFile: resolve(cwd, env['KMS_BOOTSTRAP_CREDENTIAL_FILE']) } : {}),
  };
}

/** Injection token for KmsConfig. */
export const KMS_CONFIG = Symbol('KMS_CONFIG');
