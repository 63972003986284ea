import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { DualAuthorization, KeyCatalog, KeyLifecycleService, OUTSTANDING_CIPHERTEXTS, type OutstandingCiphertexts } from '@kms/application';
import {
  API_LIMITS,
  type CreateKeyRequest__Output,
  type GetKeyRequest__Output,
  KMS_SERVICE,
  type KeyVersionRequest__Output,
  type ListKeysRequest__Output,
  type RotateKeyRequest__Output,
  type ScheduleKeyVersionDestructionRequest__Output,
  type SetKeyPolicyRequest__Output,
  type SetMinDecryptionVersionRequest__Output,
  type UpdateKeyLabelsRequest__Output,
  type UpdateRotationPolicyRequest__Output,
} from '@kms/contracts';
import { type Algorithm, invalidArgument, KmsError, type KeyPurpose, type ProtectionLevel, validateKeyPolicy, validateLabels, validatePurpose, validateRotationReason, validateTenant } from '@kms/domain';
import { CallGate, type CallScope } from '../call-gate';
import { fromProtoPolicy, toProtoKey } from '../key.mapper';
import { administeredKey, changeContext, optionalTime, requiredVersion, unspecified } from './request-helpers';

type Call = ServerUnaryCall<unknown, unknown>;

/** Only people can ask to retire a version before its dependents confirmed, and only with a second person. */
function overrideRequested(scope: CallScope, value: boolean): boolean {
  if (!value) return false;
  if (scope.principal.kind !== 'HUMAN') {
    throw new KmsError('PERMISSION_DENIED', 'permission denied: overriding dependent confirmation needs two people, not a workload', 'override_dependents');
  }
  return true;
}

