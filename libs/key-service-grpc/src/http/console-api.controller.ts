import { Body, Controller, Get, Headers, HttpCode, Inject, Ip, Param, Post, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import {
  ApprovalService,
  approveRequest,
  Authorizer,
  type CallContext,
  CallPipeline,
  type CallScope,
  type ConsoleSession,
  ConsoleSessions,
  DeviceAuthorizations,
  type ExistingApproval,
  IdentityService,
  type IncomingCall,
  KeyCatalog,
  PersonFactorsService,
} from '@kms/application';
import { invalidArgument, KmsError, LIMITS, validateOptionalText } from '@kms/domain';
import { approvalStatusName } from '../access.mapper';
import { problem, sessionCookie, sessionSetCookie } from './console-http';
import { CONSOLE_SETTINGS, type ConsoleSettings, toEnrolmentLinkAnswer } from './console-settings';

type Json = Record<string, unknown> | undefined;
type Request = IncomingMessage & { originalUrl?: string };

/** The compliance API paths the console may read (GET only), relative to `/v1/`. */
const COMPLIANCE_PATHS: readonly RegExp[] = [
  /^keys$/,
  /^keys\/[A-Za-z0-9._~-]{1,128}\/history$/,
  /^audit-records$/,
  /^approvals$/,
  /^controls$/,
  /^evidence\/keys\/[A-Za-z0-9._~-]{1,128}$/,
  /^projections$/,
  /^escrow$/,
];
const COMPLIANCE_PREFIX = '/v1/console/api/compliance/';
/** Answer headers passed through from the compliance API (besides the status and body). */
const PASSED_HEADERS = ['content-type', 'content-disposition', 'content-length', 'x-request-id'];

function approvalId(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw invalidArgument('approval_id', 'must be an approval request id (UUID)');
  return value;
}

/** The reason code of a refusal, into the call's audit record. */
function noteReason<T>(scope: CallScope, work: () => Promise<T>): Promise<T> {
  return work().catch((e: unknown) => {
    const reason = e instanceof KmsError ? e.facts?.['reason'] : undefined;
    if (reason) scope.facts.details = { ...scope.facts.details, reason };
    throw e;
  });
}

/**
 * The console's session API (`/v1/console/api/*`, docs/console.md): every route authenticates with
 * the session cookie and acts as the session's person with their own token (server side), through
 * the one call pipeline (role matrix, audit). Non-GET routes need the session's CSRF token.
 */
@Controller('v1/console/api')
export class ConsoleApiController {
  constructor(
    @Inject(ConsoleSessions) private readonly sessions: ConsoleSessions,
    @Inject(CallPipeline) private readonly pipeline: CallPipeline,
    @Inject(ApprovalService) private readonly approvals: ApprovalService,
    @Inject(Authorizer) private readonly authorizer: Authorizer,
    @Inject(IdentityService) private readonly identities: IdentityService,
    @Inject(PersonFactorsService) private readonly factors: PersonFactorsService,
    @Inject(DeviceAuthorizations) private readonly devices: DeviceAuthorizations,
    @Inject(KeyCatalog) private readonly catalog: KeyCatalog,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
  ) {}

  /**
   * The session (and, for state changes, its CSRF token) checked; a refusal is audited under the
   * route's operation. Answers the session and the call as its person would make it.
   */
  private async admit(req: Request, operation: string, route: string, csrf: boolean): Promise<{ session: ConsoleSession; ctx: CallContext; incoming: IncomingCall }> {
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;
    const peer = req.socket.remoteAddress;
    const details = { transport: 'http', route, via: 'console-session' };
    const ctx = this.pipeline.begin({ operation, ...(requestId ? { requestId } : {}), ...(peer ? { peer } : {}) });
    let session: ConsoleSession | undefined;
    try {
      session = await this.sessions.resolve(sessionCookie(req.headers.cookie));
      if (csrf) this.sessions.checkCsrf(session, typeof req.headers['x-kms-csrf'] === 'string' ? req.headers['x-kms-csrf'] : undefined);
    } catch (e) {
      const reason = e instanceof KmsError ? e.facts?.['reason'] : undefined;
      const who = session ? { ...ctx, actor: session.identityId } : ctx;
      return this.pipeline.refuse(who, operation, e, { details: { ...details, ...(reason ? { reason } : {}) } });
    }
    return { session, ctx, incoming: { operation, authorization: `Bearer ${session.token}`, ...(requestId ? { requestId } : {}), ...(peer ? { peer } : {}), details } };
  }

  private async answer<T>(res: ServerResponse, work: () => Promise<T>): Promise<T> {
    res.setHeader('cache-control', 'no-store');
    try {
      return await work();
    } catch (e) {
      return problem(e, res);
    }
  }

  private async item(s: ExistingApproval, me: string): Promise<Record<string, unknown>> {
    const a = s.approval;
    const nameOf = async (id: string): Promise<string | undefined> => {
      const key = await this.catalog.get(id).catch(() => undefined);
      if (key) return key.key.name;
      return (await this.identities.get(id).catch(() => undefined))?.identity.name;
    };
    const targetName = await nameOf(a.targetId);
    return {
      approval_id: a.approvalId,
      operation: a.operation,
      target_id: a.targetId,
      ...(targetName ? { target_name: targetName } : {}),
      requester_id: a.requester,
      requester_name: (await this.identities.get(a.requester).catch(() => undefined))?.identity.name ?? a.requester,
      change_ticket: a.changeTicket,
      requested_at: a.requestedAt,
      expires_at: a.expiresAt,
      status: approvalStatusName(s.status),
      own: a.requester === me,
      ...(a.approver ? { decided_by: a.approver } : {}),
      ...(a.decidedAt ? { decided_at: a.decidedAt } : {}),
      ...(a.errorCode ? { error_code: a.errorCode } : {}),
    };
  }

  @Get('session')
  session(@Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const { session } = await this.admit(req, 'GetConsoleSession', 'GET /v1/console/api/session', false);
      return { identity_id: session.identityId, name: session.name, roles: session.roles, expires_at: session.expiresAt.toISOString(), csrf_token: session.csrfToken };
    });
  }

  /** Sign-out: the session is deleted and the cookie cleared. Audited as the person's. */
  @Post('sign-out')
  @HttpCode(204)
  signOut(@Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const { session, ctx } = await this.admit(req, 'ConsoleSignOut', 'POST /v1/console/api/sign-out', true);
      await this.pipeline.runUnauthenticated(ctx, { operation: 'ConsoleSignOut' }, session.identityId, async (facts) => {
        facts.details = { transport: 'http', route: 'POST /v1/console/api/sign-out', identityId: session.identityId };
        await this.sessions.close(sessionCookie(req.headers.cookie));
      });
      res.setHeader('set-cookie', sessionSetCookie('', 0, this.settings.secureCookies));
    });
  }

  @Get('approvals')
  listApprovals(@Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const { session, ctx, incoming } = await this.admit(req, 'ListApprovalRequests', 'GET /v1/console/api/approvals', false);
      return this.pipeline.run(ctx, incoming, async () => {
        // Pending first (oldest first: the longest waiting), then decided ones, newest first.
        const all = this.approvals.list();
        const pending = all.filter((s) => s.status === 'Pending');
        const decided = all.filter((s) => s.status !== 'Pending').reverse();
        return { items: await Promise.all([...pending, ...decided].map((s) => this.item(s, session.identityId))) };
      });
    });
  }

  /** WebAuthn options whose challenge is bound to (this approval, its change ticket, 'approve', the session's person). */
  @Post('approvals/:id/step-up')
  @HttpCode(200)
  stepUp(@Param('id') id: string, @Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const { ctx, incoming } = await this.admit(req, 'BeginApprovalStepUp', 'POST /v1/console/api/approvals/{id}/step-up', true);
      return this.pipeline.run(ctx, incoming, (scope) =>
        noteReason(scope, async () => {
          const pending = await this.approvals.get(approvalId(id));
          const a = pending.approval;
          scope.facts.details = { ...scope.facts.details, approvalId: a.approvalId, operation: a.operation, targetId: a.targetId };
          const r = await this.factors.stepUpOptions(scope.principal, { approvalId: a.approvalId, changeTicket: a.changeTicket, decision: 'approve' });
          return { ceremony_id: r.ceremonyId, options: r.options };
        }),
      );
    });
  }

  /**
   * Approve with a step-up assertion: verified (single use, bound to this approval), then approved
   * through the same application path as ApproveRequest, the assertion sealed with the grant.
   */
  @Post('approvals/:id/approve')
  @HttpCode(200)
  approve(@Param('id') id: string, @Body() body: Json, @Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const { session, ctx, incoming } = await this.admit(req, 'ApproveRequest', 'POST /v1/console/api/approvals/{id}/approve', true);
      const done = await this.pipeline.runChange(
        ctx,
        incoming,
        { id, ...body },
        (scope) =>
          noteReason(scope, () =>
            approveRequest({ approvals: this.approvals, authorizer: this.authorizer }, scope, approvalId(id), { actor: scope.principal.identityId, correlationId: scope.ctx.requestId }, {
              before: async (pending) => ({
                stepUp: await this.factors.verifyStepUp(scope.principal, { ceremonyId: body?.['ceremony_id'], response: body?.['response'] }, { approvalId: pending.approval.approvalId, changeTicket: pending.approval.changeTicket, decision: 'approve' }),
              }),
            }),
          ),
        { holdsSecret: (answer) => answer.output?.enrolmentLink !== undefined },
      );
      // A client credential issued by an approved operation is never shown in the console (and never
      // stored); an enrolment link is — the approver hands it to the person it is for.
      const { output, ...approval } = done;
      const link = output?.enrolmentLink;
      return { ...(await this.item(approval, session.identityId)), ...(link ? { issued_enrolment_link: toEnrolmentLinkAnswer(this.settings.origin, link) } : {}) };
    });
  }

  @Post('approvals/:id/reject')
  @HttpCode(200)
  reject(@Param('id') id: string, @Body() body: Json, @Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const { session, ctx, incoming } = await this.admit(req, 'RejectRequest', 'POST /v1/console/api/approvals/{id}/reject', true);
      const done = await this.pipeline.runChange(ctx, incoming, { id, ...body }, async (scope) => {
        const reason = validateOptionalText(body?.['reason'], 'reason', LIMITS.reasonMaxLength);
        if (!reason) throw invalidArgument('reason', 'say why the request is rejected');
        const pending = await this.approvals.get(approvalId(id));
        scope.facts.details = { ...scope.facts.details, approvalId: pending.approval.approvalId, operation: pending.approval.operation };
        return this.approvals.reject(pending.approval.approvalId, { actor: scope.principal.identityId, correlationId: scope.ctx.requestId, reason });
      });
      return this.item(done, session.identityId);
    });
  }

  /**
   * The compliance API, read as the session's person: GET only, listed paths only, query kept,
   * their bearer token instead of the cookie; status, content type and body passed through.
   */
  @Get('compliance/*path')
  async compliance(@Req() req: Request, @Res() res: ServerResponse): Promise<void> {
    res.setHeader('cache-control', 'no-store');
    let upstream: Response;
    try {
      const url = new URL(req.originalUrl ?? req.url ?? '/', 'http://console.invalid');
      const path = url.pathname.startsWith(COMPLIANCE_PREFIX) ? url.pathname.slice(COMPLIANCE_PREFIX.length) : '';
      const { session, ctx } = await this.admit(req, 'ReadComplianceViaConsole', 'GET /v1/console/api/compliance/{path}', false);
      if (!COMPLIANCE_PATHS.some((p) => p.test(path))) {
        await this.pipeline.refuse({ ...ctx, actor: session.identityId }, 'ReadComplianceViaConsole', invalidArgument('path', 'the console reads only keys, keys/{id}/history, audit-records, approvals, controls, evidence/keys/{id}, projections and escrow'), {
          details: { transport: 'http', route: 'GET /v1/console/api/compliance/{path}' },
        });
      }
      const accept = req.headers.accept;
      upstream = await fetch(`${this.settings.complianceUrl}/v1/${path}${url.search}`, {
        headers: { authorization: `Bearer ${session.token}`, ...(accept ? { accept } : {}), 'x-request-id': ctx.requestId },
        redirect: 'manual',
      });
    } catch (e) {
      if (e instanceof KmsError) return problem(e, res);
      throw e;
    }
    res.statusCode = upstream.status;
    for (const h of PASSED_HEADERS) {
      const v = upstream.headers.get(h);
      if (v !== null) res.setHeader(h, v);
    }
    if (!upstream.body) {
      res.end();
      return;
    }
    await streamPipeline(Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream<Uint8Array>), res);
  }

  @Get('device/:userCode')
  device(@Param('userCode') userCode: string, @Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const { session, ctx } = await this.admit(req, 'GetDeviceLogin', 'GET /v1/console/api/device/{user_code}', false);
      return this.pipeline.runUnauthenticated(ctx, { operation: 'GetDeviceLogin' }, session.identityId, async (facts) => {
        facts.details = { transport: 'http', route: 'GET /v1/console/api/device/{user_code}' };
        const d = await this.devices.describe(userCode);
        facts.details = { ...facts.details, userCode: d.userCode, clientName: d.clientName };
        return { user_code: d.userCode, client_name: d.clientName, requested_at: d.requestedAt.toISOString(), expires_at: d.expiresAt.toISOString(), status: d.status === 'issued' ? 'approved' : d.status };
      });
    });
  }

  /** The session's person lets a `kms login` have a token of theirs (role matrix ApproveDeviceLogin). */
  @Post('device/:userCode/approve')
  @HttpCode(204)
  approveDevice(@Param('userCode') userCode: string, @Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, () => this.decideDevice(req, userCode, 'approved'));
  }

  @Post('device/:userCode/deny')
  @HttpCode(204)
  denyDevice(@Param('userCode') userCode: string, @Req() req: Request, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, () => this.decideDevice(req, userCode, 'denied'));
  }

  private async decideDevice(req: Request, userCode: string, decision: 'approved' | 'denied'): Promise<void> {
    const operation = decision === 'approved' ? 'ApproveDeviceLogin' : 'DenyDeviceLogin';
    const route = `POST /v1/console/api/device/{user_code}/${decision === 'approved' ? 'approve' : 'deny'}`;
    const { session, ctx, incoming } = await this.admit(req, operation, route, true);
    await this.pipeline.runChange(ctx, incoming, { userCode, decision }, async (scope) => {
      const d = await this.devices.decide(userCode, decision, { identityId: scope.principal.identityId, credentialId: session.credentialId });
      scope.facts.details = { ...scope.facts.details, userCode: d.userCode, clientName: d.clientName, decision, credentialId: session.credentialId };
    });
  }
}

