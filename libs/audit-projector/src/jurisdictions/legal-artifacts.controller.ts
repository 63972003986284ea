import type { ServerResponse } from 'node:http';
import { Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { LegalArtifactService } from '@kms/application';
import { invalidArgument, type LegalArtifactState, MAX_LEGAL_ARTIFACT_BYTES } from '@kms/domain';
import { ComplianceGateway, type HttpRequest } from '../http/compliance-gateway';

/** Injection token: the legal appendix service (always present: listing needs only the event store). */
export const LEGAL_ARTIFACTS = Symbol('LEGAL_ARTIFACTS');

type BodyRequest = HttpRequest & { body?: unknown };

/** Media types Express's own body parsers read before a controller runs (JSON, forms): their bytes as sent are gone. */
function parsedByExpress(req: BodyRequest): boolean {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type.endsWith('+json') || type === 'application/x-www-form-urlencoded';
}

/** An artifact as the API shows it, with where its registration is proven in the ledger. */
export function legalArtifactView(a: LegalArtifactState & { ledgerRecordId?: string }): Record<string, unknown> {
  return {
    ...a,
    ...(a.ledgerRecordId ? { inclusion_proof: `/v1/ledger/events/inclusion?recordId=${encodeURIComponent(a.ledgerRecordId)}` } : {}),
  };
}

function single(q: Record<string, unknown>, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidArgument(name, 'must be given once');
  return v;
}

/**
 * The uploaded document's bytes, at most MAX_LEGAL_ARTIFACT_BYTES: read only after the caller was
 * admitted; a larger body is refused naming `content` (a declared length at once, otherwise as soon
 * as it passes the bound) and the rest is discarded unread.
 */
function readUpload(req: BodyRequest): Promise<Buffer> {
  if (parsedByExpress(req)) {
    // Express already parsed it (JSON or a form): the bytes as sent are gone.
    throw invalidArgument('content-type', 'an upload is sent as the document\'s own bytes (e.g. application/pdf or application/octet-stream with ?mediaType=), not as JSON or a form');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_LEGAL_ARTIFACT_BYTES) {
    req.resume();
    throw invalidArgument('content', `must be at most ${MAX_LEGAL_ARTIFACT_BYTES} bytes (10 MiB), the request declares ${declared}`);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > MAX_LEGAL_ARTIFACT_BYTES) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.resume();
        reject(invalidArgument('content', `must be at most ${MAX_LEGAL_ARTIFACT_BYTES} bytes (10 MiB)`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks, total));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

/**
 * The legal appendix of each jurisdiction (docs/jurisdictions.md): register a document by upload
 * (`POST /v1/legal-artifacts/uploads`, the SHA-256 computed here) or by https reference (`POST
 * /v1/legal-artifacts`, JSON, the SHA-256 as the registrant states it), withdraw one, list them per
 * jurisdiction. Changes are audited RegisterLegalArtifact / WithdrawLegalArtifact and commit with
 * their audit record; each is an event whose ledger leaf (`ledgerRecordId`) proves its hash.
 */
@Controller('v1/legal-artifacts')
export class LegalArtifactsController {
  constructor(
    @Inject(ComplianceGateway) private readonly gateway: ComplianceGateway,
    @Inject(LEGAL_ARTIFACTS) private readonly artifacts: LegalArtifactService,
  ) {}

  /** GET /v1/legal-artifacts[?jurisdiction=eu][&status=ACTIVE]: every configured jurisdiction's artifacts, or one's. */
  @Get()
  list(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/legal-artifacts' }, async () => {
      const q = req.query;
      const raw = single(q, 'jurisdiction');
      const status = single(q, 'status');
      if (status !== undefined && !['ACTIVE', 'SUPERSEDED', 'WITHDRAWN'].includes(status)) throw invalidArgument('status', 'must be ACTIVE, SUPERSEDED or WITHDRAWN');
      const jurisdictions = raw === undefined ? this.artifacts.jurisdictions() : [this.artifacts.configuredJurisdiction(raw)];
      const out = [];
      for (const jurisdiction of jurisdictions) {
        const items = (await this.artifacts.list(jurisdiction)).filter((a) => status === undefined || a.status === status);
        out.push({ jurisdiction, artifacts: items.map(legalArtifactView) });
      }
      return { json: { jurisdictions: out } };
    });
  }

  /** POST /v1/legal-artifacts (JSON): a document referenced by https URL, with the SHA-256 its registrant states. */
  @Post()
  @HttpCode(201)
  reference(@Req() req: BodyRequest, @Res() res: ServerResponse): Promise<void> {
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    return this.gateway.handle(req, res, { operation: 'RegisterLegalArtifact', route: 'POST /v1/legal-artifacts', change: { request: body } }, async (principal, facts, requestId) => {
      if (!parsedByExpress(req) || typeof req.body !== 'object' || req.body === null) throw invalidArgument('content-type', 'must be application/json: {jurisdiction, kind, title, owner, retentionLocation, url, sha256[, supersedes]}');
      const registered = await this.artifacts.register(
        { jurisdiction: body['jurisdiction'], kind: body['kind'], title: body['title'], owner: body['owner'], retentionLocation: body['retentionLocation'], supersedes: body['supersedes'] },
        { url: body['url'], sha256: body['sha256'] },
        principal.identityId,
        requestId,
        facts,
      );
      return this.answer(registered, facts.details);
    });
  }

  /**
   * POST /v1/legal-artifacts/uploads?jurisdiction=&kind=&title=&owner=&retentionLocation=[&fileName=][&mediaType=][&supersedes=]
   * with the document's bytes as the body (at most 10 MiB): the SHA-256 is computed here; the bytes are not kept.
   */
  @Post('uploads')
  @HttpCode(201)
  upload(@Req() req: BodyRequest, @Res() res: ServerResponse): Promise<void> {
    const q = req.query;
    return this.gateway.handle(req, res, { operation: 'RegisterLegalArtifact', route: 'POST /v1/legal-artifacts/uploads', change: { request: q } }, async (principal, facts, requestId) => {
      const input = {
        jurisdiction: single(q, 'jurisdiction'),
        kind: single(q, 'kind'),
        title: single(q, 'title'),
        owner: single(q, 'owner'),
        retentionLocation: single(q, 'retentionLocation'),
        supersedes: single(q, 'supersedes'),
      };
      const mediaType = single(q, 'mediaType') ?? req.headers['content-type'];
      const fileName = single(q, 'fileName');
      const content = await readUpload(req);
      const registered = await this.artifacts.register(input, { upload: content, mediaType, ...(fileName !== undefined ? { fileName } : {}) }, principal.identityId, requestId, facts);
      return this.answer(registered, facts.details);
    });
  }

  /** POST /v1/legal-artifacts/{id}/withdrawal {reason}: the artifact stays listed, WITHDRAWN. */
  @Post(':id/withdrawal')
  @HttpCode(200)
  withdraw(@Req() req: BodyRequest, @Res() res: ServerResponse, @Param('id') id: string): Promise<void> {
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    return this.gateway.handle(req, res, { operation: 'WithdrawLegalArtifact', route: 'POST /v1/legal-artifacts/{id}/withdrawal', change: { request: { id, body } } }, async (principal, facts, requestId) => {
      const withdrawn = await this.artifacts.withdraw(id, body['reason'], principal.identityId, requestId, facts);
      return this.answer(withdrawn, facts.details, 200);
    });
  }

  private answer(change: { artifact: LegalArtifactState; ledgerRecordId: string }, details: Record<string, string | number | boolean> | undefined, status = 201) {
    return {
      status,
      json: { artifact: legalArtifactView({ ...change.artifact, ledgerRecordId: change.ledgerRecordId }), ledgerRecordId: change.ledgerRecordId },
      headers: { 'x-kms-ledger-record-id': change.ledgerRecordId },
      ...(details ? { details } : {}),
    };
  }
}
