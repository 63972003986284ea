import type { CreatedVersionMaterial, ImportVersionRequest, ImportWrappingKey, KeyBackend, SignInput, VersionHandle } from '@kms/application';
import { type Algorithm, DEFAULT_JURISDICTION, invalidArgument, KmsError } from '@kms/domain';
import type { HsmInstance, HsmInstanceRegistry } from './hsm-instance-registry';

/** Between the instance id and the instance's own material reference. */
const SEPARATOR = '/';
/** The instance of the single KMS_HSM_* HSM: its references stay unprefixed, as before instances existed. */
const DEFAULT_INSTANCE = 'default';

/**
 * Protection level HSM over several instances: a new version is generated on an instance of the key's
 * jurisdiction, and its material reference names that instance (`<instanceId>/<ref>`), so every later
 * operation goes to the token that holds it. The `default` instance (the single KMS_HSM_* HSM) keeps
 * unprefixed references, so keys made before instances were declared keep working.
 */
export class JurisdictionalHsmBackend implements KeyBackend {
  readonly protectionLevel = 'HSM' as const;
  private readonly fallback: HsmInstance;

  constructor(private readonly registry: HsmInstanceRegistry) {
    const all = registry.instances();
    if (all.length === 0) throw new Error('no HSM instance is configured');
    this.fallback = all.find((i) => i.declaration.instanceId === DEFAULT_INSTANCE) ?? all[0];
  }

  supports(algorithm: Algorithm): boolean {
    return this.registry.instances().every((i) => i.hsm.keyBackend.supports(algorithm));
  }

  jurisdictions(): readonly string[] {
    return this.registry.jurisdictions();
  }

  async createVersion(req: { keyId: string; version: number; algorithm: Algorithm; jurisdiction?: string; escrow?: boolean }): Promise<CreatedVersionMaterial> {
    const jurisdictions = this.registry.jurisdictions();
    let instance: HsmInstance;
    // A key made before jurisdictions existed is `default`: its new versions go where its first ones went.
    const legacy = req.jurisdiction === DEFAULT_JURISDICTION && !jurisdictions.includes(DEFAULT_JURISDICTION);
    if (req.jurisdiction !== undefined && !legacy) instance = this.registry.forJurisdiction(req.jurisdiction);
    else if (jurisdictions.length === 1) instance = this.fallback;
    else throw invalidArgument('jurisdiction', `is required: HSM instances are configured in ${jurisdictions.join(', ')}`);
    const created = await instance.hsm.keyBackend.createVersion(req);
    return { ...created, materialRef: this.refFor(instance, created.materialRef) };
  }

  /** BYOK: the wrapping key is made on the instance new versions go to (one jurisdiction), and its token names that instance. */
  async createImportWrappingKey(req: { keyId: string; algorithm?: Algorithm }): Promise<ImportWrappingKey> {
    const instance = this.importInstance();
    const w = await this.importing(instance).createImportWrappingKey(req);
    return { ...w, wrappingKeyRef: this.refFor(instance, w.wrappingKeyRef) };
  }

  async importVersion(req: ImportVersionRequest): Promise<CreatedVersionMaterial> {
    const instance = this.instanceOf({ materialRef: req.wrappingKeyRef });
    const prefix = `${instance.declaration.instanceId}${SEPARATOR}`;
    const wrappingKeyRef = req.wrappingKeyRef.startsWith(prefix) ? req.wrappingKeyRef.slice(prefix.length) : req.wrappingKeyRef;
    const created = await this.importing(instance).importVersion({ ...req, wrappingKeyRef });
    return { ...created, materialRef: this.refFor(instance, created.materialRef) };
  }

  private importInstance(): HsmInstance {
    const jurisdictions = this.registry.jurisdictions();
    if (jurisdictions.length > 1) throw new KmsError('UNSUPPORTED_ALGORITHM', `protection_level: import into HSM keys is not available with HSM instances in several jurisdictions (${jurisdictions.join(', ')})`, 'protection_level');
    return this.fallback;
  }

