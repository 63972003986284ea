import { randomBytes, randomUUID } from 'node:crypto';
import { type Client, credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { decodeJwt, SignJWT, UnsecuredJWT } from 'jose';
import type { Pool } from 'pg';
import { KmsCallError, KMS_PROTO_FILE, type KmsServiceName, serviceOfMethod, type KmsMessage, type KmsMethod, PROTO_LOADER_OPTIONS, PROTO_ROOT } from '@kms/contracts';
import { approvalIdOf, withOneCharChanged } from '@kms/testing';

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
  const pkg = loadPackageDefinition(def) as unknown as { kms: { v1: Record<KmsServiceName, Ctor> } };
  const creds = credentials.createInsecure();
  const clients = {
    KeyManagementService: new pkg.kms.v1.KeyManagementService(address, creds),
    IdentityService: new pkg.kms.v1.IdentityService(address, creds),
    ApprovalService: new pkg.kms.v1.ApprovalService(address, creds),
    EscrowService: new pkg.kms.v1.EscrowService(address, creds),
  };
  const target = (m: KmsMethod): Client => clients[serviceOfMethod(m)];
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

/** The token with one base64url character changed in the given part (1 payload, 2 signature), mid-way. */
export function flipChar(token: string, part: 1 | 2): string {
  const parts = token.split('.');
  parts[part] = withOneCharChanged(parts[part]);
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

/**
 * A person's enrolment link the two-person way: `asks` asks for it (answered APPROVAL_REQUIRED),
 * `approves` approves and receives it in the ApproveRequest answer.
 */
export async function enrolmentLinkVia(
  asks: { call(method: 'CreateEnrolmentLink' | 'ApproveRequest', request: KmsMessage): Promise<KmsMessage> },
  approves: { call(method: 'CreateEnrolmentLink' | 'ApproveRequest', request: KmsMessage): Promise<KmsMessage> },
  identityId: string,
  context: { change_ticket: string },
): Promise<string> {
  const refusal = await asks.call('CreateEnrolmentLink', { identity_id: identityId, context }).then(
    () => {
      throw new Error('the enrolment link was issued by one person');
    },
    (e: unknown) => e as { errorCode?: string; message?: string },
  );
  const approvalId = approvalIdOf(refusal);
  const done = (await approves.call('ApproveRequest', { approval_id: approvalId, context })) as { status?: string; operation?: string; issued_enrolment_link?: { enrolment_token?: string } };
  if (done.status !== 'EXECUTED' || done.operation !== 'IssueEnrolmentLink' || !done.issued_enrolment_link?.enrolment_token) throw new Error(`the enrolment link was not issued: ${done.status ?? 'no status'}`);
  return done.issued_enrolment_link.enrolment_token;
}

/** The refusal a call ended in (fails the test when the call succeeded). */
export async function refused(p: Promise<unknown>): Promise<KmsCallError> {
  const e = await p.then(
    () => {
      throw new Error('expected a refusal, the call succeeded');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KmsCallError);
  return e as KmsCallError;
}
