import { Metadata, type ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import {
  AuditedExecutor,
  type CallContext,
  type ChangeContext,
  CryptoService,
  KeyCatalog,
  KeyLifecycleService,
  type OperationFacts,
  validateBatchSize,
  validateKeyId,
} from '@kms/application';
import { API_LIMITS, KMS_SERVICE } from '@kms/contracts';
import {
  invalidArgument,
  type KeyPurpose,
  validateLabels,
  validateOptionalText,
  validatePurpose,
  validateRotationReason,
  validateTenant,
  LIMITS,
} from '@kms/domain';
import { callContext } from './call-context';
import { statusName, toGrpcError, toServiceError } from './grpc-error.mapper';
import { toProtoKey } from './key.mapper';

type Call = ServerUnaryCall<unknown, unknown>;
type Req = Record<string, unknown>;

function unspecified(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (typeof v === 'string' && v.endsWith('_UNSPECIFIED'));
}

function changeContext(ctx: CallContext, req: Req): ChangeContext {
  const c = (req['context'] ?? {}) as Req;
  const reason = validateOptionalText(c['reason'], 'context.reason', LIMITS.reasonMaxLength);
  const changeTicket = validateOptionalText(c['change_ticket'], 'context.change_ticket', LIMITS.changeTicketMaxLength);
  return { actor: ctx.actor, correlationId: ctx.requestId, ...(reason ? { reason } : {}), ...(changeTicket ? { changeTicket } : {}) };
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

/** kms.v1.KeyManagementService over gRPC. Thin: validate shape, call the application, map errors. */
@Controller()
export class KeyManagementController {
  constructor(
    @Inject(KeyLifecycleService) private readonly lifecycle: KeyLifecycleService,
    @Inject(CryptoService) private readonly crypto: CryptoService,
    @Inject(KeyCatalog) private readonly catalog: KeyCatalog,
    @Inject(AuditedExecutor) private readonly executor: AuditedExecutor,
  ) {}

  /** Audit the call whatever happens, answer with the request id, map errors to gRPC statuses. */
  private async handle<T>(operation: string, metadata: Metadata, call: Call, fn: (ctx: CallContext, facts: OperationFacts) => Promise<T> | T): Promise<T> {
    const ctx = callContext(metadata, call);
    const headers = new Metadata();
    headers.set('x-request-id', ctx.requestId);
    call.sendMetadata(headers);
    try {
      return await this.executor.run(ctx, operation, (facts) => fn(ctx, facts));
    } catch (e) {
      throw new RpcException(toServiceError(e));
    }
  }

  @GrpcMethod(KMS_SERVICE, 'CreateKey')
  createKey(req: Req, metadata: Metadata, call: Call) {
    return this.handle('CreateKey', metadata, call, async (ctx, facts) => {
      const key = await this.lifecycle.createKey(
        {
          tenant: unspecified(req['tenant']) ? 'default' : (req['tenant'] as string),
          name: req['name'] as string,
          purpose: (unspecified(req['purpose']) ? undefined : req['purpose']) as KeyPurpose,
          algorithm: (unspecified(req['algorithm']) ? undefined : req['algorithm']) as never,
          protectionLevel: (unspecified(req['protection_level']) ? 'SOFTWARE' : req['protection_level']) as never,
          labels: (req['labels'] ?? {}) as Record<string, string>,
          owner: unspecified(req['owner']) ? ctx.actor : (req['owner'] as string),
          ...(req['rotation_period_days'] ? { rotationPeriodDays: req['rotation_period_days'] as number } : {}),
        },
        changeContext(ctx, req),
      );
      facts.keyId = key.keyId;
      facts.keyVersion = key.primaryVersion;
      facts.details = { purpose: key.purpose, algorithm: key.algorithm, protectionLevel: key.protectionLevel };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetKey')
  getKey(req: Req, metadata: Metadata, call: Call) {
    return this.handle('GetKey', metadata, call, async (_ctx, facts) => {
      facts.keyId = validateKeyId(req['key_id']);
      return toProtoKey((await this.catalog.get(facts.keyId)).key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ListKeys')
  listKeys(req: Req, metadata: Metadata, call: Call) {
    return this.handle('ListKeys', metadata, call, (_ctx, facts) => {
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
      facts.details = { returned: page.length };
      return { keys: page.map((s) => toProtoKey(s.key)), next_page_token: next };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'RotateKey')
  rotateKey(req: Req, metadata: Metadata, call: Call) {
    return this.handle('RotateKey', metadata, call, async (ctx, facts) => {
      facts.keyId = validateKeyId(req['key_id']);
      const reason = unspecified(req['reason']) ? 'MANUAL' : validateRotationReason(req['reason']);
      const key = await this.lifecycle.rotateKey(facts.keyId, reason, changeContext(ctx, req));
      facts.keyVersion = key.primaryVersion;
      facts.details = { rotationReason: reason };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'UpdateRotationPolicy')
  updateRotationPolicy(req: Req, metadata: Metadata, call: Call) {
    return this.handle('UpdateRotationPolicy', metadata, call, async (ctx, facts) => {
      facts.keyId = validateKeyId(req['key_id']);
      const key = await this.lifecycle.updateRotationPolicy(facts.keyId, req['rotation_period_days'] as number, changeContext(ctx, req));
      facts.details = { rotationPeriodDays: key.rotationPeriodDays };
      return toProtoKey(key);
    });
  }

  private versionCommand(
    operation: string,
    run: (keyId: string, version: number, change: ChangeContext, req: Req) => Promise<import('@kms/domain').KeyRecord>,
  ) {
    return (req: Req, metadata: Metadata, call: Call) =>
      this.handle(operation, metadata, call, async (ctx, facts) => {
        facts.keyId = validateKeyId(req['key_id']);
        const version = req['key_version'] as number;
        if (!version) throw invalidArgument('key_version', 'is required');
        facts.keyVersion = version;
        return toProtoKey(await run(facts.keyId, version, changeContext(ctx, req), req));
      });
  }

  @GrpcMethod(KMS_SERVICE, 'DisableKeyVersion')
  disableKeyVersion(req: Req, metadata: Metadata, call: Call) {
    return this.versionCommand('DisableKeyVersion', (id, v, c) => this.lifecycle.disableKeyVersion(id, v, c))(req, metadata, call);
  }

  @GrpcMethod(KMS_SERVICE, 'EnableKeyVersion')
  enableKeyVersion(req: Req, metadata: Metadata, call: Call) {
    return this.versionCommand('EnableKeyVersion', (id, v, c) => this.lifecycle.enableKeyVersion(id, v, c))(req, metadata, call);
  }

  @GrpcMethod(KMS_SERVICE, 'ScheduleKeyVersionDestruction')
  scheduleKeyVersionDestruction(req: Req, metadata: Metadata, call: Call) {
    return this.versionCommand('ScheduleKeyVersionDestruction', (id, v, c, r) =>
      this.lifecycle.scheduleKeyVersionDestruction(id, v, (r['destroy_after_days'] as number) || undefined, c),
    )(req, metadata, call);
  }

  @GrpcMethod(KMS_SERVICE, 'CancelKeyVersionDestruction')
  cancelKeyVersionDestruction(req: Req, metadata: Metadata, call: Call) {
    return this.versionCommand('CancelKeyVersionDestruction', (id, v, c) => this.lifecycle.cancelKeyVersionDestruction(id, v, c))(
      req,
      metadata,
      call,
    );
  }

  @GrpcMethod(KMS_SERVICE, 'DestroyKeyVersion')
  destroyKeyVersion(req: Req, metadata: Metadata, call: Call) {
    return this.versionCommand('DestroyKeyVersion', (id, v, c) => this.lifecycle.destroyKeyVersion(id, v, c))(req, metadata, call);
  }

  @GrpcMethod(KMS_SERVICE, 'SetMinDecryptionVersion')
  setMinDecryptionVersion(req: Req, metadata: Metadata, call: Call) {
    return this.handle('SetMinDecryptionVersion', metadata, call, async (ctx, facts) => {
      facts.keyId = validateKeyId(req['key_id']);
      const min = req['min_decryption_version'] as number;
      if (!min) throw invalidArgument('min_decryption_version', 'is required');
      const key = await this.lifecycle.setMinDecryptionVersion(facts.keyId, min, changeContext(ctx, req));
      facts.details = { minDecryptionVersion: key.minDecryptionVersion };
      return toProtoKey(key);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Encrypt')
  encrypt(req: Req, metadata: Metadata, call: Call) {
    return this.handle('Encrypt', metadata, call, async (_ctx, facts) => {
      const r = await this.crypto.encrypt(req['key_id'], req['plaintext'], req['aad'], facts);
      return { ciphertext: r.ciphertext, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Decrypt')
  decrypt(req: Req, metadata: Metadata, call: Call) {
    return this.handle('Decrypt', metadata, call, async (_ctx, facts) => {
      const r = await this.crypto.decrypt(req['ciphertext'], req['aad'], facts);
      return { plaintext: r.plaintext, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ReEncrypt')
  reEncrypt(req: Req, metadata: Metadata, call: Call) {
    return this.handle('ReEncrypt', metadata, call, async (_ctx, facts) => {
      const r = await this.crypto.reEncrypt(req['ciphertext'], req['source_aad'], req['destination_key_id'], req['destination_aad'], facts);
      return {
        ciphertext: r.ciphertext,
        key_id: r.keyId,
        key_version: r.keyVersion,
        source_key_id: r.sourceKeyId,
        source_key_version: r.sourceKeyVersion,
      };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GenerateDataKey')
  generateDataKey(req: Req, metadata: Metadata, call: Call) {
    return this.handle('GenerateDataKey', metadata, call, async (_ctx, facts) => {
      const r = await this.crypto.generateDataKey(req['key_id'], req['aad'], req['length_bytes'], req['without_plaintext'] === true, facts);
      return { plaintext: r.plaintext ?? Buffer.alloc(0), ciphertext: r.ciphertext, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Sign')
  sign(req: Req, metadata: Metadata, call: Call) {
    return this.handle('Sign', metadata, call, async (_ctx, facts) => {
      const { message, digest } = signInputs(req);
      const r = await this.crypto.sign(req['key_id'], message, digest, facts);
      return { signature: r.signature, key_id: r.keyId, key_version: r.keyVersion, algorithm: r.algorithm };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Verify')
  verify(req: Req, metadata: Metadata, call: Call) {
    return this.handle('Verify', metadata, call, async (_ctx, facts) => {
      const { message, digest } = signInputs(req);
      const r = await this.crypto.verify(req['key_id'], req['key_version'], message, digest, req['signature'], facts);
      return { valid: r.valid, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetPublicKey')
  getPublicKey(req: Req, metadata: Metadata, call: Call) {
    return this.handle('GetPublicKey', metadata, call, async (_ctx, facts) => {
      const r = await this.crypto.getPublicKey(req['key_id'], req['key_version'], facts);
      return { key_id: r.keyId, key_version: r.keyVersion, algorithm: r.algorithm, pem: r.pem, jwk: r.jwk, fingerprint: r.fingerprint };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GenerateMac')
  generateMac(req: Req, metadata: Metadata, call: Call) {
    return this.handle('GenerateMac', metadata, call, async (_ctx, facts) => {
      const r = await this.crypto.generateMac(req['key_id'], req['data'], facts);
      return { mac: r.mac, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'VerifyMac')
  verifyMac(req: Req, metadata: Metadata, call: Call) {
    return this.handle('VerifyMac', metadata, call, async (_ctx, facts) => {
      const r = await this.crypto.verifyMac(req['key_id'], req['key_version'], req['data'], req['mac'], facts);
      return { valid: r.valid, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GenerateRandom')
  generateRandom(req: Req, metadata: Metadata, call: Call) {
    return this.handle('GenerateRandom', metadata, call, (_ctx, facts) => ({ data: this.crypto.generateRandom(req['length_bytes'], facts) }));
  }

  /** Batch handler: every item audited (one commit for all), one failure does not fail the batch. */
  private async batch<T>(
    operation: string,
    req: Req,
    metadata: Metadata,
    call: Call,
    item: (r: Req, facts: OperationFacts) => Promise<T>,
  ) {
    const ctx = callContext(metadata, call);
    const headers = new Metadata();
    headers.set('x-request-id', ctx.requestId);
    call.sendMetadata(headers);
    try {
      let items: Req[];
      try {
        items = validateBatchSize(req['items']) as Req[];
      } catch (e) {
        return await this.executor.refuse(ctx, operation, e, { details: { batchSize: Array.isArray(req['items']) ? req['items'].length : 0 } });
      }
      const results = await this.executor.runBatch(ctx, operation, items, (r, facts) => item(r, facts));
      return { results: results.map((r) => (r.ok ? { response: r.value } : itemError(r.error))) };
    } catch (e) {
      throw new RpcException(toServiceError(e));
    }
  }

  @GrpcMethod(KMS_SERVICE, 'BatchEncrypt')
  batchEncrypt(req: Req, metadata: Metadata, call: Call) {
    return this.batch('BatchEncrypt', req, metadata, call, async (r, facts) => {
      const out = await this.crypto.encrypt(r['key_id'], r['plaintext'], r['aad'], facts);
      return { ciphertext: out.ciphertext, key_id: out.keyId, key_version: out.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'BatchDecrypt')
  batchDecrypt(req: Req, metadata: Metadata, call: Call) {
    return this.batch('BatchDecrypt', req, metadata, call, async (r, facts) => {
      const out = await this.crypto.decrypt(r['ciphertext'], r['aad'], facts);
      return { plaintext: out.plaintext, key_id: out.keyId, key_version: out.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'BatchReEncrypt')
  batchReEncrypt(req: Req, metadata: Metadata, call: Call) {
    return this.batch('BatchReEncrypt', req, metadata, call, async (r, facts) => {
      const out = await this.crypto.reEncrypt(r['ciphertext'], r['source_aad'], r['destination_key_id'], r['destination_aad'], facts);
      return {
        ciphertext: out.ciphertext,
        key_id: out.keyId,
        key_version: out.keyVersion,
        source_key_id: out.sourceKeyId,
        source_key_version: out.sourceKeyVersion,
      };
    });
  }
}
