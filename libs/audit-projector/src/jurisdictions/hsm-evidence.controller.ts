import type { ServerResponse } from 'node:http';
import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { HsmAttestationService } from '@kms/application';
import { KmsError } from '@kms/domain';
import { ComplianceGateway, HttpProblem, type HttpRequest } from '../http/compliance-gateway';

/** Injection token: the per-HSM attestation service, or null where this process has no HSM instances. */
export const HSM_ATTESTATIONS = Symbol('HSM_ATTESTATIONS');

const HSM_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * One attestation bundle per HSM instance (docs/jurisdictions.md): each call issues a bundle (PDF, or
 * its canonical JSON with `?format=json`), signed by that HSM's attestation key; its SHA-256 is
 * appended to the event log, whose ledger leaf (`x-kms-ledger-record-id`) is provable with
 * `GET /v1/ledger/events/inclusion?recordId=`. Audited as ExportEvidence.
 */
@Controller('v1/evidence/hsms')
export class HsmEvidenceController {
  constructor(
    @Inject(ComplianceGateway) private readonly gateway: ComplianceGateway,
    @Inject(HSM_ATTESTATIONS) private readonly attestations: HsmAttestationService | null,
  ) {}

  /** GET /v1/evidence/hsms/{id}[?format=pdf|json]. */
  @Get(':id')
  bundle(@Req() req: HttpRequest, @Res() res: ServerResponse, @Param('id') id: string): Promise<void> {
    return this.gateway.handle(req, res, { operation: 'ExportEvidence', route: 'GET /v1/evidence/hsms/{id}' }, async (principal) => {
      const format = req.query['format'] ?? 'pdf';
      if (format !== 'pdf' && format !== 'json') throw new HttpProblem(400, 'INVALID_ARGUMENT', 'format: must be "pdf" or "json"', 'format');
      if (typeof id !== 'string' || !HSM_ID.test(id)) throw new HttpProblem(400, 'INVALID_ARGUMENT', 'id: must be an HSM instance id (lowercase letters, digits and "-")', 'id');
      if (!this.attestations) throw new HttpProblem(404, 'NOT_FOUND', 'id: this compliance API has no HSM instances configured', 'id');
      let issued: Awaited<ReturnType<HsmAttestationService['issue']>>;
      try {
        issued = await this.attestations.issue(id, principal.identityId);
      } catch (e) {
        if (e instanceof KmsError && e.field === 'hsm_id') throw new HttpProblem(404, 'NOT_FOUND', e.message.replace(/^hsm_id/, 'id'), 'id');
        throw e;
      }
      return {
        body: format === 'pdf' ? issued.pdf : issued.json,
        contentType: format === 'pdf' ? 'application/pdf' : 'application/json',
        headers: {
          'x-kms-bundle-sha256': issued.bundleSha256,
          'x-kms-statement-sha256': issued.statementSha256,
          'x-kms-ledger-record-id': issued.anchor.id,
          'content-disposition': `attachment; filename="hsm-${id}-attestation.${format}"`,
        },
        details: { hsmId: id, format, bundleSha256: issued.bundleSha256, statementSha256: issued.statementSha256, ledgerRecordId: issued.anchor.id },
      };
    });
  }
}
