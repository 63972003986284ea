import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import {
  ApprovalService,
  type ChangeContext,
  CryptoService,
  KeyCatalog,
  KeyLifecycleService,
  KeyOriginService,
  OUTSTANDING_CIPHERTEXTS,
  type OutstandingCiphertexts,
  validateBatchSize,
  validateKeyId,
} from '@kms/application';
import { API_LIMITS, KMS_SERVICE } from '@kms/contracts';
import {
  type DualAuthorizedOperation,
  type ExistingKeyState,
  invalidArgument,
  type KeyPurpose,
  KmsError,
  LIMITS,
  type PendingOperation,
  validateKeyPolicy,
  validateLabels,
  validateOptionalText,
  validatePurpose,
  validateRotationReason,
  validateTenant,
} from '@kms/domain';
import { CallGate, type CallScope } from './call-gate';
import { statusName, toGrpcError } from './grpc-error.mapper';
import { fromProtoPolicy, toProtoKey } from './key.mapper';

type Call = ServerUnaryCall<unknown, unknown>;
type Req = Record<string, unknown>;

function unspecified(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (typeof v === 'string' && v.endsWith('_UNSPECIFIED'));
}

/** Who asks for a lifecycle change and why: the verified identity, never a header. */
export function changeContext(scope: CallScope, req: Req): ChangeContext {
  const c = (req['context'] ?? {}) as Req;
  const reason = validateOptionalText(c['reason'], 'context.reason', LIMITS.reasonMaxLength);
  const changeTicket = validateOptionalText(c['change_ticket'], 'context.change_ticket', LIMITS.changeTicketMaxLength);
  return { actor: scope.principal.identityId, correlationId: scope.ctx.requestId, ...(reason ? { reason } : {}), ...(changeTicket ? { changeTicket } : {}) };
}

function signInputs(req: Req): { message?: unknown; digest?: unknown } {
  if (req['input'] === 'digest') return { digest: req['digest'] };
  if (req['input'] === 'message') return { message: req['message'] };
  return {};
}

function itemError(e: unknown) {
  const g = toGrpcError(e);
  return { error: { code: statusName(g.code), error_code: g.errorCode, message: g.message, field: g.field ?? '' } };
}

function requiredVersion(req: Req, field = 'key_version'): number {
  const v = req[field];
  if (typeof v !== 'number' || v < 1) throw invalidArgument(field, 'is required');
  return v;
}

