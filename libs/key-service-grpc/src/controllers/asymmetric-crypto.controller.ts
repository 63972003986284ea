import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { CryptoService } from '@kms/application';
import { type AsymmetricDecryptRequest__Output, type DecapsulateRequest__Output, KMS_SERVICE } from '@kms/contracts';
import { CallGate } from '../call-gate';

type Call = ServerUnaryCall<unknown, unknown>;

/** kms.v1.KeyManagementService, asymmetric decryption and key encapsulation (issue #21): thin, like CryptoController. */
@Controller()
export class AsymmetricCryptoController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(CryptoService) private readonly crypto: CryptoService,
  ) {}

  @GrpcMethod(KMS_SERVICE, 'AsymmetricDecrypt')
  asymmetricDecrypt(req: AsymmetricDecryptRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('AsymmetricDecrypt', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.asymmetricDecrypt(access, req.key_id, req.key_version, req.ciphertext, facts);
      return { plaintext: r.plaintext, key_id: r.keyId, key_version: r.keyVersion };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'Decapsulate')
  decapsulate(req: DecapsulateRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('Decapsulate', metadata, call, async ({ access, facts }) => {
      const r = await this.crypto.decapsulate(access, req.key_id, req.key_version, req.ciphertext, facts);
      return { shared_secret: r.sharedSecret, key_id: r.keyId, key_version: r.keyVersion };
    });
  }
}
