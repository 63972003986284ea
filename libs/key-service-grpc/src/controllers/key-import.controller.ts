import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { createHash } from 'node:crypto';
import { DualAuthorization, KeyCatalog, KeyLifecycleService, spkiPem } from '@kms/application';
import { type GetImportParametersRequest__Output, type ImportKeyVersionRequest__Output, KMS_SERVICE } from '@kms/contracts';
import { invalidArgument, isUuid } from '@kms/domain';
import { CallGate } from '../call-gate';
import { toProtoKey } from '../key.mapper';
import { administeredKey, changeContext, optionalTime } from './request-helpers';

type Call = ServerUnaryCall<unknown, unknown>;

/** 384 bytes of RSA-OAEP plus the KWP of at most a few KiB of material (an RSA-3072 PKCS#8 is about 1.8 KiB). */
const MAX_WRAPPED_BYTES = 8 * 1024;

/** kms.v1.KeyManagementService, bring your own key (issue #21): thin, like the lifecycle controller. */
@Controller()
export class KeyImportController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(KeyLifecycleService) private readonly lifecycle: KeyLifecycleService,
    @Inject(KeyCatalog) private readonly catalog: KeyCatalog,
    @Inject(DualAuthorization) private readonly dual: DualAuthorization,
  ) {}

  @GrpcMethod(KMS_SERVICE, 'GetImportParameters')
  getImportParameters(req: GetImportParametersRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GetImportParameters', metadata, call, async (scope) => {
      const state = await administeredKey(this.catalog, scope, req.key_id);
      const p = await this.lifecycle.importParameters(state.key.keyId);
      // The token is not a secret (it only names the wrapping key), but the audit record keeps its digest, not the token.
      scope.facts.details = { importTokenSha256: createHash('sha256').update(p.importToken).digest('hex'), expiresAt: p.expiresAt.toISOString() };
      return {
        key_id: state.key.keyId,
        import_token: p.importToken,
        wrapping_public_key: p.wrappingPublicKeySpki,
        wrapping_public_key_pem: spkiPem(p.wrappingPublicKeySpki),
        expire_time: p.expiresAt.toISOString(),
        wrapping_algorithm: p.wrappingAlgorithm,
      };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ImportKeyVersion')
  importKeyVersion(req: ImportKeyVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('ImportKeyVersion', req, metadata, call, async (scope) => {
      const state = await administeredKey(this.catalog, scope, req.key_id);
      if (!isUuid(req.import_token)) throw invalidArgument('import_token', 'is required: the import_token GetImportParameters returned');
      const wrapped = Buffer.from(req.wrapped_key_material ?? Buffer.alloc(0));
      if (wrapped.length === 0) throw invalidArgument('wrapped_key_material', 'is required');
      if (wrapped.length > MAX_WRAPPED_BYTES) throw invalidArgument('wrapped_key_material', `must be at most ${MAX_WRAPPED_BYTES} bytes`);
      const expiresAt = optionalTime(req.expire_time, 'expire_time');
      const change = changeContext(scope, req.context);
      scope.facts.details = {
        importTokenSha256: createHash('sha256').update(req.import_token).digest('hex'),
        wrappedKeyMaterialSha256: createHash('sha256').update(wrapped).digest('hex'),
        ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
      };
      await this.dual.guard(
        scope.principal,
        change,
        { operation: 'ImportKeyVersion', key: state.key, importToken: req.import_token, wrappedMaterial: wrapped, ...(expiresAt ? { expiresAt } : {}) },
        scope.facts,
      );
      const key = await this.lifecycle.importKeyVersion(state.key.keyId, { importToken: req.import_token, wrappedMaterial: wrapped, ...(expiresAt ? { expiresAt } : {}) }, change);
      scope.facts.keyVersion = key.primaryVersion;
      return toProtoKey(key);
    });
  }
}
