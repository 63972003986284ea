import { randomUUID } from 'node:crypto';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { DualAuthorization, IdentityService, PersonFactorsService } from '@kms/application';
import type { BindClientCertificateRequest__Output, ChangeIdentityRolesRequest__Output, CreateEnrolmentLinkRequest__Output, IdentityRequest__Output, IssueTokenRequest__Output, RegisterIdentityRequest__Output } from '@kms/contracts';
import { invalidArgument, isUuid, type IdentityKind, type Role } from '@kms/domain';
import { CallGate } from '../call-gate';
import { toProtoIdentity } from '../access.mapper';
import { changeContext } from './request-helpers';
import { CONSOLE_SETTINGS, type ConsoleSettings, toEnrolmentLinkAnswer } from '../http/console-settings';

type Call = ServerUnaryCall<unknown, unknown>;

/** A new client secret is shown once: never kept for an idempotent replay. */
const HOLDS_CREDENTIAL = { holdsSecret: () => true };

/** kms.v1.IdentityService: credentials, tokens, registration, suspension. */
@Controller()
export class IdentityController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(IdentityService) private readonly identities: IdentityService,
    @Inject(DualAuthorization) private readonly dual: DualAuthorization,
    @Inject(PersonFactorsService) private readonly factors: PersonFactorsService,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
  ) {}

  /** A one-time enrolment link for another person: two people (see the proto), the approver receives it. */
  @GrpcMethod('IdentityService', 'CreateEnrolmentLink')
  createEnrolmentLink(req: CreateEnrolmentLinkRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange(
      'CreateEnrolmentLink',
      req,
      metadata,
      call,
      async (scope) => {
        const link = await this.factors.createEnrolmentLink(
          scope.principal,
          { identityId: req.identity_id, ttlMinutes: req.ttl_minutes, replaceFactors: req.replace_factors },
          scope.facts,
          changeContext(scope, req.context),
        );
        return toEnrolmentLinkAnswer(this.settings.origin, link);
      },
      HOLDS_CREDENTIAL,
    );
  }

  @GrpcMethod('IdentityService', 'IssueToken')
  issueToken(req: IssueTokenRequest__Output, metadata: Metadata, call: Call) {
    const clientId = typeof req.client_id === 'string' && isUuid(req.client_id) ? req.client_id : 'unknown-client';
    return this.gate.runUnauthenticated('IssueToken', metadata, call, clientId, async (facts) => {
      const issued = await this.identities.issueToken({
        clientId: req.client_id,
        clientSecret: req.client_secret,
        ttlSeconds: req.ttl_seconds,
        authMethods: req.auth_methods,
      });
      facts.details = { expiresAt: issued.expiresAt.toISOString(), authMethods: issued.principal.authMethods.join(',') };
      const state = await this.identities.get(issued.principal.identityId);
      return { access_token: issued.token, token_type: 'Bearer', expire_time: issued.expiresAt.toISOString(), identity: toProtoIdentity(state) };
    });
  }

  @GrpcMethod('IdentityService', 'RegisterIdentity')
  registerIdentity(req: RegisterIdentityRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange(
      'RegisterIdentity',
      req,
      metadata,
      call,
      async (scope) => {
        const kind = req.kind;
        if (kind !== 'WORKLOAD' && kind !== 'HUMAN') throw invalidArgument('kind', 'must be WORKLOAD or HUMAN');
        const input = { name: req.name, kind: kind as IdentityKind, roles: (req.roles ?? []) as Role[] };
        const change = changeContext(scope, req.context);
        const identityId = randomUUID();
        // People take two people to register (workloads do not).
        await this.dual.guard(scope.principal, change, { operation: 'RegisterIdentity', identityId, ...input }, scope.facts);
        const { identity, clientSecret } = await this.identities.register(input, change, identityId);
        scope.facts.details = { ...scope.facts.details, identityId: identity.identityId, kind: identity.kind, roles: identity.roles.join(',') };
        return { identity: toProtoIdentity({ status: 'Active', identity }), client_id: identity.identityId, client_secret: clientSecret };
      },
      HOLDS_CREDENTIAL,
    );
  }

  @GrpcMethod('IdentityService', 'RotateCredential')
  rotateCredential(req: IdentityRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange(
      'RotateCredential',
      req,
      metadata,
      call,
      async (scope) => {
        const id = (await this.identities.get(req.identity_id)).identity.identityId;
        const change = changeContext(scope, req.context);
        await this.dual.guard(scope.principal, change, { operation: 'RotateCredential', identityId: id }, scope.facts);
        const { identity, clientSecret } = await this.identities.rotateCredential(id, change);
        scope.facts.details = { identityId: id };
        return { identity: toProtoIdentity(await this.identities.get(identity.identityId)), client_id: id, client_secret: clientSecret };
      },
      HOLDS_CREDENTIAL,
    );
  }

  @GrpcMethod('IdentityService', 'SuspendIdentity')
  suspendIdentity(req: IdentityRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('SuspendIdentity', req, metadata, call, async (scope) => {
      const id = (await this.identities.get(req.identity_id)).identity.identityId;
      scope.facts.details = { identityId: id };
      await this.identities.suspend(id, changeContext(scope, req.context));
      return toProtoIdentity(await this.identities.get(id));
    });
  }

  @GrpcMethod('IdentityService', 'ReEnableIdentity')
  reEnableIdentity(req: IdentityRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('ReEnableIdentity', req, metadata, call, async (scope) => {
      const change = changeContext(scope, req.context);
      return toProtoIdentity(await this.dual.requireSecondPersonForIdentityChange(scope.principal, change, { operation: 'ReEnableIdentity', identityId: req.identity_id }, scope.facts));
    });
  }

  @GrpcMethod('IdentityService', 'ChangeIdentityRoles')
  changeIdentityRoles(req: ChangeIdentityRolesRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('ChangeIdentityRoles', req, metadata, call, async (scope) => {
      const change = changeContext(scope, req.context);
      // Roles are validated against the target's kind by the identity decider (field "roles").
      return toProtoIdentity(await this.dual.requireSecondPersonForIdentityChange(scope.principal, change, { operation: 'ChangeIdentityRoles', identityId: req.identity_id, roles: req.roles ?? [] }, scope.facts));
    });
  }

  /** Bind, replace or remove a workload's KMIP client certificate: two people (see the proto). */
  @GrpcMethod('IdentityService', 'BindClientCertificate')
  bindClientCertificate(req: BindClientCertificateRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('BindClientCertificate', req, metadata, call, async (scope) => {
      const change = changeContext(scope, req.context);
      return toProtoIdentity(await this.dual.requireSecondPersonForIdentityChange(scope.principal, change, { operation: 'BindClientCertificate', identityId: req.identity_id, certificate: req.certificate }, scope.facts));
    });
  }

  @GrpcMethod('IdentityService', 'GetIdentity')
  getIdentity(req: IdentityRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GetIdentity', metadata, call, async () => toProtoIdentity(await this.identities.get(req.identity_id)));
  }

  @GrpcMethod('IdentityService', 'ListIdentities')
  listIdentities(_req: unknown, metadata: Metadata, call: Call) {
    return this.gate.run('ListIdentities', metadata, call, () => ({ identities: this.identities.list().map(toProtoIdentity) }));
  }
}
