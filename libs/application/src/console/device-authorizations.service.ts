import { createHash, randomBytes, randomInt } from 'node:crypto';
import { invalidArgument, KmsError, MAX_TOKEN_TTL_SECONDS } from '@kms/domain';
import type { Clock } from '../ports/audit-log.port';
import { type IdentityService, SuspendedIdentityError } from '../access/identity.service';
import type { ConsoleStore, DeviceAuthorizationRecord } from './console-store.port';

/** RFC 8628 §6.1: consonants only, no vowels (no words) and no look-alikes (0/O, 1/I). */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
/** A device authorization lives this long. */
export const DEVICE_CODE_TTL_SECONDS = 600;
/** The first polling interval; each `slow_down` adds 5 s. */
export const DEVICE_POLL_INTERVAL_SECONDS = 5;

const DEVICE_CODE = /^[A-Za-z0-9_-]{43}$/;

/** RFC 8628 §3.5 answers to a poll that gets no token. */
export type DevicePollError = 'authorization_pending' | 'slow_down' | 'expired_token' | 'access_denied' | 'invalid_grant';

export type DevicePoll = { error: DevicePollError; description: string } | { accessToken: string; expiresIn: number; identityId: string };

function sha256(data: string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** `ABCD-EFGH` from what a person typed (any case, with or without the dash); undefined when it cannot be a user code. */
export function normalizeUserCode(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 16) return undefined;
  const letters = value.toUpperCase().replace(/[-\s]/g, '');
  if (letters.length !== 8 || Array.from(letters).some((c) => !USER_CODE_ALPHABET.includes(c))) return undefined;
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

function newUserCode(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}

/**
 * `kms login` (RFC 8628 device authorization, docs/console.md): the CLI gets a device code (256
 * bits, stored as SHA-256 only) and a short user code; a person signed in to the console approves
 * or denies it; the CLI's poll then receives, once, a fresh token of that person (amr hwk+otp, the
 * credential of the approving session). The caller audits every step.
 */
export class DeviceAuthorizations {
  constructor(private readonly o: { store: ConsoleStore; identities: IdentityService; clock: Clock }) {}

  private now(): Date {
    return this.o.clock.now();
  }

  /** A new authorization for a CLI: the device code is answered once and never stored. */
  async begin(input: { clientName?: unknown }): Promise<{ deviceCode: string; userCode: string; expiresIn: number; interval: number; record: DeviceAuthorizationRecord }> {
    const raw = input.clientName;
    if (raw !== undefined && raw !== null && (typeof raw !== 'string' || raw.length > 64 || /[\p{Cc}]/u.test(raw))) {
      throw invalidArgument('client_name', 'must be at most 64 printable characters (e.g. "kms login on my-laptop")');
    }
    const clientName = typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : 'kms login';
    const now = this.now();
    for (let attempt = 0; attempt < 5; attempt++) {
      const deviceCode = randomBytes(32).toString('base64url');
      const record: DeviceAuthorizationRecord = {
        deviceCodeHash: sha256(deviceCode),
        userCode: newUserCode(),
        clientName,
        requestedAt: now,
        expiresAt: new Date(now.getTime() + DEVICE_CODE_TTL_SECONDS * 1000),
        status: 'pending',
        intervalSeconds: DEVICE_POLL_INTERVAL_SECONDS,
      };
      // A user code already in use (2^34 of them, so rare) is drawn again.
      if (await this.o.store.putDeviceAuthorization(record, now)) return { deviceCode, userCode: record.userCode, expiresIn: DEVICE_CODE_TTL_SECONDS, interval: DEVICE_POLL_INTERVAL_SECONDS, record };
    }
    throw new KmsError('CONCURRENCY_CONFLICT', 'could not draw a free user code; try again');
  }

  /**
   * The CLI polls with its device code. The code is found by its SHA-256 (a lookup by the hash of a
   * 256-bit secret tells a guesser nothing). Too-fast polls are answered `slow_down` and the interval
   * grows by 5 s; an approved authorization is answered with a token once, then `invalid_grant`.
   */
  async poll(deviceCode: unknown): Promise<DevicePoll> {
    if (typeof deviceCode !== 'string' || !DEVICE_CODE.test(deviceCode)) throw invalidArgument('device_code', 'must be the device_code POST /v1/console/device/code answered');
    const hash = sha256(deviceCode);
    const rec = await this.o.store.getDeviceByCode(hash);
    if (!rec) return { error: 'invalid_grant', description: 'unknown device code' };
    const now = this.now();
    if (rec.status === 'issued') return { error: 'invalid_grant', description: 'this device code was already exchanged for a token; run kms login again' };
    if (rec.expiresAt.getTime() <= now.getTime()) return { error: 'expired_token', description: 'the device code expired; run kms login again' };
    if (rec.status === 'denied') return { error: 'access_denied', description: 'the person denied this login' };
    if (rec.lastPolledAt && now.getTime() - rec.lastPolledAt.getTime() < rec.intervalSeconds * 1000) {
      await this.o.store.notePoll(hash, now, true);
      return { error: 'slow_down', description: `poll at most every ${rec.intervalSeconds + 5} seconds` };
    }
    await this.o.store.notePoll(hash, now, false);
    if (rec.status === 'pending') return { error: 'authorization_pending', description: 'waiting for the person to approve in the console' };
    if (!rec.decidedBy || !rec.credentialId || !(await this.o.store.issueDevice(hash, now))) return { error: 'invalid_grant', description: 'this device code was already exchanged for a token' };
    try {
      const issued = await this.o.identities.issueVerifiedPersonToken(rec.decidedBy, { webauthnCredentialId: rec.credentialId }, MAX_TOKEN_TTL_SECONDS);
      return { accessToken: issued.token, expiresIn: Math.round((issued.expiresAt.getTime() - now.getTime()) / 1000), identityId: rec.decidedBy };
    } catch (e) {
      if (e instanceof SuspendedIdentityError) return { error: 'access_denied', description: 'the approving person is suspended' };
      throw e;
    }
  }

  /** A pending authorization by its user code, for the person to check before approving. */
  async describe(userCode: unknown): Promise<DeviceAuthorizationRecord> {
    const code = normalizeUserCode(userCode);
    if (!code) throw invalidArgument('user_code', `must be the 8-letter code kms login printed (XXXX-XXXX, letters ${USER_CODE_ALPHABET})`);
    const rec = await this.o.store.getDeviceByUserCode(code);
    if (!rec || rec.expiresAt.getTime() <= this.now().getTime()) throw new KmsError('DEVICE_AUTHORIZATION_NOT_FOUND', 'user_code: no pending login with this code (it may have expired)', 'user_code');
    return rec;
  }

  /** The signed-in person approves or denies (once, before expiry). */
  async decide(userCode: unknown, decision: 'approved' | 'denied', by: { identityId: string; credentialId: string }): Promise<DeviceAuthorizationRecord> {
    const rec = await this.describe(userCode);
    if (rec.status !== 'pending') throw new KmsError('DEVICE_AUTHORIZATION_NOT_PENDING', `user_code: this login was already ${rec.status === 'issued' ? 'approved' : rec.status}`, 'user_code');
    if (!(await this.o.store.decideDevice(rec.userCode, decision, by, this.now()))) throw new KmsError('DEVICE_AUTHORIZATION_NOT_PENDING', 'user_code: this login was decided meanwhile', 'user_code');
    return rec;
  }
}
