import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { type IssuedProofToken, ProofTokenService } from '@kms/application';
import { type GetProofChainRequest__Output, type IssueProofTokenRequest__Output, KMS_SERVICE } from '@kms/contracts';
import { CallGate } from '../call-gate';

type Call = ServerUnaryCall<unknown, unknown>;

function toProto(t: Pick<IssuedProofToken, 'token' | 'tenant' | 'seq' | 'kid' | 'tokenHash'> & { prev?: string | null }) {
  return { token: t.token, tenant: t.tenant, seq: String(t.seq), kid: t.kid, token_hash: t.tokenHash, prev: t.prev ?? '' };
}

/** kms.v1.KeyManagementService, regulatory proof tokens: thin — admit the caller, call the proof-token service. */
@Controller()
export class ProofTokenController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(ProofTokenService) private readonly proofs: ProofTokenService,
  ) {}

  @GrpcMethod(KMS_SERVICE, 'IssueProofToken')
  issueProofToken(req: IssueProofTokenRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('IssueProofToken', req, metadata, call, async (scope) => {
      scope.facts.details = { tenant: req.tenant };
      return toProto(await this.proofs.issue(scope.access, req.tenant, req.claim_json, scope.principal.identityId, scope.ctx.requestId, scope.facts));
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetProofChain')
  getProofChain(req: GetProofChainRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GetProofChain', metadata, call, async (scope) => {
      const page = await this.proofs.chain(scope.access, req.tenant, Number(req.from_seq), req.page_size, scope.facts);
      return {
        tenant: page.tenant,
        tokens: page.tokens.map((t) => toProto({ ...t, tenant: page.tenant })),
        next_seq: String(page.nextSeq),
        last_seq: String(page.lastSeq),
      };
    });
  }
}