/**
 * `kms login`'s side of the device flow (RFC 8628 shape): no session, no bearer token. Every call
 * is audited; the device code and the token never enter the record.
 */
@Controller('v1/console/device')
export class ConsoleDeviceController {
  constructor(
    @Inject(DeviceAuthorizations) private readonly devices: DeviceAuthorizations,
    @Inject(CallPipeline) private readonly pipeline: CallPipeline,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
  ) {}

  @Post('code')
  @HttpCode(200)
  code(@Body() body: Json, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    res.setHeader('cache-control', 'no-store');
    const ctx = this.pipeline.begin({ operation: 'BeginDeviceLogin', peer: ip, ...(requestId ? { requestId } : {}) });
    return this.pipeline
      .runUnauthenticated(ctx, { operation: 'BeginDeviceLogin' }, 'unauthenticated', async (facts) => {
        facts.details = { transport: 'http', route: 'POST /v1/console/device/code' };
        const r = await this.devices.begin({ clientName: body?.['client_name'] });
        facts.details = { ...facts.details, userCode: r.userCode, clientName: r.record.clientName, expiresAt: r.record.expiresAt.toISOString() };
        const uri = `${this.settings.origin}/console/device`;
        return { device_code: r.deviceCode, user_code: r.userCode, verification_uri: uri, verification_uri_complete: `${uri}?code=${r.userCode}`, expires_in: r.expiresIn, interval: r.interval };
      })
      .catch((e: unknown) => problem(e, res));
  }

