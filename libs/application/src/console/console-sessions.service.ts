import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { AccessRefusedError, type Principal } from '@kms/domain';
import type { Clock } from '../ports/audit-log.port';
import { type IdentityService, SuspendedIdentityError } from '../access/identity.service';
import type { ConsoleStore } from './console-store.port';

/** A console session lives at most this long from sign-in (absolute, never extended). */
export const CONSOLE_SESSION_MAX_MS = 15 * 60_000;
/** The cookie that carries the session id. */
export const CONSOLE_SESSION_COOKIE = 'kms_console';
/** The header state-changing console requests carry the session's CSRF token in. */
export const CONSOLE_CSRF_HEADER = 'x-kms-csrf';

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** A session in use: who, until when, the CSRF token to show the page, and the person's token (server side only). */
export interface ConsoleSession {
  principal: Principal;
  identityId: string;
  name: string;
  roles: string[];
  credentialId: string;
  expiresAt: Date;
  csrfToken: string;
  /** The person's own bearer token, used for the calls the console makes on their behalf; never sent to the browser. */
  token: string;
}

function sha256(data: string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The key that seals the person's token: derived from the session id, which only the cookie holds. */
function sealKey(sessionId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(sessionId, 'utf8'), Buffer.alloc(0), 'kms-console-session-token-v1', 32));
}

/** The session's CSRF token: an HMAC of a fixed label under the session id, so nothing more is stored. */
function csrfOf(sessionId: string): string {
  return createHmac('sha256', Buffer.from(sessionId, 'utf8')).update('kms-console-csrf-v1').digest('base64url');
}

function sessionRefused(reason: string, message: string): AccessRefusedError<'UNAUTHENTICATED'> {
  return new AccessRefusedError('UNAUTHENTICATED', `unauthenticated: ${message}`, CONSOLE_SESSION_COOKIE, { reason });
}

/**
 * Console sessions (docs/console.md): an opaque 256-bit id in an HttpOnly cookie; PostgreSQL keeps
 * only its SHA-256, the person's token sealed (AES-256-GCM) under a key derived from the id, and an
 * absolute expiry of at most 15 minutes. Every use re-checks the person (suspension ends it).
 */
export class ConsoleSessions {
  constructor(private readonly o: { store: ConsoleStore; identities: IdentityService; clock: Clock }) {}

  /** A new session for a person's freshly issued token; answers the cookie value (shown only to the browser). */
  async open(issued: { identityId: string; credentialId: string; token: string; expiresAt: Date }): Promise<{ sessionId: string; csrfToken: string; expiresAt: Date; maxAgeSeconds: number }> {
    const now = this.o.clock.now();
    const expiresAt = new Date(Math.min(issued.expiresAt.getTime(), now.getTime() + CONSOLE_SESSION_MAX_MS));
    const sessionId = randomBytes(32).toString('base64url');
    const sessionHash = sha256(sessionId);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', sealKey(sessionId), iv);
    cipher.setAAD(sessionHash);
    const sealedToken = Buffer.concat([iv, cipher.update(issued.token, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    await this.o.store.putSession({ sessionHash, identityId: issued.identityId, credentialId: issued.credentialId, sealedToken, createdAt: now, expiresAt }, now);
    return { sessionId, csrfToken: csrfOf(sessionId), expiresAt, maxAgeSeconds: Math.floor((expiresAt.getTime() - now.getTime()) / 1000) };
  }

  /** The session a cookie names, valid now, of a person still active; refused UNAUTHENTICATED (SESSION_REQUIRED) otherwise. */
  async resolve(sessionId: string | undefined): Promise<ConsoleSession> {
    if (sessionId === undefined || sessionId === '') throw sessionRefused('SESSION_REQUIRED', 'sign in to the console first (no session cookie)');
    if (!SESSION_ID.test(sessionId)) throw sessionRefused('SESSION_REQUIRED', 'the session cookie is not one the KMS set; sign in again');
    const sessionHash = sha256(sessionId);
    const stored = await this.o.store.getSession(sessionHash, this.o.clock.now());
    if (!stored) throw sessionRefused('SESSION_REQUIRED', 'unknown, ended or expired session; sign in again');
    let token: string;
    try {
      const s = stored.sealedToken;
      const decipher = createDecipheriv('aes-256-gcm', sealKey(sessionId), s.subarray(0, 12));
      decipher.setAAD(sessionHash);
      decipher.setAuthTag(s.subarray(s.length - 16));
      token = Buffer.concat([decipher.update(s.subarray(12, s.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw sessionRefused('SESSION_REQUIRED', 'the session cannot be opened; sign in again');
    }
    let principal: Principal;
    try {
      principal = await this.o.identities.authenticate(token);
    } catch (e) {
      // A suspended person (or a changed credential) ends the session for good.
      await this.o.store.deleteSession(sessionHash);
      if (e instanceof SuspendedIdentityError) throw sessionRefused('PERSON_SUSPENDED', 'this person is suspended; the session has ended');
      throw sessionRefused('SESSION_REQUIRED', 'the session has ended; sign in again');
    }
    return {
      principal,
      identityId: principal.identityId,
      name: principal.name,
      roles: [...principal.roles],
      credentialId: stored.credentialId,
      expiresAt: stored.expiresAt,
      csrfToken: csrfOf(sessionId),
      token,
    };
  }

  /** A state-changing request must carry the session's CSRF token (compared in constant time). */
  checkCsrf(session: ConsoleSession, header: string | undefined): void {
    const expected = Buffer.from(session.csrfToken, 'utf8');
    const given = Buffer.from(typeof header === 'string' ? header : '', 'utf8');
    const same = given.length === expected.length && timingSafeEqual(given, expected);
    if (!same) {
      throw new AccessRefusedError('PERMISSION_DENIED', `permission denied: send the session's CSRF token in the ${CONSOLE_CSRF_HEADER} header`, CONSOLE_CSRF_HEADER, { reason: 'CSRF' });
    }
  }

  /** Sign-out: the session is deleted (a later use is refused). */
  async close(sessionId: string | undefined): Promise<void> {
    if (sessionId && SESSION_ID.test(sessionId)) await this.o.store.deleteSession(sha256(sessionId));
  }
}
