import type { EnvironmentKind, HsmDeclaration, HsmIdentity, Jurisdiction } from '@kms/domain';
import { KmsError } from '@kms/domain';
import { createPkcs11Hsm, type Pkcs11Hsm, type Pkcs11HsmOptions } from '../pkcs11-hsm';

/** One configured PKCS#11 instance (KmsConfig's `hsmInstances` entries fit). */
export interface HsmInstanceOptions extends Pkcs11HsmOptions {
  id: string;
  jurisdiction: Jurisdiction;
  provider: string;
  environment: EnvironmentKind;
  certifications: string[];
}

/** A configured instance and its adapters. */
export interface HsmInstance {
  declaration: HsmDeclaration;
  hsm: Pkcs11Hsm;
}

/**
 * The registry of HSM instances: one session pool, key backend and attestation signer per instance,
 * chosen by jurisdiction or id. It only selects; algorithms stay in the PKCS#11 backend. Does no I/O
 * until connect().
 */
export class HsmInstanceRegistry {
  private readonly byId = new Map<string, HsmInstance>();

  constructor(instances: readonly HsmInstanceOptions[], create: (options: Pkcs11HsmOptions) => Pkcs11Hsm = createPkcs11Hsm) {
    for (const options of instances) {
      const { id, jurisdiction, provider, environment, certifications } = options;
      if (this.byId.has(id)) throw new Error(`HSM instance "${id}" is declared twice`);
      this.byId.set(id, { declaration: { instanceId: id, jurisdiction, provider, environment, certifications: [...certifications] }, hsm: create(options) });
    }
  }

  /** Every instance, in declaration order. */
  instances(): HsmInstance[] {
    return [...this.byId.values()];
  }

  /** The distinct jurisdictions with an HSM, in declaration order. */
  jurisdictions(): Jurisdiction[] {
    return [...new Set(this.instances().map((i) => i.declaration.jurisdiction))];
  }

  /** An instance as the attestation service needs it (AttestableHsm): its declaration, what it reports now, its own attestation key. */
  attestable(id: string): { declaration: HsmDeclaration; identity(): Promise<HsmIdentity>; signer: Pkcs11Hsm['attestationSigner'] } {
    const { declaration, hsm } = this.get(id);
    return { declaration, identity: () => hsm.pool.identity(), signer: hsm.attestationSigner };
  }

  /** The instance with this id; NOT_FOUND-like INVALID_ARGUMENT naming `field` otherwise. */
  get(id: string, field = 'hsm_id'): HsmInstance {
    const instance = this.byId.get(id);
    if (!instance) throw new KmsError('INVALID_ARGUMENT', `${field}: no HSM instance "${id}" is configured (${[...this.byId.keys()].join(', ') || 'none'})`, field);
    return instance;
  }

  /** The instance that generates keys of `jurisdiction`: the first declared one there. Refused naming `field` when none is. */
  forJurisdiction(jurisdiction: string, field = 'jurisdiction'): HsmInstance {
    const instance = this.instances().find((i) => i.declaration.jurisdiction === jurisdiction);
    if (!instance) {
      throw new KmsError('INVALID_ARGUMENT', `${field}: no HSM instance is configured in jurisdiction "${jurisdiction}" (${this.jurisdictions().join(', ') || 'none'})`, field);
    }
    return instance;
  }

  /** Connect every instance (fail the boot rather than serve keys that cannot work). */
  async connect(): Promise<void> {
    for (const instance of this.instances()) await instance.hsm.pool.connect();
  }

  /** What each module reports about itself now, with its declaration: the timeline's observations. */
  async identities(): Promise<{ declaration: HsmDeclaration; identity: HsmIdentity }[]> {
    const out: { declaration: HsmDeclaration; identity: HsmIdentity }[] = [];
    for (const instance of this.instances()) out.push({ declaration: instance.declaration, identity: await instance.hsm.pool.identity() });
    return out;
  }

  /** Close in reverse order: the instance that initialised a shared module finalises it last. */
  async close(): Promise<void> {
    for (const instance of this.instances().reverse()) await instance.hsm.close();
  }
}
