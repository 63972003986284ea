import type { ServerResponse } from 'node:http';
import { Controller, Get, HttpCode, Inject, Optional, Param, Post, Req, Res } from '@nestjs/common';
import { isUuid } from '@kms/domain';
import { LEDGER_LOGS, type LedgerLog } from '@kms/ledger';
import { EvidenceBundleBuilder, EvidenceNotFoundError } from '../evidence/evidence-bundle.builder';
import { LedgerError, LedgerStore } from '../ledger/ledger-store';
import { ProjectionRunner } from '../projections/projection-runner';
import { ProjectionStore } from '../projections/projection-store';
import { LedgerReconciler, type ReconciliationReport } from '../reconciliation/ledger-reconciler';
import { ComplianceGateway, HttpProblem, type HttpRequest } from './compliance-gateway';
import { ComplianceQueries, type DeclaredHsm } from './compliance-queries';
import { COMPLIANCE_OPENAPI } from './openapi.document';

/** Injection token: the HSM instances the configuration declares (GET /v1/jurisdictions lists them per jurisdiction). */
export const DECLARED_HSMS = Symbol('DECLARED_HSMS');

function keyIdParam(keyId: string): string {
  if (!isUuid(keyId)) throw new HttpProblem(400, 'INVALID_ARGUMENT', 'keyId: must be a UUID', 'keyId');
  return keyId;
}

function logParam(log: string): LedgerLog {
  if (!(LEDGER_LOGS as readonly string[]).includes(log)) throw new HttpProblem(404, 'LOG_NOT_FOUND', 'log: must be events or audit', 'log');
  return log as LedgerLog;
}

function sizeParam(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isSafeInteger(n) || n < 0) throw new HttpProblem(400, 'INVALID_ARGUMENT', `${name}: must be a tree size`, name);
  return n;
}

async function ledgerCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof LedgerError) throw new HttpProblem(e.code === 'INVALID_RANGE' ? 400 : 404, e.code, e.message);
    throw e;
  }
}

/** The compliance API (docs/audit-and-evidence.md). Explicit @Inject tokens: tsx emits no decorator metadata. */
@Controller('v1')
export class ComplianceController {
  constructor(
    @Inject(ComplianceGateway) private readonly gateway: ComplianceGateway,
    @Inject(ComplianceQueries) private readonly queries: ComplianceQueries,
    @Inject(LedgerStore) private readonly ledger: LedgerStore,
    @Inject(EvidenceBundleBuilder) private readonly evidence: EvidenceBundleBuilder,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(ProjectionStore) private readonly store: ProjectionStore,
    @Inject(DECLARED_HSMS) private readonly declaredHsms: readonly DeclaredHsm[],
    @Optional() @Inject(LedgerReconciler) private readonly reconciler?: LedgerReconciler | null,
  ) {}

  private reconciliation(): LedgerReconciler {
    if (!this.reconciler) throw new HttpProblem(404, 'RECONCILIATION_NOT_CONFIGURED', 'the ledger reconciliation is not configured in this projector (it needs the PostgreSQL event store and the seal key)');
    return this.reconciler;
  }

