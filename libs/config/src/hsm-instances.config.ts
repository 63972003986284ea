import { DEFAULT_JURISDICTION, ENVIRONMENT_KINDS, type EnvironmentKind, type Jurisdiction, KmsError, parseEnvironmentKind, parseJurisdiction } from '@kms/domain';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, Secret } from './config-error';
import type { Env } from './env-schema';
import type { HsmConfig } from './kms-config';

type EnabledHsm = Extract<HsmConfig, { enabled: true }>;

/** One PKCS#11 instance with its declared place in the world. Never log `pin`. */
export interface HsmInstanceConfig extends Omit<EnabledHsm, 'enabled'> {
  /** Stable id, `[a-z0-9][a-z0-9-]{0,62}`: the instance's timeline stream and evidence URL use it. */
  id: string;
  jurisdiction: Jurisdiction;
  /** Who runs the module (a cloud provider, "on-site"...), as declared. */
  provider: string;
  environment: EnvironmentKind;
  /** FIPS 140-2/3 certificate numbers, Common Criteria references..., as declared data. */
  certifications: string[];
  /** The control matrix's owner and retention location for this environment's evidence, as declared. */
  evidenceOwner?: string;
  evidenceRetention?: string;
}

const instanceSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1 to 63 lowercase letters, digits or "-"'),
  module: z.string().min(1).optional(),
  tokenLabel: z.string().min(1).max(32).optional(),
  slot: z.number().int().min(0).max(1023).optional(),
  /** A 0600 file holding the user PIN. */
  pinFile: z.string().min(1).optional(),
  /** The name of an environment variable holding the user PIN (never the PIN itself in this JSON). */
  pinVariable: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
  sessions: z.number().int().min(1).max(64).optional(),
  jurisdiction: z.string(),
  provider: z.string().min(1).max(128),
  environment: z.enum(ENVIRONMENT_KINDS),
  certifications: z.array(z.string().min(1).max(256)).max(32).default([]),
  /** Who answers for this environment's evidence in the control matrix (a team or role), as declared. */
  evidenceOwner: z.string().min(1).max(128).optional(),
  /** Where this environment's evidence is retained (a bucket, an archive, a records system), as declared. */
  evidenceRetention: z.string().min(1).max(256).optional(),
});

function fromKms<T>(variable: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KmsError) throw new ConfigError(variable, e.message);
    throw e;
  }
}

/**
 * The HSM instances: KMS_HSM_INSTANCES (a JSON array, or KMS_HSM_INSTANCES_FILE naming a JSON file)
 * declares several; without it, the single HSM of KMS_HSM_* is one instance `default`, of
 * KMS_HSM_JURISDICTION (default "default"), KMS_HSM_PROVIDER (default "unspecified"),
 * KMS_HSM_ENVIRONMENT (default on-premises) and KMS_HSM_CERTIFICATIONS (comma-separated).
 * In standalone mode an instance without a PIN uses the state folder's SoftHSM2 token files.
 */
