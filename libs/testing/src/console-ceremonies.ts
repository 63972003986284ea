import { oathtoolTotp } from './oathtool';
import { TestAuthenticator } from './test-authenticator';

/** RFC 6238 step of the service (docs/console.md: 30 s, ±1 step of drift). */
const TOTP_STEP_MS = 30_000;

/** The time a test's ceremonies run on: the service's ManualClock in-process, real time otherwise. */
export interface CeremonyClock {
  now(): Date;
  /** Let time pass until `at`: a ManualClock is moved there, real time is waited for. */
  waitUntil(at: Date): Promise<void>;
}

/** Ceremonies on the service's own clock, moved by hand (the in-process harnesses' ManualClock). */
export function manualCeremonyClock(clock: { now(): Date; set(d: Date): void }): CeremonyClock {
  return {
    now: () => clock.now(),
    waitUntil: async (at) => {
      if (at.getTime() > clock.now().getTime()) clock.set(at);
    },
  };
}

/** Ceremonies against a service in another process, on real time. */
export const realCeremonyClock: CeremonyClock = {
  now: () => new Date(),
  waitUntil: async (at) => {
    const ms = at.getTime() - Date.now();
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  },
};

/** A refusal by the console routes (RFC 9457 problem details), naming the field and reason. */
export class ConsoleCallError extends Error {
  constructor(
    readonly route: string,
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(`${route}: ${status} ${String(body['code'] ?? '')} ${String(body['reason'] ?? '')} field=${String(body['field'] ?? '')}: ${String(body['detail'] ?? body['message'] ?? JSON.stringify(body))}`);
  }
}

/**
 * A person's enrolled factors as their own devices hold them: the security key (a TestAuthenticator:
 * real ES256 assertions the server verifies) and the authenticator app's TOTP secret. Remembers the
 * last TOTP step it used, because the service accepts each step once per person.
 */
export class EnrolledPerson {
  constructor(
    readonly identityId: string,
    readonly key: TestAuthenticator,
    readonly totpSecret: string,
    private lastStep: number,
  ) {}