  /** Reconcile the source tables against the ledger now; answers the report (200 also when it found divergences). */
  @Post('ledger/reconciliations')
  @HttpCode(200)
  reconcile(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'POST /v1/ledger/reconciliations' }, async () => {
      const report = await this.reconciliation().run();
      return { json: report, details: { divergences: report.divergences.length } };
    });
  }

  @Get('ledger/reconciliations/latest')
  latestReconciliation(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/ledger/reconciliations/latest' }, async () => {
      const report: ReconciliationReport | undefined = this.reconciliation().latest();
      if (!report) throw new HttpProblem(404, 'NO_RECONCILIATION_YET', 'no reconciliation has finished since the projector started; POST /v1/ledger/reconciliations runs one');
      return { json: report };
    });
  }

  /** The OpenAPI document describes the API only; it is served without a token. */
  @Get('openapi.json')
  openapi(): typeof COMPLIANCE_OPENAPI {
    return COMPLIANCE_OPENAPI;
  }

  @Get('keys')
  keys(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/keys' }, async () => ({ json: await this.queries.keys(req.query) }));
  }

  @Get('keys/:keyId/history')
  history(@Req() req: HttpRequest, @Res() res: ServerResponse, @Param('keyId') keyId: string): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/keys/{keyId}/history', keyId }, async () => ({
      json: await this.queries.keyHistory(keyIdParam(keyId)),
    }));
  }

  @Get('audit-records')
  auditRecords(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/audit-records' }, async () => ({ json: await this.queries.auditRecords(req.query) }));
  }

  /** GET /v1/jurisdictions: keys grouped by jurisdiction, with the HSM instances declared in each (docs/jurisdictions.md). */
  @Get('jurisdictions')
  jurisdictions(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/jurisdictions' }, async () => ({ json: await this.queries.jurisdictions(this.declaredHsms) }));
  }

  @Get('approvals')
  approvals(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/approvals' }, async () => ({ json: await this.queries.approvals(req.query) }));
  }

  @Get('controls')
  controls(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/controls' }, async () => {
      const [e, a] = [await this.store.checkpoint('events'), await this.store.checkpoint('audit')];
      const [ec, ac] = [await this.ledger.latestCheckpoint('events'), await this.ledger.latestCheckpoint('audit')];
      const controls = await this.queries.controls({ events: e.leafCount, audit: a.leafCount, eventsCheckpoint: ec?.treeSize ?? 0, auditCheckpoint: ac?.treeSize ?? 0 }, this.declaredHsms);
      return { json: { generatedAt: new Date().toISOString(), controls } };
    });
  }

  @Get('escrow')
  escrow(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/escrow' }, async () => ({ json: { items: await this.queries.escrow() } }));
  }

  @Get('drills')
  drills(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/drills' }, async () => ({ json: await this.queries.drills() }));
  }

  @Get('projections')
  projections(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/projections' }, async () => ({ json: { projections: this.runner.snapshot() } }));
  }

  @Get('ledger/:log/checkpoint')
  checkpoint(@Req() req: HttpRequest, @Res() res: ServerResponse, @Param('log') log: string): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/ledger/{log}/checkpoint' }, async () => {
      const cp = await this.ledger.latestCheckpoint(logParam(log));
      if (!cp) throw new HttpProblem(404, 'CHECKPOINT_NOT_FOUND', `no checkpoint of the ${log} log has been signed yet`);
      return { body: Buffer.from(cp.note, 'utf8'), contentType: 'text/plain; charset=utf-8' };
    });
  }

  @Get('ledger/:log/inclusion')
  inclusion(@Req() req: HttpRequest, @Res() res: ServerResponse, @Param('log') log: string): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/ledger/{log}/inclusion' }, async () => {
      const recordId = req.query['recordId'];
      if (typeof recordId !== 'string' || recordId === '') throw new HttpProblem(400, 'INVALID_ARGUMENT', 'recordId: is required', 'recordId');
      return { json: await ledgerCall(() => this.ledger.inclusion(logParam(log), recordId, sizeParam(req.query['treeSize'], 'treeSize'))) };
    });
  }

  @Get('ledger/:log/consistency')
  consistency(@Req() req: HttpRequest, @Res() res: ServerResponse, @Param('log') log: string): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/ledger/{log}/consistency' }, async () => {
      const from = sizeParam(req.query['from'], 'from');
      const to = sizeParam(req.query['to'], 'to');
      if (from === undefined || to === undefined) throw new HttpProblem(400, 'INVALID_ARGUMENT', 'from and to: both tree sizes are required', from === undefined ? 'from' : 'to');
      const p = await ledgerCall(() => this.ledger.consistency(logParam(log), from, to));
      return { json: { from: p.from.note, to: p.to.note, path: p.path } };
    });
  }

  @Get('evidence/keys/:keyId')
  evidenceBundle(@Req() req: HttpRequest, @Res() res: ServerResponse, @Param('keyId') keyId: string): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ExportEvidence', route: 'GET /v1/evidence/keys/{keyId}', keyId }, async () => {
      const id = keyIdParam(keyId);
      const window: { from?: Date; to?: Date } = {};
      for (const name of ['from', 'to'] as const) {
        const v = req.query[name];
        if (v === undefined) continue;
        if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw new HttpProblem(400, 'INVALID_ARGUMENT', `${name}: must be an ISO-8601 time`, name);
        window[name] = new Date(v);
      }
      try {
        const { tar, fileName } = await this.evidence.build(id, window);
        return { body: tar, contentType: 'application/x-tar', headers: { 'content-disposition': `attachment; filename="${fileName}"` }, details: { bundleBytes: tar.length } };
      } catch (e) {
        if (e instanceof EvidenceNotFoundError) throw new HttpProblem(404, 'KEY_NOT_FOUND', e.message, 'keyId');
        throw e;
      }
    });
  }
}