export function loadHsmInstances(env: Env, cwd: string, hsm: HsmConfig, standalone: boolean, stateDir: string): HsmInstanceConfig[] {
  let text = env['KMS_HSM_INSTANCES'];
  let variable = 'KMS_HSM_INSTANCES';
  if (env['KMS_HSM_INSTANCES_FILE']) {
    if (text) throw new ConfigError('KMS_HSM_INSTANCES', 'set either KMS_HSM_INSTANCES or KMS_HSM_INSTANCES_FILE, not both');
    variable = 'KMS_HSM_INSTANCES_FILE';
    try {
      text = readFileSync(resolve(cwd, env['KMS_HSM_INSTANCES_FILE']), 'utf8');
    } catch (e) {
      throw new ConfigError(variable, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  if (!text) {
    if (!hsm.enabled) return [];
    const { enabled: _enabled, ...single } = hsm;
    return [
      {
        ...single,
        id: 'default',
        jurisdiction: env['KMS_HSM_JURISDICTION'] ? fromKms('KMS_HSM_JURISDICTION', () => parseJurisdiction(env['KMS_HSM_JURISDICTION'], 'KMS_HSM_JURISDICTION')) : DEFAULT_JURISDICTION,
        provider: env['KMS_HSM_PROVIDER'] || 'unspecified',
        environment: env['KMS_HSM_ENVIRONMENT'] ? fromKms('KMS_HSM_ENVIRONMENT', () => parseEnvironmentKind(env['KMS_HSM_ENVIRONMENT'], 'KMS_HSM_ENVIRONMENT')) : 'on-premises',
        certifications: (env['KMS_HSM_CERTIFICATIONS'] ?? '')
          .split(',')
          .map((c) => c.trim())
          .filter((c) => c !== ''),
      },
    ];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(variable, 'is not valid JSON (expected an array of HSM instances)');
  }
  const list = z.array(instanceSchema).min(1).max(16).safeParse(parsed);
  if (!list.success) {
    const issue = list.error.issues[0];
    throw new ConfigError(variable, `${issue.path.join('.') || 'value'}: ${issue.message}`);
  }
  const seenIds = new Set<string>();
  const seenTokens = new Set<string>();
  return list.data.map((v, i): HsmInstanceConfig => {
    const at = `${variable}[${i}]`;
    if (seenIds.has(v.id)) throw new ConfigError(variable, `${i}.id: "${v.id}" is declared twice`);
    seenIds.add(v.id);
    if (v.slot !== undefined && v.tokenLabel !== undefined) throw new ConfigError(variable, `${i}.slot: set either slot or tokenLabel, not both`);
    if (v.pinFile && v.pinVariable) throw new ConfigError(variable, `${i}.pinFile: set either pinFile or pinVariable, not both`);
    const modulePath = v.module ?? '/usr/lib/softhsm/libsofthsm2.so';
    const token: EnabledHsm['token'] = v.slot !== undefined ? { kind: 'slot', index: v.slot } : { kind: 'label', label: v.tokenLabel ?? v.id };
    const tokenKey = `${modulePath}#${JSON.stringify(token)}`;
    if (seenTokens.has(tokenKey)) throw new ConfigError(variable, `${i}.tokenLabel: two instances name the same token of ${modulePath}`);
    seenTokens.add(tokenKey);
    let pin: EnabledHsm['pin'];
    const provisioned = standalone && !v.pinFile && !v.pinVariable;
    if (v.pinFile) pin = { kind: 'file', path: resolve(cwd, v.pinFile) };
    else if (v.pinVariable) {
      const value = env[v.pinVariable];
      if (!value) throw new ConfigError(v.pinVariable, `is empty, but ${at} names it as its PIN`);
      pin = { kind: 'env', value: new Secret(value) };
    } else if (provisioned) pin = { kind: 'file', path: resolve(stateDir, 'hsm', 'user.pin') };
    else throw new ConfigError(variable, `${i}.pinFile: the HSM user PIN is required: set pinFile or pinVariable`);
    const conf = env['SOFTHSM2_CONF'] ? resolve(cwd, env['SOFTHSM2_CONF']) : standalone ? resolve(stateDir, 'hsm', 'softhsm2.conf') : undefined;
    return {
      id: v.id,
      modulePath,
      token,
      pin,
      sessions: v.sessions ?? 4,
      ...(conf ? { softhsm2Conf: conf } : {}),
      provisionSoftHsmToken: provisioned && !env['SOFTHSM2_CONF'] && token.kind === 'label',
      jurisdiction: fromKms(variable, () => parseJurisdiction(v.jurisdiction, `${i}.jurisdiction`)),
      provider: v.provider,
      environment: v.environment,
      certifications: v.certifications,
      ...(v.evidenceOwner ? { evidenceOwner: v.evidenceOwner } : {}),
      ...(v.evidenceRetention ? { evidenceRetention: v.evidenceRetention } : {}),
    };
  });
}
