import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { ApprovalService, approveRequest, Authorizer, IdentityService } from '@kms/application';
import type { ApprovalDecision__Output, ApprovalRequestId__Output, ListApprovalRequestsRequest__Output } from '@kms/contracts';
import { invalidArgument } from '@kms/domain';
import { CallGate } from '../call-gate';
import { approvalStatusFromName, APPROVAL_STATUS_NAMES, toProtoApproval, toProtoIdentity } from '../access.mapper';
import { changeContext } from './request-helpers';
import { CONSOLE_SETTINGS, type ConsoleSettings, toEnrolmentLinkAnswer } from '../http/console-settings';

type Call = ServerUnaryCall<unknown, unknown>;

/** kms.v1.ApprovalService: the second person's side of dual authorization. */
@Controller()
export class ApprovalController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(ApprovalService) private readonly approvals: ApprovalService,
    @Inject(Authorizer) private readonly authorizer: Authorizer,
    @Inject(IdentityService) private readonly identities: IdentityService,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
  ) {}

  @GrpcMethod('ApprovalService', 'GetApprovalRequest')
  get(req: ApprovalRequestId__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GetApprovalRequest', metadata, call, async () => toProtoApproval(await this.approvals.get(req.approval_id)));
  }

  @GrpcMethod('ApprovalService', 'ListApprovalRequests')
  list(req: ListApprovalRequestsRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('ListApprovalRequests', metadata, call, () => {
      const name = req.status || '';
      const status = name ? approvalStatusFromName(name) : undefined;
      if (name && !status) throw invalidArgument('status', `must be one of ${APPROVAL_STATUS_NAMES.join(', ')}`);
      return { requests: this.approvals.list(status).map(toProtoApproval) };
    });
  }

  @GrpcMethod('ApprovalService', 'ApproveRequest')
  approve(req: ApprovalDecision__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange(
      'ApproveRequest',
      req,
      metadata,
      call,
      async (scope) => {
        const done = await approveRequest({ approvals: this.approvals, authorizer: this.authorizer }, scope, req.approval_id, changeContext(scope, req.context));
        const issued = done.output?.issuedCredential;
        const link = done.output?.enrolmentLink;
        const answer = toProtoApproval(done);
        if (link) return { ...answer, issued_enrolment_link: toEnrolmentLinkAnswer(this.settings.origin, link) };
        if (!issued) return answer;
        return { ...answer, issued_credential: { identity: toProtoIdentity(await this.identities.get(issued.clientId)), client_id: issued.clientId, client_secret: issued.clientSecret } };
      },
      { holdsSecret: (answer) => 'issued_credential' in answer || 'issued_enrolment_link' in answer },
    );
  }

  @GrpcMethod('ApprovalService', 'RejectRequest')
  reject(req: ApprovalDecision__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('RejectRequest', req, metadata, call, async (scope) => {
      const pending = await this.approvals.get(req.approval_id);
      scope.facts.details = { approvalId: pending.approval.approvalId, operation: pending.approval.operation };
      return toProtoApproval(await this.approvals.reject(pending.approval.approvalId, changeContext(scope, req.context)));
    });
  }
}