  /** The CLI's poll: 400 `{ error }` (RFC 8628 §3.5) until approved, then 200 with the token, once. */
  @Post('token')
  async token(@Body() body: Json, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res() res: ServerResponse): Promise<void> {
    const ctx = this.pipeline.begin({ operation: 'PollDeviceLogin', peer: ip, ...(requestId ? { requestId } : {}) });
    let answer: { status: number; body: Record<string, unknown> };
    try {
      answer = await this.pipeline.runUnauthenticated(ctx, { operation: 'PollDeviceLogin' }, 'unauthenticated', async (facts) => {
        facts.details = { transport: 'http', route: 'POST /v1/console/device/token' };
        const r = await this.devices.poll(body?.['device_code']);
        if ('error' in r) {
          facts.details = { ...facts.details, result: r.error };
          return { status: 400, body: { error: r.error, error_description: r.description } };
        }
        facts.details = { ...facts.details, result: 'token_issued', identityId: r.identityId };
        return { status: 200, body: { access_token: r.accessToken, token_type: 'Bearer', expires_in: r.expiresIn } };
      });
    } catch (e) {
      if (e instanceof KmsError && e.code === 'INVALID_ARGUMENT') answer = { status: 400, body: { error: 'invalid_request', error_description: e.message, field: e.field } };
      else return problem(e, res);
    }
    res.statusCode = answer.status;
    res.setHeader('content-type', 'application/json');
    res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify(answer.body));
  }
}
