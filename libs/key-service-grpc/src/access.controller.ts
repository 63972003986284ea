import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { ApprovalService, Authorizer, IdentityService } from '@kms/application';
import { invalidArgument, isUuid, KmsError, type IdentityKind } from '@kms/domain';
import { CallGate } from './call-gate';
import { approvalStatusFromName, APPROVAL_STATUS_NAMES, toProtoApproval, toProtoIdentity } from './access.mapper';
import { changeContext } from './key-management.controller';

type Call = ServerUnaryCall<unknown, unknown>;
type Req = Record<string, unknown>;

/** The RPC whose role rules an approved operation falls under (the approver must be allowed it too). */
const BASE_OPERATION: Record<string, string> = {
  RotateRootTenantKey: 'RotateKey',
  LowerMinDecryptionVersion: 'SetMinDecryptionVersion',
  RetireBeforeDependentsConfirmed: 'DisableKeyVersion',
};

/** kms.v1.IdentityService: credentials, tokens, registration, suspension. */
@Controller()
export class IdentityController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(IdentityService) private readonly identities: IdentityService,
    @Inject(ApprovalService) private readonly approvals: ApprovalService,
  ) {}

  @GrpcMethod('IdentityService', 'IssueToken')
  issueToken(req: Req, metadata: Metadata, call: Call) {
    const clientId = typeof req['client_id'] === 'string' && isUuid(req['client_id']) ? req['client_id'] : 'unknown-client';
    return this.gate.runUnauthenticated('IssueToken', metadata, call, clientId, async (facts) => {
      const issued = await this.identities.issueToken({
        clientId: req['client_id'],
        clientSecret: req['client_secret'],
        ttlSeconds: req['ttl_seconds'],
        authMethods: req['auth_methods'],
      });
      facts.details = { expiresAt: issued.expiresAt.toISOString(), authMethods: issued.principal.authMethods.join(',') };
      const state = await this.identities.get(issued.principal.identityId);
      return { access_token: issued.token, token_type: 'Bearer', expire_time: issued.expiresAt.toISOString(), identity: toProtoIdentity(state) };
    });
  }

  @GrpcMethod('IdentityService', 'RegisterIdentity')
  registerIdentity(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('RegisterIdentity', metadata, call, async (scope) => {
      const kind = req['kind'];
      if (kind !== 'WORKLOAD' && kind !== 'HUMAN') throw invalidArgument('kind', 'must be WORKLOAD or HUMAN');
      const { identity, clientSecret } = await this.identities.register(
        { name: req['name'] as string, kind: kind as IdentityKind, roles: (req['roles'] ?? []) as never },
        changeContext(scope, req),
      );
      scope.facts.details = { identityId: identity.identityId, kind: identity.kind, roles: identity.roles.join(',') };
      return { identity: toProtoIdentity({ status: 'Active', identity }), client_id: identity.identityId, client_secret: clientSecret };
    });
  }

  @GrpcMethod('IdentityService', 'RotateCredential')
  rotateCredential(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('RotateCredential', metadata, call, async (scope) => {
      const id = (await this.identities.get(req['identity_id'])).identity.identityId;
      const change = changeContext(scope, req);
      if (id !== scope.principal.identityId) {
        // Whoever rotates another identity's credential learns its secret and could act as it.
        if (scope.principal.kind !== 'HUMAN') throw new KmsError('PERMISSION_DENIED', "permission denied: a workload may rotate only its own credential", 'identity_id');
        if (!change.changeTicket) throw invalidArgument('context.change_ticket', "rotating another identity's credential needs a change ticket and a second person's approval");
        const a = await this.approvals.request({ operation: 'RotateCredential', targetId: id, params: {} }, change);
        scope.facts.details = { identityId: id, approvalId: a.approvalId };
        throw new KmsError(
          'APPROVAL_REQUIRED',
          `approval required: request ${a.approvalId} was created; a second, different person must approve it before ${a.expiresAt}, and receives the new credential in the answer`,
          undefined,
          { 'approval-id': a.approvalId },
        );
      }
      const { identity, clientSecret } = await this.identities.rotateCredential(id, change);
      scope.facts.details = { identityId: id };
      return { identity: toProtoIdentity(await this.identities.get(identity.identityId)), client_id: id, client_secret: clientSecret };
    });
  }

  @GrpcMethod('IdentityService', 'SuspendIdentity')
  suspendIdentity(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('SuspendIdentity', metadata, call, async (scope) => {
      const id = (await this.identities.get(req['identity_id'])).identity.identityId;
      scope.facts.details = { identityId: id };
      await this.identities.suspend(id, changeContext(scope, req));
      return toProtoIdentity(await this.identities.get(id));
    });
  }

  @GrpcMethod('IdentityService', 'ReEnableIdentity')
  reEnableIdentity(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('ReEnableIdentity', metadata, call, async (scope) => {
      const current = await this.identities.get(req['identity_id']);
      const id = current.identity.identityId;
      scope.facts.details = { identityId: id };
      const change = changeContext(scope, req);
      if (current.status === 'Active') return toProtoIdentity(current);
      if (!change.changeTicket) throw invalidArgument('context.change_ticket', "re-enabling an identity needs a change ticket and a second person's approval");
      const a = await this.approvals.request({ operation: 'ReEnableIdentity', targetId: id, params: {} }, change);
      scope.facts.details = { identityId: id, approvalId: a.approvalId };
      throw new KmsError(
        'APPROVAL_REQUIRED',
        `approval required: request ${a.approvalId} was created; a second, different person must approve it before ${a.expiresAt}`,
        undefined,
        { 'approval-id': a.approvalId },
      );
    });
  }

  @GrpcMethod('IdentityService', 'GetIdentity')
  getIdentity(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('GetIdentity', metadata, call, async () => toProtoIdentity(await this.identities.get(req['identity_id'])));
  }

  @GrpcMethod('IdentityService', 'ListIdentities')
  listIdentities(_req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('ListIdentities', metadata, call, () => ({ identities: this.identities.list().map(toProtoIdentity) }));
  }
}

