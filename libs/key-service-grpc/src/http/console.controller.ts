import { Body, Controller, Delete, Headers, HttpCode, Inject, Ip, Param, Post, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { bearerToken, CallPipeline, type CallContext, ConsoleSessions, PersonFactorsService } from '@kms/application';
import { problem, sessionSetCookie } from './console-http';
import { changeContext } from '../controllers/request-helpers';
import { CONSOLE_SETTINGS, type ConsoleSettings } from './console-settings';
import { invalidArgument, KmsError } from '@kms/domain';

type Json = Record<string, unknown> | undefined;

/** The `context` object of a JSON body ({ change_ticket, reason }), validated by changeContext. */
function contextOf(body: Json): { change_ticket: string; reason: string } | undefined {
  const c = body?.['context'];
  if (c === undefined || c === null) return undefined;
  if (typeof c !== 'object' || Array.isArray(c)) throw invalidArgument('context', 'must be an object { change_ticket, reason }');
  const { change_ticket: changeTicket, reason } = c as Record<string, unknown>;
  if (changeTicket !== undefined && typeof changeTicket !== 'string') throw invalidArgument('context.change_ticket', 'must be a string');
  if (reason !== undefined && typeof reason !== 'string') throw invalidArgument('context.reason', 'must be a string');
  return { change_ticket: changeTicket ?? '', reason: reason ?? '' };
}

/**
 * The console's HTTP API for people's second factors (docs/console.md): enrolment with a one-time
 * link (security key, then authenticator app) and sign-in (security key AND code → token). Only
 * translates: policy and audit live in PersonFactorsService and the call pipeline.
 */
@Controller('v1/console')
export class ConsoleController {
  constructor(
    @Inject(PersonFactorsService) private readonly factors: PersonFactorsService,
    @Inject(CallPipeline) private readonly pipeline: CallPipeline,
    @Inject(ConsoleSessions) private readonly sessions: ConsoleSessions,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
  ) {}

  private ctx(route: string, ip: string | undefined, requestId: string | undefined, actor = 'unauthenticated'): CallContext {
    return { ...this.pipeline.begin({ operation: route, ...(ip ? { peer: ip } : {}), ...(requestId ? { requestId } : {}) }), actor };
  }

  private async answer<T>(res: ServerResponse, work: () => Promise<T>): Promise<T> {
    res.setHeader('cache-control', 'no-store');
    try {
      return await work();
    } catch (e) {
      return problem(e, res);
    }
  }

  /**
   * A security engineer asks for a one-time enrolment link for another person (bearer token, role
   * matrix CreateEnrolmentLink; body `identity_id`, `ttl_minutes`, `replace_factors`, `context`
   * {change_ticket, reason}). It takes two people: the answer is 409 APPROVAL_REQUIRED naming the
   * approval, and the approver receives the link. 201 with the link only for the bootstrap
   * administrator's first person.
   */
  @Post('enrolment-links')
  @HttpCode(201)
  createEnrolmentLink(@Body() body: Json, @Headers('authorization') authorization: string | undefined, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const incoming = { operation: 'CreateEnrolmentLink', ...(authorization ? { authorization } : {}), ...(requestId ? { requestId } : {}), peer: ip, details: { transport: 'http', route: 'POST /v1/console/enrolment-links' } };
      const ctx = this.pipeline.begin(incoming);
      const link = await this.pipeline.runChange(
        ctx,
        incoming,
        body,
        (scope) =>
          this.factors.createEnrolmentLink(
            scope.principal,
            { identityId: body?.['identity_id'], ttlMinutes: body?.['ttl_minutes'], replaceFactors: body?.['replace_factors'] },
            scope.facts,
            changeContext(scope, contextOf(body)),
          ),
        { holdsSecret: () => true },
      );
      return { enrolment_token: link.enrolmentToken, link_id: link.linkId, expires_at: link.expiresAt.toISOString() };
    });
  }

  @Post('enrolment/security-key/options')
  @HttpCode(200)
  enrolmentKeyOptions(@Body() body: Json, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const r = await this.factors.registrationOptions(this.ctx('BeginWebAuthnRegistration', ip, requestId), { enrolmentToken: body?.['enrolment_token'] });
      return { ceremony_id: r.ceremonyId, options: r.options };
    });
  }

  @Post('enrolment/security-key')
  @HttpCode(201)
  enrolmentKey(@Body() body: Json, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const r = await this.factors.verifyRegistration(this.ctx('EnrolWebAuthnCredential', ip, requestId), { ceremonyId: body?.['ceremony_id'], response: body?.['response'], enrolmentToken: body?.['enrolment_token'] });
      return { credential_id: r.credentialId, enrolment_session: r.enrolmentSession, enrolment_session_expires_at: r.enrolmentSessionExpiresAt?.toISOString() };
    });
  }

  @Post('enrolment/authenticator-app')
  @HttpCode(200)
  enrolmentTotp(@Body() body: Json, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const r = await this.factors.beginTotpEnrolment(this.ctx('BeginTotpEnrolment', ip, requestId), { enrolmentSession: body?.['enrolment_session'] });
      return { otpauth_uri: r.otpauthUri, qr_code: r.qrCodeDataUrl, secret: r.secret };
    });
  }

  @Post('enrolment/authenticator-app/confirm')
  @HttpCode(200)
  enrolmentTotpConfirm(@Body() body: Json, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const r = await this.factors.confirmTotpEnrolment(this.ctx('EnrolTotp', ip, requestId), { enrolmentSession: body?.['enrolment_session'], code: body?.['totp_code'] });
      return { identity_id: r.identityId, enrolled: true };
    });
  }

  @Post('sign-in/options')
  @HttpCode(200)
  signInOptions(@Body() body: Json, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const r = await this.factors.signInOptions(this.ctx('BeginSignIn', ip, requestId), { identityId: body?.['identity_id'], name: body?.['name'] });
      return { ceremony_id: r.ceremonyId, options: r.options };
    });
  }

  /**
   * Sign in with both factors. With `"session": true` the answer sets the console's session cookie
   * (the token stays on the server) and carries the session's CSRF token instead of the token.
   */
  @Post('sign-in')
  @HttpCode(200)
  signIn(@Body() body: Json, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const asSession = body?.['session'];
      if (asSession !== undefined && typeof asSession !== 'boolean') throw new KmsError('INVALID_ARGUMENT', 'session: must be true (a console session cookie) or false (a bearer token)', 'session');
      const input = { ceremonyId: body?.['ceremony_id'], response: body?.['response'], totpCode: body?.['totp_code'], ttlSeconds: body?.['ttl_seconds'] };
      const ctx = this.ctx('SignIn', ip, requestId);
      if (asSession !== true) {
        const r = await this.factors.signIn(ctx, input);
        return { access_token: r.token, token_type: 'Bearer', expires_at: r.expiresAt.toISOString(), credential_id: r.credentialId };
      }
      const r = await this.factors.signIn(ctx, input, async (issued, facts) => {
        const opened = await this.sessions.open({ identityId: issued.identityId, credentialId: issued.credentialId, token: issued.token, expiresAt: issued.expiresAt });
        facts.details = { ...facts.details, session: true, sessionExpiresAt: opened.expiresAt.toISOString() };
        return opened;
      });
      const opened = r.then;
      if (!opened) throw new Error('the console session was not opened');
      const session = await this.sessions.resolve(opened.sessionId);
      res.setHeader('set-cookie', sessionSetCookie(opened.sessionId, opened.maxAgeSeconds, this.settings.secureCookies));
      return { identity_id: session.identityId, name: session.name, roles: session.roles, expires_at: session.expiresAt.toISOString(), csrf_token: session.csrfToken };
    });
  }

  /** A signed-in person adds another security key (their own token). */
  @Post('security-keys/options')
  @HttpCode(200)
  addKeyOptions(@Headers('authorization') authorization: string | undefined, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const r = await this.factors.registrationOptions(this.ctx('BeginWebAuthnRegistration', ip, requestId), { bearerToken: bearerToken(authorization) });
      return { ceremony_id: r.ceremonyId, options: r.options };
    });
  }

  @Post('security-keys')
  @HttpCode(201)
  addKey(@Body() body: Json, @Headers('authorization') authorization: string | undefined, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      const r = await this.factors.verifyRegistration(this.ctx('EnrolWebAuthnCredential', ip, requestId), { ceremonyId: body?.['ceremony_id'], response: body?.['response'], bearerToken: bearerToken(authorization) });
      return { credential_id: r.credentialId };
    });
  }

  @Delete('security-keys/:credentialId')
  @HttpCode(204)
  removeKey(@Param('credentialId') credentialId: string, @Headers('authorization') authorization: string | undefined, @Headers('x-request-id') requestId: string | undefined, @Ip() ip: string, @Res({ passthrough: true }) res: ServerResponse) {
    return this.answer(res, async () => {
      await this.factors.removeCredential(this.ctx('RemoveWebAuthnCredential', ip, requestId), { bearerToken: bearerToken(authorization), credentialId });
    });
  }
}
