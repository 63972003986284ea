import { Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CallPipeline, ProofTokenService } from '@kms/application';
import { invalidArgument } from '@kms/domain';
import { problem } from './console-http';

type Request = IncomingMessage;

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function integer(raw: string | undefined, field: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(raw)) throw invalidArgument(field, 'must be a non-negative integer');
  return Number(raw);
}

/**
 * Regulatory proof token chains over HTTP with a bearer token, through the one call pipeline (role
 * matrix, key policy, fail-closed audit): `GET /v1/rpt/{tenant}` pages the chain,
 * `GET /v1/rpt/{tenant}/jwks` the keys that verify it, `POST /v1/rpt/{tenant}/verifications`
 * runs verifyChain over the whole stored chain.
 */
@Controller('v1/rpt')
export class ProofChainHttpController {
  constructor(
    @Inject(CallPipeline) private readonly pipeline: CallPipeline,
    @Inject(ProofTokenService) private readonly proofs: ProofTokenService,
  ) {}

  private async call<T>(req: Request, res: ServerResponse, operation: string, route: string, work: (scope: Parameters<Parameters<CallPipeline['run']>[2]>[0]) => Promise<T>): Promise<T> {
    res.setHeader('cache-control', 'no-store');
    const requestId = header(req, 'x-request-id');
    const authorization = header(req, 'authorization');
    const peer = req.socket.remoteAddress;
    const incoming = {
      operation,
      ...(authorization ? { authorization } : {}),
      ...(requestId ? { requestId } : {}),
      ...(peer ? { peer } : {}),
      details: { transport: 'http', route },
    };
    const ctx = this.pipeline.begin(incoming);
    res.setHeader('x-request-id', ctx.requestId);
    try {
      return await this.pipeline.run(ctx, incoming, work);
    } catch (e) {
      return problem(e, res);
    }
  }

  @Get(':tenant')
  chain(@Param('tenant') tenant: string, @Query('from_seq') fromSeq: string | undefined, @Query('page_size') pageSize: string | undefined, @Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.call(req, res, 'GetProofChain', 'GET /v1/rpt/{tenant}', async (scope) => {
      const page = await this.proofs.chain(scope.access, tenant, integer(fromSeq, 'from_seq'), integer(pageSize, 'page_size'), scope.facts);
      return { tenant: page.tenant, tokens: page.tokens.map((t) => ({ seq: t.seq, token: t.token, kid: t.kid, token_hash: t.tokenHash, prev: t.prev ?? '' })), next_seq: page.nextSeq, last_seq: page.lastSeq };
    });
  }

  @Get(':tenant/jwks')
  jwks(@Param('tenant') tenant: string, @Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.call(req, res, 'GetProofChain', 'GET /v1/rpt/{tenant}/jwks', (scope) => this.proofs.publishedKeys(scope.access, tenant, scope.facts));
  }

  @Post(':tenant/verifications')
  @HttpCode(200)
  verify(@Param('tenant') tenant: string, @Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.call(req, res, 'GetProofChain', 'POST /v1/rpt/{tenant}/verifications', (scope) => this.proofs.verifyStored(scope.access, tenant, scope.facts));
  }
}