/** kms.v1.ApprovalService: the second person's side of dual authorization. */
@Controller()
export class ApprovalController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(ApprovalService) private readonly approvals: ApprovalService,
    @Inject(Authorizer) private readonly authorizer: Authorizer,
    @Inject(IdentityService) private readonly identities: IdentityService,
  ) {}

  @GrpcMethod('ApprovalService', 'GetApprovalRequest')
  get(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('GetApprovalRequest', metadata, call, async () => toProtoApproval(await this.approvals.get(req['approval_id'])));
  }

  @GrpcMethod('ApprovalService', 'ListApprovalRequests')
  list(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('ListApprovalRequests', metadata, call, () => {
      const name = (req['status'] as string) || '';
      const status = name ? approvalStatusFromName(name) : undefined;
      if (name && !status) throw invalidArgument('status', `must be one of ${APPROVAL_STATUS_NAMES.join(', ')}`);
      return { requests: this.approvals.list(status).map(toProtoApproval) };
    });
  }

  @GrpcMethod('ApprovalService', 'ApproveRequest')
  approve(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('ApproveRequest', metadata, call, async (scope) => {
      const pending = await this.approvals.get(req['approval_id']);
      const op = pending.approval.operation;
      scope.facts.details = { approvalId: pending.approval.approvalId, operation: op, targetId: pending.approval.targetId };
      // The approver must be someone allowed to perform the operation itself.
      this.authorizer.forOperation(scope.principal, BASE_OPERATION[op] ?? op);
      const done = await this.approvals.approve(pending.approval.approvalId, changeContext(scope, req));
      const issued = done.output?.issuedCredential;
      scope.facts.details = {
        ...scope.facts.details,
        status: done.status,
        ...(done.approval.errorCode ? { executionError: done.approval.errorCode } : {}),
        // Who received a rotated credential (never the secret itself).
        ...(issued ? { credentialIssuedTo: scope.principal.identityId } : {}),
      };
      const answer = toProtoApproval(done);
      if (!issued) return answer;
      return { ...answer, issued_credential: { identity: toProtoIdentity(await this.identities.get(issued.clientId)), client_id: issued.clientId, client_secret: issued.clientSecret } };
    });
  }

  @GrpcMethod('ApprovalService', 'RejectRequest')
  reject(req: Req, metadata: Metadata, call: Call) {
    return this.gate.run('RejectRequest', metadata, call, async (scope) => {
      const pending = await this.approvals.get(req['approval_id']);
      scope.facts.details = { approvalId: pending.approval.approvalId, operation: pending.approval.operation };
      return toProtoApproval(await this.approvals.reject(pending.approval.approvalId, changeContext(scope, req)));
    });
  }
}
