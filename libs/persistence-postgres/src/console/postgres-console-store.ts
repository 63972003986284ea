import type { Pool } from 'pg';
import type { ConsoleSessionRecord, ConsoleStore, DeviceAuthorizationRecord, DeviceAuthorizationStatus } from '@kms/application';

type SessionRow = { session_hash: Buffer; identity_id: string; credential_id: string; sealed_token: Buffer; created_at: Date; expires_at: Date };
type DeviceRow = {
  device_code_hash: Buffer;
  user_code: string;
  client_name: string;
  requested_at: Date;
  expires_at: Date;
  status: DeviceAuthorizationStatus;
  interval_seconds: number;
  last_polled_at: Date | null;
  decided_by: string | null;
  credential_id: string | null;
  decided_at: Date | null;
};

/** Device authorizations are kept a day past expiry (answering `expired_token` meanwhile), then pruned. */
const DEVICE_RETENTION_MS = 24 * 60 * 60 * 1000;

function session(r: SessionRow): ConsoleSessionRecord {
  return { sessionHash: r.session_hash, identityId: r.identity_id, credentialId: r.credential_id, sealedToken: r.sealed_token, createdAt: r.created_at, expiresAt: r.expires_at };
}

function device(r: DeviceRow): DeviceAuthorizationRecord {
  return {
    deviceCodeHash: r.device_code_hash,
    userCode: r.user_code,
    clientName: r.client_name,
    requestedAt: r.requested_at,
    expiresAt: r.expires_at,
    status: r.status,
    intervalSeconds: r.interval_seconds,
    ...(r.last_polled_at ? { lastPolledAt: r.last_polled_at } : {}),
    ...(r.decided_by ? { decidedBy: r.decided_by } : {}),
    ...(r.credential_id ? { credentialId: r.credential_id } : {}),
    ...(r.decided_at ? { decidedAt: r.decided_at } : {}),
  };
}

/** Console sessions and device authorizations in PostgreSQL; every decision is one conditional statement. */
export class PostgresConsoleStore implements ConsoleStore {
  constructor(private readonly pool: Pool) {}

  async putSession(s: ConsoleSessionRecord, now: Date): Promise<void> {
    await this.pool.query('DELETE FROM console_sessions WHERE expires_at <= $1', [now]);
    await this.pool.query(
      'INSERT INTO console_sessions (session_hash, identity_id, credential_id, sealed_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [s.sessionHash, s.identityId, s.credentialId, s.sealedToken, s.createdAt, s.expiresAt],
    );
  }

  async getSession(sessionHash: Buffer, now: Date): Promise<ConsoleSessionRecord | undefined> {
    const { rows } = await this.pool.query<SessionRow>('SELECT * FROM console_sessions WHERE session_hash = $1 AND expires_at > $2', [sessionHash, now]);
    return rows[0] && session(rows[0]);
  }

  async deleteSession(sessionHash: Buffer): Promise<boolean> {
    const r = await this.pool.query('DELETE FROM console_sessions WHERE session_hash = $1', [sessionHash]);
    return r.rowCount === 1;
  }

  async putDeviceAuthorization(d: DeviceAuthorizationRecord, now: Date): Promise<boolean> {
    await this.pool.query('DELETE FROM device_authorizations WHERE expires_at <= $1', [new Date(now.getTime() - DEVICE_RETENTION_MS)]);
    const r = await this.pool.query(
      `INSERT INTO device_authorizations (device_code_hash, user_code, client_name, requested_at, expires_at, status, interval_seconds)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_code) DO NOTHING`,
      [d.deviceCodeHash, d.userCode, d.clientName, d.requestedAt, d.expiresAt, d.status, d.intervalSeconds],
    );
    return r.rowCount === 1;
  }

  async getDeviceByCode(deviceCodeHash: Buffer): Promise<DeviceAuthorizationRecord | undefined> {
    const { rows } = await this.pool.query<DeviceRow>('SELECT * FROM device_authorizations WHERE device_code_hash = $1', [deviceCodeHash]);
    return rows[0] && device(rows[0]);
  }

  async getDeviceByUserCode(userCode: string): Promise<DeviceAuthorizationRecord | undefined> {
    const { rows } = await this.pool.query<DeviceRow>('SELECT * FROM device_authorizations WHERE user_code = $1', [userCode]);
    return rows[0] && device(rows[0]);
  }

  async notePoll(deviceCodeHash: Buffer, now: Date, slowDown: boolean): Promise<void> {
    await this.pool.query('UPDATE device_authorizations SET last_polled_at = $2, interval_seconds = interval_seconds + $3 WHERE device_code_hash = $1', [deviceCodeHash, now, slowDown ? 5 : 0]);
  }

  async decideDevice(userCode: string, decision: 'approved' | 'denied', by: { identityId: string; credentialId: string }, now: Date): Promise<boolean> {
    const r = await this.pool.query(
      "UPDATE device_authorizations SET status = $2, decided_by = $3, credential_id = $4, decided_at = $5 WHERE user_code = $1 AND status = 'pending' AND expires_at > $5",
      [userCode, decision, by.identityId, by.credentialId, now],
    );
    return r.rowCount === 1;
  }

  async issueDevice(deviceCodeHash: Buffer, now: Date): Promise<boolean> {
    const r = await this.pool.query("UPDATE device_authorizations SET status = 'issued' WHERE device_code_hash = $1 AND status = 'approved' AND expires_at > $2", [deviceCodeHash, now]);
    return r.rowCount === 1;
  }
}
