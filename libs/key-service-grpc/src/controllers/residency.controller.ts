import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { DualAuthorization, ResidencyRulesService } from '@kms/application';
import { type GetResidencyRulesRequest__Output, KMS_SERVICE, type SetResidencyRuleRequest__Output } from '@kms/contracts';
import { validateTenant } from '@kms/domain';
import { CallGate } from '../call-gate';
import { changeContext, unspecified } from './request-helpers';

type Call = ServerUnaryCall<unknown, unknown>;

/** kms.v1.KeyManagementService, residency rules: thin — admit the caller, ask for a second person, answer the rules. */
@Controller()
export class ResidencyController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(ResidencyRulesService) private readonly residency: ResidencyRulesService,
    @Inject(DualAuthorization) private readonly dual: DualAuthorization,
  ) {}

  private async view(tenant: string) {
    const allowed = await this.residency.allowedPairs(tenant);
    return { tenant, allowed: allowed.map((p) => ({ from_jurisdiction: p.from, to_jurisdiction: p.to })) };
  }

  @GrpcMethod(KMS_SERVICE, 'SetResidencyRule')
  setResidencyRule(req: SetResidencyRuleRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('SetResidencyRule', req, metadata, call, async (scope) => {
      const rule = this.residency.check({ tenant: unspecified(req.tenant) ? 'default' : req.tenant, from: req.from_jurisdiction, to: req.to_jurisdiction, allowed: req.allowed });
      scope.facts.details = { tenant: rule.tenant, fromJurisdiction: rule.from, toJurisdiction: rule.to, allowed: String(rule.allowed) };
      // Always a second person: this answers APPROVAL_REQUIRED, and the rule changes once approved.
      await this.dual.guard(scope.principal, changeContext(scope, req.context), { operation: 'SetResidencyRule', rule }, scope.facts);
      return this.view(rule.tenant);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetResidencyRules')
  getResidencyRules(req: GetResidencyRulesRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GetResidencyRules', metadata, call, async (scope) => {
      const tenant = validateTenant(unspecified(req.tenant) ? 'default' : req.tenant);
      const view = await this.view(tenant);
      scope.facts.details = { tenant, allowed: String(view.allowed.length) };
      return view;
    });
  }
}