  /**
   * A code the service has not accepted yet (computed by oathtool): the current step, or the next one
   * (within the ±1 drift) when the current one is used; otherwise lets time pass to the step before.
   */
  async nextCode(clock: CeremonyClock): Promise<string> {
    const current = Math.floor(clock.now().getTime() / TOTP_STEP_MS);
    const step = Math.max(current, this.lastStep + 1);
    if (step > current + 1) await clock.waitUntil(new Date((step - 1) * TOTP_STEP_MS));
    this.lastStep = step;
    return oathtoolTotp(this.totpSecret, new Date(step * TOTP_STEP_MS));
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Run one ceremony of this person at a time: the service refuses a signature counter that goes
   * back and a TOTP step at or before the last accepted one, so racing sign-ins would refuse each other.
   */
  serial<T>(ceremony: () => Promise<T>): Promise<T> {
    const run = this.queue.then(ceremony, ceremony);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Record a step used by a ceremony run outside nextCode (a test driving the routes by hand). */
  used(at: Date): void {
    this.lastStep = Math.max(this.lastStep, Math.floor(at.getTime() / TOTP_STEP_MS));
  }
}

/** A console session: the HttpOnly cookie's value and the CSRF token of its sign-in answer. */
export interface ConsoleSession {
  cookie: string;
  csrf: string;
}

/**
 * People's ceremonies over the key service's own HTTP routes (docs/console.md), nothing skipped:
 * enrolment link → security key (WebAuthn registration) → authenticator app (first code) and
 * sign-in (assertion + TOTP) → the token the service itself issues. For test harnesses.
 */
export class ConsoleCeremonies {
  private readonly rpId: string;

  constructor(private readonly o: { httpUrl: string; origin: string; clock: CeremonyClock; rpId?: string }) {
    this.rpId = o.rpId ?? new URL(o.origin).hostname;
  }

  get clock(): CeremonyClock {
    return this.o.clock;
  }

  /** POST a JSON body to a console route; answers the parsed body, throws ConsoleCallError on any refusal. */
  async post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ body: Record<string, unknown>; headers: Headers }> {
    const res = await fetch(`${this.o.httpUrl}/v1/console/${path}`, {
      method: 'POST',
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (res.status >= 300) throw new ConsoleCallError(path, res.status, parsed);
    return { body: parsed, headers: res.headers };
  }

  /**
   * A one-time enrolment link for a person, asked for with a security engineer's token. Issued at once
   * only for the bootstrap administrator's first person; anyone else's answers 409 APPROVAL_REQUIRED
   * (a ConsoleCallError whose body names the approvalId).
   */
  async createEnrolmentLink(identityId: string, bearer: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await this.post('enrolment-links', { identity_id: identityId, context: { change_ticket: 'CHG-TEST-ENROL' }, ...extra }, { authorization: `Bearer ${bearer}` });
    return r.body['enrolment_token'] as string;
  }

  /** Redeem an enrolment link: a new security key, then the authenticator app confirmed with its first code. */
  async enrol(identityId: string, enrolmentToken: string): Promise<EnrolledPerson> {
    const key = new TestAuthenticator(this.rpId, this.o.origin);
    const options = await this.post('enrolment/security-key/options', { enrolment_token: enrolmentToken });
    const challenge = (options.body['options'] as { challenge: string }).challenge;
    const registered = await this.post('enrolment/security-key', { enrolment_token: enrolmentToken, ceremony_id: options.body['ceremony_id'], response: key.register({ challenge }) });
    const session = registered.body['enrolment_session'] as string;
    const secret = (await this.post('enrolment/authenticator-app', { enrolment_session: session })).body['secret'] as string;
    const person = new EnrolledPerson(identityId, key, secret, -1);
    const confirmed = await this.post('enrolment/authenticator-app/confirm', { enrolment_session: session, totp_code: await person.nextCode(this.o.clock) });
    if (confirmed.body['identity_id'] !== identityId) throw new Error(`the enrolment link was for ${String(confirmed.body['identity_id'])}, not ${identityId}`);
    return person;
  }

  private signInAnswer(person: EnrolledPerson, extra: Record<string, unknown>): Promise<{ body: Record<string, unknown>; headers: Headers }> {
    return person.serial(async () => {
      const options = await this.post('sign-in/options', { identity_id: person.identityId });
      const challenge = (options.body['options'] as { challenge: string }).challenge;
      const totpCode = await person.nextCode(this.o.clock);
      return this.post('sign-in', { ceremony_id: options.body['ceremony_id'], response: person.key.assert({ challenge }), totp_code: totpCode, ...extra });
    });
  }

  /** Sign in with both factors: the person's token (≤ 15 minutes, amr hwk+otp) issued by the service. */
  async signIn(person: EnrolledPerson, ttlSeconds?: number): Promise<{ accessToken: string; expiresAt: Date }> {
    const r = await this.signInAnswer(person, ttlSeconds === undefined ? {} : { ttl_seconds: ttlSeconds });
    return { accessToken: r.body['access_token'] as string, expiresAt: new Date(r.body['expires_at'] as string) };
  }

  /** Sign in to a console session ("session": true): the cookie and the CSRF token. */
  async signInSession(person: EnrolledPerson): Promise<ConsoleSession> {
    const r = await this.signInAnswer(person, { session: true });
    const cookie = /(?:^|[ ,])kms_console=([A-Za-z0-9_-]{43});/.exec(r.headers.get('set-cookie') ?? '')?.[1];
    if (!cookie) throw new Error('the session sign-in set no kms_console cookie');
    return { cookie, csrf: r.body['csrf_token'] as string };
  }

  /** Approve a `kms login` user code from a console session (with the CSRF header). */
  async approveDevice(session: ConsoleSession, userCode: string): Promise<void> {
    await this.post(`api/device/${encodeURIComponent(userCode)}/approve`, undefined, { cookie: `kms_console=${session.cookie}`, 'x-kms-csrf': session.csrf });
  }
}
