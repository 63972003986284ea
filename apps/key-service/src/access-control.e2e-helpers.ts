import { randomBytes, randomUUID } from 'node:crypto';
import { type Client, credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { decodeJwt, SignJWT, UnsecuredJWT } from 'jose';
import type { Pool } from 'pg';
import { APPROVAL_METHODS, IDENTITY_METHODS, KMS_PROTO_FILE, type KmsMessage, type KmsMethod, PROTO_LOADER_OPTIONS, PROTO_ROOT } from '@kms/contracts';

/** A refused call as the wire shows it: status, message and every trailer (kms-error-code, kms-approval-id, ...). */
export interface RawRefusal {
  code: number;
  details: string;
  trailers: Record<string, string>;
}

/**
 * A second gRPC client that keeps the trailers of a refusal, which the shared KmsClient reduces to
 * code and field (e.g. to read kms-approval-id).
 */
export interface TrailerClient {
  refusal(method: KmsMethod, request: KmsMessage, options: { token?: string; requestId?: string }): Promise<RawRefusal>;
  close(): void;
}

export function createTrailerClient(address: string): TrailerClient {
  const def = loadSync(`${PROTO_ROOT}/${KMS_PROTO_FILE}`, { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
  type Ctor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client;
  const pkg = loadPackageDefinition(def) as unknown as { kms: { v1: Record<'KeyManagementService' | 'IdentityService' | 'ApprovalService', Ctor> } };
  const creds = credentials.createInsecure();
  const clients = {
    KeyManagementService: new pkg.kms.v1.KeyManagementService(address, creds),
    IdentityService: new pkg.kms.v1.IdentityService(address, creds),
    ApprovalService: new pkg.kms.v1.ApprovalService(address, creds),
  };
  const target = (m: KmsMethod): Client =>
    (IDENTITY_METHODS as readonly string[]).includes(m)
      ? clients.IdentityService
      : (APPROVAL_METHODS as readonly string[]).includes(m)
        ? clients.ApprovalService
        : clients.KeyManagementService;
  type Unary = (req: KmsMessage, md: Metadata, cb: (err: ServiceError | null, res: unknown) => void) => void;
  return {
    refusal(method, request, options) {
      const md = new Metadata();
      if (options.token) md.set('authorization', `Bearer ${options.token}`);
      md.set('x-request-id', options.requestId ?? randomUUID());
      return new Promise<RawRefusal>((resolve, reject) => {
        const c = target(method);
        (c as unknown as Record<string, Unary>)[method].call(c, request, md, (err) => {
          if (!err) {
            reject(new Error(`expected ${method} to be refused, it succeeded`));
            return;
          }
          const trailers: Record<string, string> = {};
          for (const [k, v] of Object.entries(err.metadata?.getMap() ?? {})) trailers[k] = v.toString();
          resolve({ code: err.code, details: err.details, trailers });
        });
      });
    },
    close() {
      for (const c of Object.values(clients)) c.close();
    },
  };
}

/** The claims of a KMS token, read without verifying (what a client may inspect). */
export function tokenClaims(token: string): Record<string, unknown> {
  return decodeJwt(token) as Record<string, unknown>;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The token with one base64url character changed in the given part (1 payload, 2 signature), mid-way. */
export function flipChar(token: string, part: 1 | 2): string {
  const parts = token.split('.');
  const s = parts[part];
  // Mid-way, so the change is never lost in the padding bits of the last character.
  const i = Math.floor(s.length / 2);
  const replacement = B64URL[(B64URL.indexOf(s[i]) + 1) % B64URL.length];
  parts[part] = s.slice(0, i) + replacement + s.slice(i + 1);
  return parts.join('.');
}

/** The token with its payload replaced by other claims, the original signature kept. */
export function withClaims(token: string, claims: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

/** Claims shaped exactly like the KMS's own, for forging. */
export function kmsLikeClaims(sub: string, nowMs: number, ttlSeconds = 300): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  return { name: 'forged', kind: 'WORKLOAD', roles: [], amr: [], iss: 'kms', aud: 'kms', sub, jti: randomUUID(), iat, exp: iat + ttlSeconds };
}

/** A well-formed HS256 token signed with a random key the KMS has never seen. */
export function tokenSignedWithOtherKey(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(randomBytes(32));
}

/** An unsigned token (alg "none"). */
export function unsignedToken(claims: Record<string, unknown>): string {
  return new UnsecuredJWT(claims).encode();
}

export interface AuditRow {
  request_id: string;
  operation: string;
  actor: string;
  actor_role: string | null;
  outcome: string;
  error_code: string | null;
  key_id: string | null;
  details: Record<string, unknown> | null;
}

/** The audit records of one request id, as an auditor reads them. */
export async function auditRows(db: Pool, requestId: string): Promise<AuditRow[]> {
  return (
    await db.query<AuditRow>(
      'SELECT request_id, operation, actor, actor_role, outcome, error_code, key_id, details FROM audit_records WHERE request_id = $1 ORDER BY "position"',
      [requestId],
    )
  ).rows;
}

export interface EventRow {
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** A stream's events in order. */
export async function streamEvents(db: Pool, streamId: string): Promise<EventRow[]> {
  return (await db.query<EventRow>('SELECT type, data, metadata FROM events WHERE stream_id = $1 ORDER BY stream_version', [streamId])).rows;
}
