import { buildKeyOriginStatement, canonicalJson, signKeyOriginStatement } from '@kms/evidence';
import { ALGORITHM_USAGE, KmsError } from '@kms/domain';
import type { Clock } from '../ports/audit-log.port';
import type { AttestationSigner, KeyBackends } from '../ports/key-backend.port';
import type { KeyAccessCheck } from '../access/authorizer';
import type { KeyCatalog } from '../keys/key-catalog';
import type { OperationFacts } from './crypto.service';
import { optionalVersion, validateKeyId } from './request-validation';

export interface KeyOriginStatementResult {
  /** Canonical JSON (RFC 8785): exactly the bytes that were signed. */
  statementJson: string;
  /** Base64 DER ECDSA P-256/SHA-256 signature over statementJson. */
  signature: string;
  attestationPublicKeyPem: string;
  attestationKeyFingerprint: string;
}

/**
 * Key-origin statements: for an HSM version, the attributes and module identity read back when it
 * was generated, signed by the KMS attestation key (itself an HSM key). Verifiable offline with only
 * the attestation public key (scripts/verify-origin-statement.ts).
 */
export class KeyOriginService {
  constructor(
    private readonly catalog: KeyCatalog,
    private readonly backends: KeyBackends,
    private readonly signer: AttestationSigner | undefined,
    private readonly clock: Clock,
  ) {}

  async statement(access: KeyAccessCheck, keyIdRaw: unknown, versionRaw: unknown, facts: OperationFacts = {}): Promise<KeyOriginStatementResult> {
    const keyId = validateKeyId(keyIdRaw);
    facts.keyId = keyId;
    let state;
    try {
      state = await this.catalog.get(keyId);
    } catch (e) {
      if (e instanceof KmsError && e.code === 'KEY_NOT_FOUND' && access.hidesMissingKeys) access.check(undefined, 'VERIFY');
      throw e;
    }
    access.check(state, 'VERIFY');
    const versionNumber = optionalVersion(versionRaw) ?? state.key.primaryVersion;
    facts.keyVersion = versionNumber;
    const v = state.key.versions[versionNumber - 1];
    if (!v) throw new KmsError('KEY_VERSION_NOT_FOUND', `key_version: version ${versionNumber} does not exist`, 'key_version');
    if (!v.origin) {
      throw new KmsError('NO_ORIGIN_EVIDENCE', `key_version: version ${versionNumber} is a ${v.protectionLevel} version; only HSM versions carry origin evidence`, 'key_version');
    }
    if (!this.signer) throw new KmsError('BACKEND_UNAVAILABLE', 'no attestation key is configured on this server');
    let publicKeySpkiBase64: string | undefined;
    if (ALGORITHM_USAGE[v.algorithm] === 'SIGN_VERIFY' && v.state !== 'DESTROYED') {
      const backend = this.backends[v.protectionLevel];
      if (!backend) throw new KmsError('BACKEND_UNAVAILABLE', `no ${v.protectionLevel} backend is configured on this server`);
      publicKeySpkiBase64 = (await backend.getPublicKey({ keyId, version: v.version, algorithm: v.algorithm, materialRef: v.materialRef })).toString('base64');
    }
    const attestationKeyFingerprint = await this.signer.keyFingerprint();
    const statement = buildKeyOriginStatement({
      keyId,
      version: v.version,
      algorithm: v.algorithm,
      protectionLevel: v.protectionLevel,
      createdAt: v.createdAt,
      issuedAt: this.clock.now(),
      ...(publicKeySpkiBase64 ? { publicKeySpkiBase64 } : {}),
      ...(v.publicKeyFingerprint ? { keyFingerprint: v.publicKeyFingerprint } : {}),
      origin: v.origin,
      ...(v.imported ? { imported: true } : {}),
      attestationKeyFingerprint,
    });
    const signed = await signKeyOriginStatement(statement, this.signer);
    return {
      statementJson: canonicalJson(signed.statement),
      signature: signed.signature,
      attestationPublicKeyPem: await this.signer.publicKeyPem(),
      attestationKeyFingerprint,
    };
  }
}