  private importing(instance: HsmInstance): Required<Pick<KeyBackend, 'createImportWrappingKey' | 'importVersion'>> {
    const b = instance.hsm.keyBackend;
    const createImportWrappingKey = b.createImportWrappingKey?.bind(b);
    const importVersion = b.importVersion?.bind(b);
    if (!createImportWrappingKey || !importVersion) throw new KmsError('UNSUPPORTED_ALGORITHM', 'protection_level: this HSM instance cannot import material', 'protection_level');
    return { createImportWrappingKey, importVersion };
  }

  encrypt(h: VersionHandle, plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    const { backend, handle } = this.route(h);
    return backend.encrypt(handle, plaintext, aad);
  }

  decrypt(h: VersionHandle, body: Buffer, aad: Buffer): Promise<Buffer> {
    const { backend, handle } = this.route(h);
    return backend.decrypt(handle, body, aad);
  }

  sign(h: VersionHandle, input: SignInput): Promise<Buffer> {
    const { backend, handle } = this.route(h);
    return backend.sign(handle, input);
  }

  verify(h: VersionHandle, input: SignInput, signature: Buffer): Promise<boolean> {
    const { backend, handle } = this.route(h);
    return backend.verify(handle, input, signature);
  }

  mac(h: VersionHandle, data: Buffer): Promise<Buffer> {
    const { backend, handle } = this.route(h);
    return backend.mac(handle, data);
  }

  verifyMac(h: VersionHandle, data: Buffer, mac: Buffer): Promise<boolean> {
    const { backend, handle } = this.route(h);
    return backend.verifyMac(handle, data, mac);
  }

  getPublicKey(h: VersionHandle): Promise<Buffer> {
    const { backend, handle } = this.route(h);
    return backend.getPublicKey(handle);
  }

  asymmetricDecrypt(h: VersionHandle, ciphertext: Buffer): Promise<Buffer> {
    const { backend, handle } = this.route(h);
    return backend.asymmetricDecrypt(handle, ciphertext);
  }

  decapsulate(h: VersionHandle, ciphertext: Buffer): Promise<Buffer> {
    const { backend, handle } = this.route(h);
    return backend.decapsulate(handle, ciphertext);
  }

  exportForEscrow(h: VersionHandle): Promise<Buffer> {
    const { backend, handle } = this.route(h);
    if (!backend.exportForEscrow) throw new KmsError('UNSUPPORTED_ALGORITHM', 'protection_level: this HSM instance cannot escrow break-glass keys', 'protection_level');
    return backend.exportForEscrow(handle);
  }

  async escrowSealed(h: VersionHandle): Promise<void> {
    const { backend, handle } = this.route(h);
    await backend.escrowSealed?.(handle);
  }

  destroyVersion(h: VersionHandle): Promise<{ hsmObjectDestroyed: boolean } | void> {
    const { backend, handle } = this.route(h);
    return backend.destroyVersion(handle);
  }

  discardVersion(h: VersionHandle): Promise<void> {
    const { backend, handle } = this.route(h);
    return backend.discardVersion(handle);
  }

  /** The instance holding a version (by its material reference). */
  instanceOf(h: Pick<VersionHandle, 'materialRef'>): HsmInstance {
    const at = h.materialRef.indexOf(SEPARATOR);
    if (at > 0) {
      const id = h.materialRef.slice(0, at);
      const named = this.registry.instances().find((i) => i.declaration.instanceId === id);
      if (named) return named;
    }
    return this.fallback;
  }

  private refFor(instance: HsmInstance, ref: string): string {
    return instance.declaration.instanceId === DEFAULT_INSTANCE ? ref : `${instance.declaration.instanceId}${SEPARATOR}${ref}`;
  }

  private route(h: VersionHandle): { backend: KeyBackend; handle: VersionHandle } {
    const instance = this.instanceOf(h);
    const prefix = `${instance.declaration.instanceId}${SEPARATOR}`;
    const materialRef = h.materialRef.startsWith(prefix) ? h.materialRef.slice(prefix.length) : h.materialRef;
    return { backend: instance.hsm.keyBackend, handle: { ...h, materialRef } };
  }
}