/** kms.v1.KeyManagementService, key lifecycle: thin — admit the caller, check the key, ask for a second person where the policy says so, call the application. */
@Controller()
export class KeyLifecycleController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(KeyLifecycleService) private readonly lifecycle: KeyLifecycleService,
    @Inject(KeyCatalog) private readonly catalog: KeyCatalog,
    @Inject(DualAuthorization) private readonly dual: DualAuthorization,
    @Inject(OUTSTANDING_CIPHERTEXTS) private readonly ciphertexts: OutstandingCiphertexts | null,
  ) {}

  @GrpcMethod(KMS_SERVICE, 'CreateKey')
  createKey(req: CreateKeyRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('CreateKey', req, metadata, call, async (scope) => {
      const exportExpiresAt = optionalTime(req.export_expires_at, 'export_expires_at');
      const input = {
        tenant: unspecified(req.tenant) ? 'default' : req.tenant,
        name: req.name,
        purpose: (unspecified(req.purpose) ? undefined : req.purpose) as KeyPurpose,
        algorithm: (unspecified(req.algorithm) ? undefined : req.algorithm) as Algorithm,
        protectionLevel: (unspecified(req.protection_level) ? 'SOFTWARE' : req.protection_level) as ProtectionLevel,
        labels: req.labels ?? {},
        owner: unspecified(req.owner) ? scope.principal.name : req.owner,
        ...(req.rotation_period_days ? { rotationPeriodDays: req.rotation_period_days } : {}),
        policy: validateKeyPolicy(fromProtoPolicy(req.policy)),
        ...(unspecified(req.jurisdiction) ? {} : { jurisdiction: req.jurisdiction }),
        ...(exportExpiresAt ? { exportExpiresAt } : {}),
      };
      const change = changeContext(scope, req.context);
      // Material that may leave the KMS takes two people: recorded and answered APPROVAL_REQUIRED.
      if (req.exportable === true) {
        if (exportExpiresAt) throw invalidArgument('exportable', 'an exportable key cannot also be an export key (export_expires_at)');
        await this.dual.guard(scope.principal, change, { operation: 'CreateExportableKey', keyId: randomUUID(), input }, scope.facts);
      }
      const key = await this.lifecycle.createKey(input, change);
      scope.facts.keyId = key.keyId;
      scope.facts.keyVersion = key.primaryVersion;
      scope.facts.details = { purpose: key.purpose, algorithm: key.algorithm, protectionLevel: key.protectionLevel, jurisdiction: key.jurisdiction };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetKey')
  getKey(req: GetKeyRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GetKey', metadata, call, async (scope) => {
      const key = (await administeredKey(this.catalog, scope, req.key_id)).key;
      return toProtoKey(key, key.purpose === 'DATA_PROTECTION' && this.ciphertexts ? await this.ciphertexts.outstanding(key.keyId) : undefined);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ListKeys')
  listKeys(req: ListKeysRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('ListKeys', metadata, call, async (scope) => {
      const pageSize = req.page_size || API_LIMITS.defaultPageSize;
      if (pageSize > API_LIMITS.maxPageSize) throw invalidArgument('page_size', `must be at most ${API_LIMITS.maxPageSize}`);
      const token = req.page_token || '';
      const offset = token === '' ? 0 : Number.parseInt(Buffer.from(token, 'base64url').toString(), 10);
      if (!Number.isInteger(offset) || offset < 0) throw invalidArgument('page_token', 'is not a token this server issued');
      // One row more than the page tells whether another page follows.
      const keys = await this.catalog.list(
        {
          ...(unspecified(req.tenant) ? {} : { tenant: validateTenant(req.tenant) }),
          ...(unspecified(req.purpose) ? {} : { purpose: validatePurpose(req.purpose) }),
          labels: validateLabels(req.labels),
        },
        { offset, limit: pageSize + 1 },
      );
      const page = keys.slice(0, pageSize);
      const next = keys.length > pageSize ? Buffer.from(String(offset + pageSize)).toString('base64url') : '';
      scope.facts.details = { returned: page.length };
      return { keys: page.map((s) => toProtoKey(s.key)), next_page_token: next };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'RotateKey')
  rotateKey(req: RotateKeyRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('RotateKey', req, metadata, call, async (scope) => {
      const state = await administeredKey(this.catalog, scope, req.key_id);
      const reason = unspecified(req.reason) ? 'MANUAL' : validateRotationReason(req.reason);
      const change = changeContext(scope, req.context);
      scope.facts.details = { rotationReason: reason };
      await this.dual.guard(scope.principal, change, { operation: 'RotateKey', key: state.key, reason }, scope.facts);
      const key = await this.lifecycle.rotateKey(state.key.keyId, reason, change);
      scope.facts.keyVersion = key.primaryVersion;
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'UpdateRotationPolicy')
  updateRotationPolicy(req: UpdateRotationPolicyRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('UpdateRotationPolicy', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      const days = req.rotation_period_days;
      const change = changeContext(scope, req.context);
      await this.dual.guard(scope.principal, change, { operation: 'UpdateRotationPolicy', keyId, rotationPeriodDays: days }, scope.facts);
      const key = await this.lifecycle.updateRotationPolicy(keyId, days, change);
      scope.facts.details = { rotationPeriodDays: key.rotationPeriodDays };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'UpdateKeyLabels')
  updateKeyLabels(req: UpdateKeyLabelsRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('UpdateKeyLabels', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      const labels = validateLabels(req.labels);
      const change = changeContext(scope, req.context);
      await this.dual.guard(scope.principal, change, { operation: 'UpdateKeyLabels', keyId, labels }, scope.facts);
      const key = await this.lifecycle.setKeyLabels(keyId, labels, change);
      scope.facts.details = { labels: Object.keys(key.labels).sort().join(',') };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'DisableKeyVersion')
  disableKeyVersion(req: KeyVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('DisableKeyVersion', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      const version = requiredVersion(req.key_version);
      scope.facts.keyVersion = version;
      const change = changeContext(scope, req.context);
      const overrideDependents = overrideRequested(scope, req.override_dependents);
      await this.dual.guard(scope.principal, change, { operation: 'DisableKeyVersion', keyId, version, overrideDependents }, scope.facts);
      return toProtoKey(await this.lifecycle.disableKeyVersion(keyId, version, change));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'EnableKeyVersion')
  enableKeyVersion(req: KeyVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('EnableKeyVersion', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      const version = requiredVersion(req.key_version);
      scope.facts.keyVersion = version;
      const change = changeContext(scope, req.context);
      await this.dual.guard(scope.principal, change, { operation: 'EnableKeyVersion', keyId, version }, scope.facts);
      return toProtoKey(await this.lifecycle.enableKeyVersion(keyId, version, change));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ScheduleKeyVersionDestruction')
  scheduleKeyVersionDestruction(req: ScheduleKeyVersionDestructionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('ScheduleKeyVersionDestruction', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      const version = requiredVersion(req.key_version);
      scope.facts.keyVersion = version;
      const delayDays = req.destroy_after_days || undefined;
      const change = changeContext(scope, req.context);
      const overrideDependents = overrideRequested(scope, req.override_dependents);
      await this.dual.guard(
        scope.principal,
        change,
        { operation: 'ScheduleKeyVersionDestruction', keyId, version, ...(delayDays ? { delayDays } : {}), overrideDependents },
        scope.facts,
      );
      return toProtoKey(await this.lifecycle.scheduleKeyVersionDestruction(keyId, version, delayDays, change));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'CancelKeyVersionDestruction')
  cancelKeyVersionDestruction(req: KeyVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('CancelKeyVersionDestruction', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      scope.facts.keyVersion = requiredVersion(req.key_version);
      return toProtoKey(await this.lifecycle.cancelKeyVersionDestruction(keyId, scope.facts.keyVersion, changeContext(scope, req.context)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'DestroyKeyVersion')
  destroyKeyVersion(req: KeyVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('DestroyKeyVersion', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      scope.facts.keyVersion = requiredVersion(req.key_version);
      return toProtoKey(await this.lifecycle.destroyKeyVersion(keyId, scope.facts.keyVersion, changeContext(scope, req.context)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'SetMinDecryptionVersion')
  setMinDecryptionVersion(req: SetMinDecryptionVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('SetMinDecryptionVersion', req, metadata, call, async (scope) => {
      const state = await administeredKey(this.catalog, scope, req.key_id);
      const min = requiredVersion(req.min_decryption_version, 'min_decryption_version');
      const change = changeContext(scope, req.context);
      await this.dual.guard(scope.principal, change, { operation: 'SetMinDecryptionVersion', key: state.key, minDecryptionVersion: min }, scope.facts);
      const key = await this.lifecycle.setMinDecryptionVersion(state.key.keyId, min, change);
      scope.facts.details = { minDecryptionVersion: key.minDecryptionVersion };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ReportKeyCompromise')
  reportKeyCompromise(req: KeyVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('ReportKeyCompromise', req, metadata, call, async (scope) => {
      const state = await administeredKey(this.catalog, scope, req.key_id);
      const version = req.key_version || state.key.primaryVersion;
      scope.facts.keyVersion = version;
      const change = changeContext(scope, req.context);
      await this.dual.guard(scope.principal, change, { operation: 'ReportKeyCompromise', key: state.key, version }, scope.facts);
      const key = await this.lifecycle.reportKeyCompromise(state.key.keyId, version, change);
      scope.facts.details = { compromisedVersion: version, newPrimaryVersion: key.primaryVersion };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'SetKeyPolicy')
  setKeyPolicy(req: SetKeyPolicyRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('SetKeyPolicy', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      const policy = validateKeyPolicy(fromProtoPolicy(req.policy));
      const change = changeContext(scope, req.context);
      await this.dual.guard(scope.principal, change, { operation: 'SetKeyPolicy', keyId, policy }, scope.facts);
      return toProtoKey(await this.lifecycle.setKeyPolicy(keyId, policy, change));
    });
  }
}