/** kms.v1.KeyManagementService over gRPC. Thin: admit the caller, check the key, call the application. */
@Controller()
export class KeyManagementController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(KeyLifecycleService) private readonly lifecycle: KeyLifecycleService,
    @Inject(CryptoService) private readonly crypto: CryptoService,
    @Inject(KeyCatalog) private readonly catalog: KeyCatalog,
    @Inject(ApprovalService) private readonly approvals: ApprovalService,
    @Inject(KeyOriginService) private readonly origins: KeyOriginService,
    @Inject(OUTSTANDING_CIPHERTEXTS) private readonly ciphertexts: OutstandingCiphertexts | null,
  ) {}

  /** Load a key the caller administers (or may read); missing keys look refused to callers who must not see them. */
  private async keyFor(scope: CallScope, keyIdRaw: unknown): Promise<ExistingKeyState> {
    const keyId = validateKeyId(keyIdRaw);
    scope.facts.keyId = keyId;
    let state: ExistingKeyState;
    try {
      state = await this.catalog.get(keyId);
    } catch (e) {
      if (e instanceof KmsError && e.code === 'KEY_NOT_FOUND' && scope.access.hidesMissingKeys) scope.access.check(undefined, 'ADMINISTER');
      throw e;
    }
    scope.access.check(state, 'ADMINISTER');
    return state;
  }

  /**
   * Manual operations asked by a person need a second person: check the change would succeed now,
   * record an approval request, and answer APPROVAL_REQUIRED with its id. Workloads act directly.
   */
  private async requireApproval(scope: CallScope, change: ChangeContext, op: PendingOperation, preview: () => Promise<unknown>): Promise<void> {
    if (scope.principal.kind !== 'HUMAN') return;
    if (!change.changeTicket) throw invalidArgument('context.change_ticket', `${op.operation} by a person needs a change ticket and a second person's approval`);
    await preview();
    const a = await this.approvals.request(op, change);
    scope.facts.details = { approvalId: a.approvalId, pendingOperation: op.operation };
    throw new KmsError(
      'APPROVAL_REQUIRED',
      `approval required: request ${a.approvalId} was created; a second, different person must approve it with ApprovalService/ApproveRequest before ${a.expiresAt}`,
      undefined,
      { 'approval-id': a.approvalId },
    );
  }

  private dual(op: DualAuthorizedOperation, targetId: string, params: PendingOperation['params']): PendingOperation {
    return { operation: op, targetId, params };
  }

  @GrpcMethod(KMS_SERVICE, 'CreateKey')
  createKey(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('CreateKey', metadata, call, async (scope) => {
      const key = await this.lifecycle.createKey(
        {
          tenant: unspecified(req['tenant']) ? 'default' : (req['tenant'] as string),
          name: req['name'] as string,
          purpose: (unspecified(req['purpose']) ? undefined : req['purpose']) as KeyPurpose,
          algorithm: (unspecified(req['algorithm']) ? undefined : req['algorithm']) as never,
          protectionLevel: (unspecified(req['protection_level']) ? 'SOFTWARE' : req['protection_level']) as never,
          labels: (req['labels'] ?? {}) as Record<string, string>,
          owner: unspecified(req['owner']) ? scope.principal.name : (req['owner'] as string),
          ...(req['rotation_period_days'] ? { rotationPeriodDays: req['rotation_period_days'] as number } : {}),
          policy: validateKeyPolicy(fromProtoPolicy(req['policy'])),
        },
        changeContext(scope, req),
      );
      scope.facts.keyId = key.keyId;
      scope.facts.keyVersion = key.primaryVersion;
      scope.facts.details = { purpose: key.purpose, algorithm: key.algorithm, protectionLevel: key.protectionLevel };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetKey')
  getKey(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('GetKey', metadata, call, async (scope) => {
      const key = (await this.keyFor(scope, req['key_id'])).key;
      return toProtoKey(key, key.purpose === 'DATA_PROTECTION' && this.ciphertexts ? await this.ciphertexts.outstanding(key.keyId) : undefined);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ListKeys')
  listKeys(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('ListKeys', metadata, call, (scope) => {
      const pageSize = (req['page_size'] as number) || API_LIMITS.defaultPageSize;
      if (pageSize > API_LIMITS.maxPageSize) throw invalidArgument('page_size', `must be at most ${API_LIMITS.maxPageSize}`);
      const token = (req['page_token'] as string) || '';
      const offset = token === '' ? 0 : Number.parseInt(Buffer.from(token, 'base64url').toString(), 10);
      if (!Number.isInteger(offset) || offset < 0) throw invalidArgument('page_token', 'is not a token this server issued');
      const keys = this.catalog.list({
        ...(unspecified(req['tenant']) ? {} : { tenant: validateTenant(req['tenant']) }),
        ...(unspecified(req['purpose']) ? {} : { purpose: validatePurpose(req['purpose']) }),
        labels: validateLabels(req['labels']),
      });
      const page = keys.slice(offset, offset + pageSize);
      const next = offset + pageSize < keys.length ? Buffer.from(String(offset + pageSize)).toString('base64url') : '';
      scope.facts.details = { returned: page.length };
      return { keys: page.map((s) => toProtoKey(s.key)), next_page_token: next };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'RotateKey')
  rotateKey(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('RotateKey', metadata, call, async (scope) => {
      const state = await this.keyFor(scope, req['key_id']);
      const keyId = state.key.keyId;
      const reason = unspecified(req['reason']) ? 'MANUAL' : validateRotationReason(req['reason']);
      const change = changeContext(scope, req);
      scope.facts.details = { rotationReason: reason };
      if (state.key.purpose === 'ROOT_TENANT') {
        await this.requireApproval(scope, change, this.dual('RotateRootTenantKey', keyId, { reason }), () =>
          this.lifecycle.preview(keyId, { type: 'RotateKey', data: { rotationReason: reason, material: { version: state.key.versions.length + 1, materialRef: 'preview' } } }, change),
        );
      }
      const key = await this.lifecycle.rotateKey(keyId, reason, change);
      scope.facts.keyVersion = key.primaryVersion;
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'UpdateRotationPolicy')
  updateRotationPolicy(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('UpdateRotationPolicy', metadata, call, async (scope) => {
      const keyId = (await this.keyFor(scope, req['key_id'])).key.keyId;
      const days = req['rotation_period_days'] as number;
      const change = changeContext(scope, req);
      await this.requireApproval(scope, change, this.dual('UpdateRotationPolicy', keyId, { rotationPeriodDays: days }), () =>
        this.lifecycle.preview(keyId, { type: 'UpdateRotationPolicy', data: { rotationPeriodDays: days } }, change),
      );
      const key = await this.lifecycle.updateRotationPolicy(keyId, days, change);
      scope.facts.details = { rotationPeriodDays: key.rotationPeriodDays };
      return toProtoKey(key);
    });
  }

  /** Only people can ask to retire a version before its dependents confirmed, and only with a second person. */
  private overrideRequested(scope: CallScope, req: Req): boolean {
    if (req['override_dependents'] !== true) return false;
    if (scope.principal.kind !== 'HUMAN') {
      throw new KmsError('PERMISSION_DENIED', 'permission denied: overriding dependent confirmation needs two people, not a workload', 'override_dependents');
    }
    return true;
  }

  @GrpcMethod(KMS_SERVICE, 'DisableKeyVersion')
  disableKeyVersion(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('DisableKeyVersion', metadata, call, async (scope) => {
      const keyId = (await this.keyFor(scope, req['key_id'])).key.keyId;
      const version = requiredVersion(req);
      scope.facts.keyVersion = version;
      const change = changeContext(scope, req);
      if (this.overrideRequested(scope, req)) {
        await this.requireApproval(scope, change, this.dual('RetireBeforeDependentsConfirmed', keyId, { version }), () =>
          this.lifecycle.preview(keyId, { type: 'DisableKeyVersion', data: { version, overrideDependents: true } }, change),
        );
      }
      return toProtoKey(await this.lifecycle.disableKeyVersion(keyId, version, change));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'RegisterDependent')
  registerDependent(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('RegisterDependent', metadata, call, async (scope) => {
      const keyId = (await this.keyFor(scope, req['key_id'])).key.keyId;
      const dependentId = req['dependent_id'] as string;
      scope.facts.details = { dependentId: String(dependentId).slice(0, 64) };
      return toProtoKey(await this.lifecycle.registerDependent(keyId, dependentId, (req['name'] as string) || dependentId, changeContext(scope, req)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'RemoveDependent')
  removeDependent(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('RemoveDependent', metadata, call, async (scope) => {
      const keyId = (await this.keyFor(scope, req['key_id'])).key.keyId;
      scope.facts.details = { dependentId: String(req['dependent_id']).slice(0, 64) };
      return toProtoKey(await this.lifecycle.removeDependent(keyId, req['dependent_id'] as string, changeContext(scope, req)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ConfirmKeyVersion')
  confirmKeyVersion(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('ConfirmKeyVersion', metadata, call, async (scope) => {
      // The dependent list is the authority: anyone else gets the same refusal as for an unknown key.
      const keyId = validateKeyId(req['key_id']);
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
      const version = requiredVersion(req);
      scope.facts.keyVersion = version;
      return toProtoKey(await this.lifecycle.confirmKeyVersion(keyId, scope.principal.identityId, version, changeContext(scope, req)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ReportOverdueConfirmations')
  reportOverdueConfirmations(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('ReportOverdueConfirmations', metadata, call, async (scope) => {
      const keyId = (await this.keyFor(scope, req['key_id'])).key.keyId;
      scope.facts.keyVersion = requiredVersion(req);
      return toProtoKey(await this.lifecycle.reportOverdueConfirmations(keyId, scope.facts.keyVersion, changeContext(scope, req)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'EnableKeyVersion')
  enableKeyVersion(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('EnableKeyVersion', metadata, call, async (scope) => {
      const keyId = (await this.keyFor(scope, req['key_id'])).key.keyId;
      const version = requiredVersion(req);
      scope.facts.keyVersion = version;
      const change = changeContext(scope, req);
      await this.requireApproval(scope, change, this.dual('EnableKeyVersion', keyId, { version }), () =>
        this.lifecycle.preview(keyId, { type: 'EnableKeyVersion', data: { version } }, change),
      );
      return toProtoKey(await this.lifecycle.enableKeyVersion(keyId, version, change));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ScheduleKeyVersionDestruction')
  scheduleKeyVersionDestruction(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('ScheduleKeyVersionDestruction', metadata, call, async (scope) => {
      const keyId = (await this.keyFor(scope, req['key_id'])).key.keyId;
      const version = requiredVersion(req);
      scope.facts.keyVersion = version;
      const delayDays = (req['destroy_after_days'] as number) || undefined;
      const change = changeContext(scope, req);
      const overrideDependents = this.overrideRequested(scope, req);
      await this.requireApproval(
        scope,
        change,
        this.dual('ScheduleKeyVersionDestruction', keyId, { version, delayDays: delayDays ?? null, overrideDependents }),
        () =>
          this.lifecycle.preview(
            keyId,
            { type: 'ScheduleKeyVersionDestruction', data: { version, ...(delayDays ? { delayDays } : {}), overrideDependents } },
            change,
          ),
      );
      return toProtoKey(await this.lifecycle.scheduleKeyVersionDestruction(keyId, version, delayDays, change));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'CancelKeyVersionDestruction')
  cancelKeyVersionDestruction(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('CancelKeyVersionDestruction', metadata, call, async (scope) => {
      const keyId = (await this.keyFor(scope, req['key_id'])).key.keyId;
      scope.facts.keyVersion = requiredVersion(req);
      return toProtoKey(await this.lifecycle.cancelKeyVersionDestruction(keyId, scope.facts.keyVersion, changeContext(scope, req)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'DestroyKeyVersion')
  destroyKeyVersion(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('DestroyKeyVersion', metadata, call, async (scope) => {
      const keyId = (await this.keyFor(scope, req['key_id'])).key.keyId;
      scope.facts.keyVersion = requiredVersion(req);
      return toProtoKey(await this.lifecycle.destroyKeyVersion(keyId, scope.facts.keyVersion, changeContext(scope, req)));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'SetMinDecryptionVersion')
  setMinDecryptionVersion(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('SetMinDecryptionVersion', metadata, call, async (scope) => {
      const state = await this.keyFor(scope, req['key_id']);
      const keyId = state.key.keyId;
      const min = requiredVersion(req, 'min_decryption_version');
      const change = changeContext(scope, req);
      // Raising the minimum tightens protection; lowering it re-opens old versions and needs approval.
      if (min < state.key.minDecryptionVersion) {
        await this.requireApproval(scope, change, this.dual('LowerMinDecryptionVersion', keyId, { minDecryptionVersion: min }), () =>
          this.lifecycle.preview(keyId, { type: 'SetMinDecryptionVersion', data: { minDecryptionVersion: min } }, change),
        );
      }
      const key = await this.lifecycle.setMinDecryptionVersion(keyId, min, change);
      scope.facts.details = { minDecryptionVersion: key.minDecryptionVersion };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ReportKeyCompromise')
  reportKeyCompromise(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('ReportKeyCompromise', metadata, call, async (scope) => {
      const state = await this.keyFor(scope, req['key_id']);
      const keyId = state.key.keyId;
      const version = (req['key_version'] as number) || state.key.primaryVersion;
      scope.facts.keyVersion = version;
      const change = changeContext(scope, req);
      await this.requireApproval(scope, change, this.dual('ReportKeyCompromise', keyId, { version }), () =>
        this.lifecycle.preview(
          keyId,
          { type: 'ReportKeyCompromise', data: { version, material: { version: state.key.versions.length + 1, materialRef: 'preview' } } },
          change,
        ),
      );
      const key = await this.lifecycle.reportKeyCompromise(keyId, version, change);
      scope.facts.details = { compromisedVersion: version, newPrimaryVersion: key.primaryVersion };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'SetKeyPolicy')
  setKeyPolicy(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('SetKeyPolicy', metadata, call, async (scope) => {
      const keyId = (await this.keyFor(scope, req['key_id'])).key.keyId;
      const policy = validateKeyPolicy(fromProtoPolicy(req['policy']));
      const change = changeContext(scope, req);
      await this.requireApproval(scope, change, this.dual('SetKeyPolicy', keyId, { grants: policy.grants }), () =>
        this.lifecycle.preview(keyId, { type: 'SetKeyPolicy', data: { policy } }, change),
      );
      return toProtoKey(await this.lifecycle.setKeyPolicy(keyId, policy, change));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Encrypt')
  encrypt(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('Encrypt', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.encrypt(access, req['key_id'], req['plaintext'], req['aad'], facts);
      return { ciphertext: r.ciphertext, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Decrypt')
  decrypt(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('Decrypt', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.decrypt(access, req['ciphertext'], req['aad'], facts);
      return { plaintext: r.plaintext, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ReEncrypt')
  reEncrypt(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('ReEncrypt', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.reEncrypt(access, req['ciphertext'], req['source_aad'], req['destination_key_id'], req['destination_aad'], facts);
      return { ciphertext: r.ciphertext, key_id: r.keyId, key_version: r.keyVersion, source_key_id: r.sourceKeyId, source_key_version: r.sourceKeyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GenerateDataKey')
  generateDataKey(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('GenerateDataKey', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.generateDataKey(access, req['key_id'], req['aad'], req['length_bytes'], req['without_plaintext'] === true, facts);
      return { plaintext: r.plaintext ?? Buffer.alloc(0), ciphertext: r.ciphertext, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Sign')
  sign(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('Sign', metadata, call, async ({ access, facts }) => {
      const { message, digest } = signInputs(req);
      const r = await this.crypto.sign(access, req['key_id'], message, digest, facts);
      return { signature: r.signature, key_id: r.keyId, key_version: r.keyVersion, algorithm: r.algorithm };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Verify')
  verify(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('Verify', metadata, call, async ({ access, facts }) => {
      const { message, digest } = signInputs(req);
      const r = await this.crypto.verify(access, req['key_id'], req['key_version'], message, digest, req['signature'], facts);
      return { valid: r.valid, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetPublicKey')
  getPublicKey(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('GetPublicKey', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.getPublicKey(access, req['key_id'], req['key_version'], facts);
      return { key_id: r.keyId, key_version: r.keyVersion, algorithm: r.algorithm, pem: r.pem, jwk: r.jwk, fingerprint: r.fingerprint };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetKeyOriginStatement')
  getKeyOriginStatement(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('GetKeyOriginStatement', metadata, call, async ({ access, facts }) => {
      const r = await this.origins.statement(access, req['key_id'], req['key_version'], facts);
      return {
        statement_json: r.statementJson,
        signature: r.signature,
        attestation_public_key_pem: r.attestationPublicKeyPem,
        attestation_key_fingerprint: r.attestationKeyFingerprint,
      };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GenerateMac')
  generateMac(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('GenerateMac', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.generateMac(access, req['key_id'], req['data'], facts);
      return { mac: r.mac, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'VerifyMac')
  verifyMac(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('VerifyMac', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.verifyMac(access, req['key_id'], req['key_version'], req['data'], req['mac'], facts);
      return { valid: r.valid, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GenerateRandom')
  generateRandom(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('GenerateRandom', metadata, call, ({ facts }) => ({ data: this.crypto.generateRandom(req['length_bytes'], facts) }));
  }

  /** Batch handler: admitted once, every item audited (one commit for all), one failure does not fail the batch. */
  private async batch<T>(operation: string, req: Req, metadata: Metadata, call: Call, item: (r: Req, scope: CallScope) => Promise<T>) {
    const results = await this.gate.runBatch(
      operation,
      metadata,
      call,
      (scope) => {
        try {
          return validateBatchSize(req['items']) as Req[];
        } catch (e) {
          return this.gate.refuse(scope.ctx, operation, e, { details: { batchSize: Array.isArray(req['items']) ? req['items'].length : 0 } });
        }
      },
      item,
    );
    return { results: results.map((r) => (r.ok ? { response: r.value } : itemError(r.error))) };
  }

  @GrpcMethod(KMS_SERVICE, 'BatchEncrypt')
  batchEncrypt(req: Req, metadata: Metadata, call: Call) {
    return this.batch('BatchEncrypt', req, metadata, call, async (r, { access, facts }) => {
      const out = await this.crypto.encrypt(access, r['key_id'], r['plaintext'], r['aad'], facts);
      return { ciphertext: out.ciphertext, key_id: out.keyId, key_version: out.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'BatchDecrypt')
  batchDecrypt(req: Req, metadata: Metadata, call: Call) {
    return this.batch('BatchDecrypt', req, metadata, call, async (r, { access, facts }) => {
      const out = await this.crypto.decrypt(access, r['ciphertext'], r['aad'], facts);
      return { plaintext: out.plaintext, key_id: out.keyId, key_version: out.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'BatchReEncrypt')
  batchReEncrypt(req: Req, metadata: Metadata, call: Call) {
    return this.batch('BatchReEncrypt', req, metadata, call, async (r, { access, facts }) => {
      const out = await this.crypto.reEncrypt(access, r['ciphertext'], r['source_aad'], r['destination_key_id'], r['destination_aad'], facts);
      return { ciphertext: out.ciphertext, key_id: out.keyId, key_version: out.keyVersion, source_key_id: out.sourceKeyId, source_key_version: out.sourceKeyVersion };
    });
  }
}
