import type { ServerResponse } from 'node:http';
import type { AuditLog, AuditRecord, IdentityService } from '@kms/application';
import { KmsError, type Principal } from '@kms/domain';
import { ComplianceGateway, type HttpRequest } from './compliance-gateway';

const officer: Principal = { identityId: 'carol', name: 'carol', kind: 'HUMAN', roles: ['compliance-officer'], authMethods: ['hwk', 'otp'] };
const sre: Principal = { ...officer, identityId: 'sam', roles: ['sre-oncall'] };

function identity(p: Principal): IdentityService {
  return {
    authenticate: async (t: string | undefined) => {
      if (t !== 'good') throw new KmsError('UNAUTHENTICATED', 'unauthenticated: invalid token');
      return p;
    },
  } as unknown as IdentityService;
}

function request(auth?: string): HttpRequest {
  return { headers: auth ? { authorization: auth } : {}, query: {}, socket: { remoteAddress: '192.0.2.1' } } as unknown as HttpRequest;
}

function response(): { res: ServerResponse; sent: () => { status: number; type: string; body: string } } {
  let status = 0;
  let body = '';
  const headers: Record<string, string> = {};
  const res = {
    set statusCode(v: number) {
      status = v;
    },
    setHeader: (k: string, v: string) => void (headers[k] = v),
    end: (b: string | Buffer) => void (body = b.toString()),
  } as unknown as ServerResponse;
  return { res, sent: () => ({ status, type: headers['content-type'], body }) };
}

function auditLog(fail = false): AuditLog & { records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return {
    records,
    append: async (r) => {
      if (fail) throw new KmsError('AUDIT_UNAVAILABLE', 'audit log unavailable');
      records.push(r);
    },
    appendMany: async () => undefined,
  };
}

const clock = { now: () => new Date('2026-03-01T09:00:00.000Z') };
const spec = { operation: 'ReadAudit' as const, route: 'GET /v1/keys' };

describe('ComplianceGateway', () => {
  it('given a compliance officer, then the answer is sent after a SUCCESS audit record', async () => {
    const log = auditLog();
    const { res, sent } = response();
    await new ComplianceGateway(identity(officer), log, clock).handle(request('Bearer good'), res, spec, async () => ({ json: { items: [] } }));
    expect(sent()).toEqual({ status: 200, type: 'application/json', body: '{"items":[]}' });
    expect(log.records).toEqual([expect.objectContaining({ operation: 'ReadAudit', actor: 'carol', actorRole: 'compliance-officer', outcome: 'SUCCESS', sourceAddress: '192.0.2.1' })]);
  });

  it('given no token, then 401 problem details naming the header, audited as DENIED', async () => {
    const log = auditLog();
    const { res, sent } = response();
    await new ComplianceGateway(identity(officer), log, clock).handle(request(), res, spec, async () => ({ json: 'secret' }));
    expect(sent().status).toBe(401);
    expect(sent().type).toBe('application/problem+json');
    expect(JSON.parse(sent().body)).toMatchObject({ code: 'UNAUTHENTICATED', detail: expect.stringContaining('Bearer') });
    expect(log.records[0]).toMatchObject({ actor: 'unauthenticated', outcome: 'DENIED', errorCode: 'UNAUTHENTICATED' });
  });

  it('given a role without ReadAudit, then 403 naming the roles that may', async () => {
    const { res, sent } = response();
    await new ComplianceGateway(identity(sre), auditLog(), clock).handle(request('Bearer good'), res, spec, async () => ({ json: 'secret' }));
    expect(sent().status).toBe(403);
    expect(JSON.parse(sent().body)).toMatchObject({ code: 'PERMISSION_DENIED', detail: expect.stringContaining('compliance-officer') });
  });

  it('given the audit log fails, then 503 and nothing of the answer (fail closed)', async () => {
    const { res, sent } = response();
    await new ComplianceGateway(identity(officer), auditLog(true), clock).handle(request('Bearer good'), res, spec, async () => ({ json: { items: ['key-data'] } }));
    expect(sent().status).toBe(503);
    expect(sent().body).not.toContain('key-data');
    expect(JSON.parse(sent().body)).toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
  });
});
