import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { KeyCatalog, KeyLifecycleService, validateKeyId } from '@kms/application';
import { type DependentRequest__Output, KMS_SERVICE, type KeyVersionRequest__Output } from '@kms/contracts';
import { type ExistingKeyState, KmsError } from '@kms/domain';
import { CallGate } from '../call-gate';
import { toProtoKey } from '../key.mapper';
import { administeredKey, changeContext, requiredVersion } from './request-helpers';

type Call = ServerUnaryCall<unknown, unknown>;

/** kms.v1.KeyManagementService, dependents: who must pick up a new version, and their confirmations. */
@Controller()
export class KeyDependentsController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(KeyLifecycleService) private readonly lifecycle: KeyLifecycleService,
    @Inject(KeyCatalog) private readonly catalog: KeyCatalog,
  ) {}

  @GrpcMethod(KMS_SERVICE, 'RegisterDependent')
  registerDependent(req: DependentRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('RegisterDependent', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      scope.facts.details = { dependentId: String(req.dependent_id).slice(0, 64) };
      return toProtoKey(await this.lifecycle.registerDependent(keyId, req.dependent_id, req.name || req.dependent_id, changeContext(scope, req.context)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'RemoveDependent')
  removeDependent(req: DependentRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('RemoveDependent', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      scope.facts.details = { dependentId: String(req.dependent_id).slice(0, 64) };
      return toProtoKey(await this.lifecycle.removeDependent(keyId, req.dependent_id, changeContext(scope, req.context)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ConfirmKeyVersion')
  confirmKeyVersion(req: KeyVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('ConfirmKeyVersion', req, metadata, call, async (scope) => {
      // The dependent list is the authority: anyone else gets the same refusal as for an unknown key.
      const keyId = validateKeyId(req.key_id);
      scope.facts.keyId = keyId;
      const notDependent = new KmsError('NOT_A_DEPENDENT', 'permission denied: the caller is not a registered dependent of this key', 'key_id');
      let state: ExistingKeyState;
      try {
        state = await this.catalog.get(keyId);
      } catch (e) {
        if (e instanceof KmsError && e.code === 'KEY_NOT_FOUND') throw notDependent;
        throw e;
      }
      if (!state.key.dependents[scope.principal.identityId]) throw notDependent;
      const version = requiredVersion(req.key_version);
      scope.facts.keyVersion = version;
      return toProtoKey(await this.lifecycle.confirmKeyVersion(keyId, scope.principal.identityId, version, changeContext(scope, req.context)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ReportOverdueConfirmations')
  reportOverdueConfirmations(req: KeyVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('ReportOverdueConfirmations', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      scope.facts.keyVersion = requiredVersion(req.key_version);
      return toProtoKey(await this.lifecycle.reportOverdueConfirmations(keyId, scope.facts.keyVersion, changeContext(scope, req.context)));
    });
  }
}
