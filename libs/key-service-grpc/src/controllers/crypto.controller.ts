import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { type CallScope, CryptoService, KeyOriginService, spkiPem, validateBatchSize } from '@kms/application';
import {
  type BatchDecryptRequest__Output,
  type BatchEncryptRequest__Output,
  type BatchReEncryptRequest__Output,
  type DecryptRequest__Output,
  type EncryptRequest__Output,
  type GenerateDataKeyPairRequest__Output,
  type GenerateDataKeyRequest__Output,
  type GenerateMacRequest__Output,
  type GenerateRandomRequest__Output,
  type GetKeyOriginStatementRequest__Output,
  type GetPublicKeyRequest__Output,
  KMS_SERVICE,
  type ReEncryptRequest__Output,
  type SignRequest__Output,
  type VerifyMacRequest__Output,
  type VerifyRequest__Output,
} from '@kms/contracts';
import { CallGate } from '../call-gate';
import { statusName, toGrpcError } from '../grpc-error.mapper';

type Call = ServerUnaryCall<unknown, unknown>;

function signInputs(req: SignRequest__Output | VerifyRequest__Output): { message?: unknown; digest?: unknown } {
  if (req.input === 'digest') return { digest: req.digest };
  if (req.input === 'message') return { message: req.message };
  return {};
}

function itemError(e: unknown) {
  const g = toGrpcError(e);
  return { error: { code: statusName(g.code), error_code: g.errorCode, message: g.message, field: g.field ?? '' } };
}

/** kms.v1.KeyManagementService, cryptography: thin — admit the caller, call the crypto service, shape the answer. */
@Controller()
export class CryptoController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(CryptoService) private readonly crypto: CryptoService,
    @Inject(KeyOriginService) private readonly origins: KeyOriginService,
  ) {}

  @GrpcMethod(KMS_SERVICE, 'Encrypt')
  encrypt(req: EncryptRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('Encrypt', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.encrypt(access, req.key_id, req.plaintext, req.aad, facts);
      return { ciphertext: r.ciphertext, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Decrypt')
  decrypt(req: DecryptRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('Decrypt', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.decrypt(access, req.ciphertext, req.aad, facts);
      return { plaintext: r.plaintext, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'ReEncrypt')
  reEncrypt(req: ReEncryptRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('ReEncrypt', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.reEncrypt(access, req.ciphertext, req.source_aad, req.destination_key_id, req.destination_aad, facts);
      return { ciphertext: r.ciphertext, key_id: r.keyId, key_version: r.keyVersion, source_key_id: r.sourceKeyId, source_key_version: r.sourceKeyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GenerateDataKeyPair')
  generateDataKeyPair(req: GenerateDataKeyPairRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GenerateDataKeyPair', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.generateDataKeyPair(access, req.key_id, req.aad, req.key_pair_spec, req.without_plaintext === true, facts);
      return {
        private_key_plaintext: r.privateKeyPlaintext ?? Buffer.alloc(0),
        private_key_ciphertext: r.ciphertext,
        public_key: r.publicKeySpki,
        public_key_pem: spkiPem(r.publicKeySpki),
        key_id: r.keyId,
        key_version: r.keyVersion,
        key_pair_spec: r.keyPairSpec,
      };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GenerateDataKey')
  generateDataKey(req: GenerateDataKeyRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GenerateDataKey', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.generateDataKey(access, req.key_id, req.aad, req.length_bytes, req.without_plaintext === true, facts);
      return { plaintext: r.plaintext ?? Buffer.alloc(0), ciphertext: r.ciphertext, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Sign')
  sign(req: SignRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('Sign', metadata, call, async ({ access, facts }) => {
      const { message, digest } = signInputs(req);
      const r = await this.crypto.sign(access, req.key_id, message, digest, facts);
      return { signature: r.signature, key_id: r.keyId, key_version: r.keyVersion, algorithm: r.algorithm };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Verify')
  verify(req: VerifyRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('Verify', metadata, call, async ({ access, facts }) => {
      const { message, digest } = signInputs(req);
      const r = await this.crypto.verify(access, req.key_id, req.key_version, message, digest, req.signature, facts);
      return { valid: r.valid, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetPublicKey')
  getPublicKey(req: GetPublicKeyRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GetPublicKey', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.getPublicKey(access, req.key_id, req.key_version, facts);
      return { key_id: r.keyId, key_version: r.keyVersion, algorithm: r.algorithm, pem: r.pem, jwk: r.jwk, fingerprint: r.fingerprint };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetKeyOriginStatement')
  getKeyOriginStatement(req: GetKeyOriginStatementRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GetKeyOriginStatement', metadata, call, async ({ access, facts }) => {
      const r = await this.origins.statement(access, req.key_id, req.key_version, facts);
      return {
        statement_json: r.statementJson,
        signature: r.signature,
        attestation_public_key_pem: r.attestationPublicKeyPem,
        attestation_key_fingerprint: r.attestationKeyFingerprint,
      };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GenerateMac')
  generateMac(req: GenerateMacRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GenerateMac', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.generateMac(access, req.key_id, req.data, facts);
      return { mac: r.mac, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'VerifyMac')
  verifyMac(req: VerifyMacRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('VerifyMac', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.verifyMac(access, req.key_id, req.key_version, req.data, req.mac, facts);
      return { valid: r.valid, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GenerateRandom')
  generateRandom(req: GenerateRandomRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GenerateRandom', metadata, call, ({ facts }) => ({ data: this.crypto.generateRandom(req.length_bytes, facts) }));
  }

  /** Batch handler: admitted once, every item audited (one commit for all), one failure does not fail the batch. */
  private async batch<I, T>(operation: string, items: I[] | undefined, metadata: Metadata, call: Call, item: (r: I, scope: CallScope) => Promise<T>) {
    const results = await this.gate.runBatch(
      operation,
      metadata,
      call,
      (scope) => {
        try {
          return validateBatchSize(items) as I[];
        } catch (e) {
          return this.gate.refuse(scope.ctx, operation, e, { details: { batchSize: Array.isArray(items) ? items.length : 0 } });
        }
      },
      item,
    );
    return { results: results.map((r) => (r.ok ? { response: r.value } : itemError(r.error))) };
  }

  @GrpcMethod(KMS_SERVICE, 'BatchEncrypt')
  batchEncrypt(req: BatchEncryptRequest__Output, metadata: Metadata, call: Call) {
    return this.batch('BatchEncrypt', req.items, metadata, call, async (r, { access, facts }) => {
      const out = await this.crypto.encrypt(access, r.key_id, r.plaintext, r.aad, facts);
      return { ciphertext: out.ciphertext, key_id: out.keyId, key_version: out.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'BatchDecrypt')
  batchDecrypt(req: BatchDecryptRequest__Output, metadata: Metadata, call: Call) {
    return this.batch('BatchDecrypt', req.items, metadata, call, async (r, { access, facts }) => {
      const out = await this.crypto.decrypt(access, r.ciphertext, r.aad, facts);
      return { plaintext: out.plaintext, key_id: out.keyId, key_version: out.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'BatchReEncrypt')
  batchReEncrypt(req: BatchReEncryptRequest__Output, metadata: Metadata, call: Call) {
    return this.batch('BatchReEncrypt', req.items, metadata, call, async (r, { access, facts }) => {
      const out = await this.crypto.reEncrypt(access, r.ciphertext, r.source_aad, r.destination_key_id, r.destination_aad, facts);
      return { ciphertext: out.ciphertext, key_id: out.keyId, key_version: out.keyVersion, source_key_id: out.sourceKeyId, source_key_version: out.sourceKeyVersion };
    });
  }
}
