import type { HsmConfig, KmsConfig } from '@kms/config';
import { createPkcs11Hsm, type Pkcs11Hsm } from '../pkcs11-hsm';
import type { HsmFailure } from '../pkcs11-session-pool';
import { HsmInstanceRegistry } from './hsm-instance-registry';
import { ensureSoftHsmTokens } from './softhsm-jurisdiction-tokens';

/**
 * The HSMs of a KMS process: every declared instance, and the one that seals history and signs
 * service attestations. The key service opens them, and the audit projector deployed alone too
 * (its GET /v1/evidence/hsms/{id}, docs/jurisdictions.md).
 */
export interface KmsHsms {
  registry: HsmInstanceRegistry;
  /** The KMS_HSM_* HSM (history seal keys, service attestation): every KMS process derives its seal keys from it. */
  custody?: Pkcs11Hsm;
  close(): Promise<void>;
}

type EnabledHsm = Extract<HsmConfig, { enabled: true }>;

function sameToken(a: { modulePath: string; token: EnabledHsm['token'] }, b: EnabledHsm): boolean {
  return a.modulePath === b.modulePath && JSON.stringify(a.token) === JSON.stringify(b.token);
}

/**
 * Build and connect the HSM instances of `config.hsmInstances` (the single KMS_HSM_* HSM is instance
 * `default`). In standalone mode the SoftHSM2 token of every instance without a PIN of its own is
 * initialised first, all in the state folder's one softhsm2.conf. The custody HSM (KMS_HSM_*) is the
 * instance on the same token when there is one, else a pool of its own.
 */
export async function composeHsmInstances(config: KmsConfig, notices: string[], onFailure: (f: HsmFailure) => void): Promise<KmsHsms | undefined> {
  const declared = config.hsmInstances;
  const hsm = config.hsm;
  if (declared.length === 0 && !hsm.enabled) return undefined;
  const labels = declared.filter((i) => i.provisionSoftHsmToken && i.token.kind === 'label').map((i) => (i.token as { label: string }).label);
  if (hsm.enabled && hsm.provisionSoftHsmToken && hsm.token.kind === 'label' && !labels.includes(hsm.token.label)) labels.unshift(hsm.token.label);
  for (const token of await ensureSoftHsmTokens(config.stateDir, labels)) {
    if (token.created) notices.push(`initialised a SoftHSM2 token "${token.label}" in ${token.tokenDir} (PINs in 0600 files beside it)`);
  }
  const registry = new HsmInstanceRegistry(declared.map((i) => ({ ...i, onFailure })));
  let own: Pkcs11Hsm | undefined;
  let custody: Pkcs11Hsm | undefined;
  if (hsm.enabled) {
    const shared = registry.instances().find((i) => sameToken(declared.find((d) => d.id === i.declaration.instanceId) as (typeof declared)[number], hsm));
    custody = shared?.hsm ?? (own = createPkcs11Hsm({ ...hsm, onFailure }));
  }
  const close = async (): Promise<void> => {
    await registry.close();
    await own?.close();
  };
  try {
    // Fail the boot with a clear message rather than serve HSM keys that cannot work.
    await own?.pool.connect();
    await registry.connect();
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
  return { registry, ...(custody ? { custody } : {}), close };
}
