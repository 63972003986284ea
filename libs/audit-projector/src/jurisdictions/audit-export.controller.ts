import type { ServerResponse } from 'node:http';
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ComplianceGateway, HttpProblem, type HttpRequest } from '../http/compliance-gateway';
import { ExportWindowError, OcsfAuditExport } from './ocsf-audit-export';

async function exported(exporter: OcsfAuditExport, req: HttpRequest) {
  try {
    return await exporter.export({ from: req.query['from'], to: req.query['to'], format: req.query['format'] });
  } catch (e) {
    if (e instanceof ExportWindowError) throw new HttpProblem(400, 'INVALID_ARGUMENT', e.message, e.field);
    throw e;
  }
}

/**
 * Normalised audit export (docs/jurisdictions.md): the window's audit records as OCSF JSON lines,
 * and the manifest that proves the extract complete and unchanged. Audited like every compliance call.
 */
@Controller('v1/audit')
export class AuditExportController {
  constructor(
    @Inject(ComplianceGateway) private readonly gateway: ComplianceGateway,
    @Inject(OcsfAuditExport) private readonly exporter: OcsfAuditExport,
  ) {}

  /** GET /v1/audit/export?from&to&format=ocsf: application/x-ndjson; the extract's SHA-256 in `x-kms-extract-sha256`. */
  @Get('export')
  export(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/audit/export' }, async () => {
      const { extract, manifest } = await exported(this.exporter, req);
      return {
        body: extract,
        contentType: 'application/x-ndjson',
        headers: { 'x-kms-extract-sha256': manifest.sha256, 'x-kms-extract-count': String(manifest.count) },
        details: { records: manifest.count, sha256: manifest.sha256 },
      };
    });
  }

  /** GET /v1/audit/export/manifest?from&to&format=ocsf: the manifest of the same extract. */
  @Get('export/manifest')
  manifest(@Req() req: HttpRequest, @Res() res: ServerResponse): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ReadAudit', route: 'GET /v1/audit/export/manifest' }, async () => {
      const { manifest } = await exported(this.exporter, req);
      return { json: manifest, details: { records: manifest.count, sha256: manifest.sha256 } };
    });
  }
}
