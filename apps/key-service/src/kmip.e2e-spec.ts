import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { issueKmipClientCertificate, KmipClient, ResultReason, Tag, ttlv } from '@kms/kmip';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';
import { createTrailerClient, type TrailerClient } from './access-control.e2e-helpers';

const run = promisify(execFile);
const DRIVER = join(__dirname, 'testing', 'kmip', 'pykmip_driver.py');

/** Debian's PyKMIP (python3-pykmip) is installed for the system interpreter, not for pyenv's. */
const PYTHON = '/usr/bin/python3';

interface AuditRow {
  operation: string;
  actor: string;
  outcome: string;
  details: Record<string, unknown> | null;
}

describe('KMIP server driven by PyKMIP over mutual TLS (e2e)', () => {
  let kms: KeyServiceUnderTest;
  let dir: string;
  let files: { cert: string; key: string; ca: string };
  let clientId: string;
  let trailers: TrailerClient;
  let ann: Actor;
  let ben: Actor;
  const TICKET = { change_ticket: 'CHG-KMIP' };

  /** A person (ann) asks to bind `certificate` (PEM; empty: unbind), a second person (ben) approves. */
  async function bindByTwoPeople(certificate: string): Promise<{ approvalId: string }> {
    const asked = await trailers.refusal('BindClientCertificate', { identity_id: clientId, certificate: Buffer.from(certificate), context: TICKET }, { token: await ann.token() });
    expect({ code: status[asked.code], errorCode: asked.trailers['kms-error-code'] }).toEqual({ code: 'FAILED_PRECONDITION', errorCode: 'APPROVAL_REQUIRED' });
    const approvalId = asked.trailers['kms-approval-id'] as string;
    const done = await ben.call<{ status: string; operation: string; requester: string }>('ApproveRequest', { approval_id: approvalId, context: TICKET });
    expect(done).toMatchObject({ status: 'EXECUTED', operation: 'BindClientCertificate', requester: ann.identityId });
    return { approvalId };
  }

  /** Whether the KMIP server admits this client certificate (a Query answered, or refused). */
  async function admitted(cert: string, key: string): Promise<boolean> {
    const client = await KmipClient.connect({ host: '127.0.0.1', port: kms.service.kmip?.port ?? 0, cert, key, ca: readFileSync(files.ca, 'utf8') });
    try {
      const [answer] = await client.request([{ operation: 'Query', payload: [ttlv.enum(Tag.QueryFunction, 1)] }]);
      if (!answer?.ok && answer?.reason !== ResultReason.AuthenticationNotSuccessful) throw new Error(`unexpected refusal ${String(answer?.reason)}`);
      return answer?.ok === true;
    } catch (e) {
      // The server may close the connection after refusing a certificate.
      if (e instanceof Error && /closed|ECONNRESET|socket/i.test(e.message)) return false;
      throw e;
    } finally {
      client.close();
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kms-kmip-'));
    kms = await startKeyServiceUnderTest('kmip', { KMS_KMIP_ENABLED: 'true', KMS_KMIP_ADDRESS: '127.0.0.1:0', KMS_KMIP_TLS_DIR: join(dir, 'tls') });
    const client = await kms.register('mongodb-kmip', 'WORKLOAD', ['key-provisioner']);
    clientId = client.identityId;
    const issued = issueKmipClientCertificate(join(dir, 'tls'), 'mongodb-kmip');
    files = { cert: join(dir, 'client.crt'), key: join(dir, 'client.key'), ca: join(dir, 'tls', 'ca.crt') };
    writeFileSync(files.cert, issued.cert);
    writeFileSync(files.key, issued.key, { mode: 0o600 });
    trailers = createTrailerClient(kms.service.grpcAddress);
    ann = await kms.register('ann.seceng', 'HUMAN', ['security-engineering']);
    ben = await kms.register('ben.seceng', 'HUMAN', ['security-engineering']);
    await bindByTwoPeople(issued.cert);
  }, 120_000);

  afterAll(async () => {
    trailers?.close();
    await kms?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function drive(cert = files.cert, key = files.key): Promise<Record<string, unknown>> {
    const port = kms.service.kmip?.port;
    if (!port) throw new Error('the KMIP server did not start');
    const { stdout } = await run(PYTHON, [DRIVER, '127.0.0.1', String(port), cert, key, files.ca], { timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
  }

  it('runs create, locate, get attributes, activate, encrypt/decrypt, sign/verify, MAC, revoke and destroy; material never leaves', async () => {
    const out = await drive();
    const aes = out['create'] as string;
    expect(aes).toMatch(/^[0-9a-f-]{36}$/);
    expect(out['locate']).toEqual([aes]);
    expect(out['get_attributes']).toMatchObject({ State: 'State.ACTIVE', 'Cryptographic Algorithm': 'CryptographicAlgorithm.AES', 'Cryptographic Length': '256' });
    expect(out['activate']).toBe(true);
    expect(out['decrypt']).toBe('the quick brown fox, over KMIP');
    expect(out['decrypt_tampered']).toBe('CRYPTOGRAPHIC_FAILURE');
    expect(out['signature_verify']).toBe('VALID');
    expect(out['signature_verify_other_message']).toBe('INVALID');
    expect(out['mac']).toMatchObject({ length: 32 });
    expect(out['get']).toBe('NOT_EXTRACTABLE');
    expect(out['revoke']).toBe(true);
    // The same rule as over gRPC: a version with ciphertexts still out is not retired.
    expect(out['destroy_with_ciphertexts_out']).toBe('ILLEGAL_OPERATION');
    expect(out['revoke_hmac']).toBe(true);
    expect(out['destroy']).toBe(true);
    // Revoke (compromise) rotated the key; Destroy scheduled the compromised version's destruction.
    const aesKey = await kms.admin.call<{ primary_version: number; versions: Array<{ version: number; state: string }> }>('GetKey', { key_id: aes });
    expect(aesKey.primary_version).toBe(2);
    const hmacKey = await kms.admin.call<{ primary_version: number; versions: Array<{ version: number; state: string }> }>('GetKey', { key_id: out['hmac'] as string });
    expect(hmacKey.versions.map((v) => [v.version, v.state])).toEqual([
      [1, 'DESTROY_SCHEDULED'],
      [2, 'ENABLED'],
    ]);

    // The audit log shows each operation with the client's identity and the protocol.
    const { rows } = await kms.db.query<AuditRow>(
      `SELECT operation, actor, outcome, details FROM audit_records WHERE details->>'protocol' = 'KMIP' ORDER BY "position"`,
    );
    const kmipOps = rows.map((r) => `${String(r.details?.['kmipOperation'])}:${r.operation}:${r.outcome}`);
    for (const expected of [
      'Create:CreateKey:SUCCESS',
      'Locate:LocateKeys:SUCCESS',
      'GetAttributes:GetKey:SUCCESS',
      'Activate:GetKey:SUCCESS',
      'Encrypt:Encrypt:SUCCESS',
      'Decrypt:Decrypt:SUCCESS',
      'CreateKeyPair:CreateKey:SUCCESS',
      'Sign:Sign:SUCCESS',
      'SignatureVerify:Verify:SUCCESS',
      'MAC:GenerateMac:SUCCESS',
      'Revoke:ReportKeyCompromise:SUCCESS',
      'Destroy:ScheduleKeyVersionDestruction:SUCCESS',
      // Refused calls name the protocol too, whatever their handler did to the audit details.
      'Destroy:ScheduleKeyVersionDestruction:FAILURE',
    ]) {
      expect(kmipOps).toContain(expected);
    }
    expect(rows.every((r) => r.actor === clientId)).toBe(true);
    expect(kmipOps.some((o) => o.startsWith('Get:ExportKeyMaterial:') && !o.endsWith('SUCCESS'))).toBe(true);
  }, 180_000);

  it('refuses a certificate from the CA that is bound to no identity, and audits the refusal', async () => {
    const stranger = issueKmipClientCertificate(join(dir, 'tls'), 'stranger');
    const cert = join(dir, 'stranger.crt');
    const key = join(dir, 'stranger.key');
    writeFileSync(cert, stranger.cert);
    writeFileSync(key, stranger.key, { mode: 0o600 });
    await expect(drive(cert, key)).rejects.toThrow(/AUTHENTICATION_NOT_SUCCESSFUL|bound to no identity/);
    const { rows } = await kms.db.query<AuditRow>(
      `SELECT operation, actor, outcome, details FROM audit_records WHERE details->>'protocol' = 'KMIP' AND actor = 'unauthenticated' AND operation = 'CreateKey'`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]?.outcome).not.toBe('SUCCESS');

    // The refused certificate gets its answer, then loses the connection: no second try on it.
    const client = await KmipClient.connect({ host: '127.0.0.1', port: kms.service.kmip?.port ?? 0, cert: stranger.cert, key: stranger.key, ca: readFileSync(files.ca, 'utf8') });
    try {
      const [answer] = await client.request([{ operation: 'Query', payload: [] }]);
      expect(answer).toMatchObject({ ok: false, reason: ResultReason.AuthenticationNotSuccessful });
      await expect(client.request([{ operation: 'Query', payload: [] }])).rejects.toThrow(/closed the connection/);
    } finally {
      client.close();
    }
  }, 120_000);

  it('answers a batch of several operations in one request, each audited, and stops at a failure unless asked to continue', async () => {
    const client = await KmipClient.connect({ host: '127.0.0.1', port: kms.service.kmip?.port ?? 0, cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8'), ca: readFileSync(files.ca, 'utf8') });
    try {
      const results = await client.request([
        { operation: 'DiscoverVersions', payload: [] },
        { operation: 'Create', payload: [ttlv.struct(Tag.TemplateAttribute, [ttlv.struct(Tag.Attribute, [ttlv.text(Tag.AttributeName, 'Cryptographic Algorithm'), ttlv.enum(Tag.AttributeValue, 0x03)])])] },
        // No Unique Identifier: the id the Create returned (ID placeholder).
        { operation: 'Encrypt', payload: [ttlv.bytes(Tag.Data, Buffer.from('batch'))] },
        { operation: 'Get', payload: [] },
        { operation: 'Query', payload: [ttlv.enum(Tag.QueryFunction, 1)] },
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
      const versions = results[0]?.ok ? results[0].payload.all(Tag.ProtocolVersion, 'Structure').length : 0;
      expect(versions).toBe(5);
      expect(results[3]?.ok === false && results[3].reason).toBe(ResultReason.NotExtractable);
    } finally {
      client.close();
    }
  }, 60_000);

  it('adds, modifies and deletes custom attributes as labels of the key (KeyLabelsChanged, audited); attributes of the KMS itself are fixed', async () => {
    const client = await KmipClient.connect({ host: '127.0.0.1', port: kms.service.kmip?.port ?? 0, cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8'), ca: readFileSync(files.ca, 'utf8') });
    const attribute = (name: string, value: string) => ttlv.struct(Tag.Attribute, [ttlv.text(Tag.AttributeName, name), ttlv.text(Tag.AttributeValue, value)]);
    try {
      const created = await client.call('Create', [
        ttlv.enum(Tag.ObjectType, 0x02),
        ttlv.struct(Tag.TemplateAttribute, [
          ttlv.struct(Tag.Attribute, [ttlv.text(Tag.AttributeName, 'Cryptographic Algorithm'), ttlv.enum(Tag.AttributeValue, 0x03)]),
          ttlv.struct(Tag.Attribute, [ttlv.text(Tag.AttributeName, 'Cryptographic Length'), ttlv.int(Tag.AttributeValue, 256)]),
          attribute('x-team', 'storage'),
        ]),
      ]);
      const uid = created.req(Tag.UniqueIdentifier, 'TextString');
      const results = await client.request([
        { operation: 'AddAttribute', payload: [ttlv.text(Tag.UniqueIdentifier, uid), attribute('x-tier', 'gold')] },
        { operation: 'ModifyAttribute', payload: [ttlv.text(Tag.UniqueIdentifier, uid), attribute('x-team', 'databases')] },
        { operation: 'AddAttribute', payload: [ttlv.text(Tag.UniqueIdentifier, uid), attribute('x-scratch', 'tmp')] },
        { operation: 'DeleteAttribute', payload: [ttlv.text(Tag.UniqueIdentifier, uid), ttlv.text(Tag.AttributeName, 'x-scratch')] },
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
      const key = await kms.admin.call<{ labels: Record<string, string> }>('GetKey', { key_id: uid });
      expect(key.labels).toEqual({ team: 'databases', tier: 'gold' });

      const refused = await client.request([
        { operation: 'AddAttribute', payload: [ttlv.text(Tag.UniqueIdentifier, uid), attribute('x-tier', 'silver')] },
        { operation: 'ModifyAttribute', payload: [ttlv.text(Tag.UniqueIdentifier, uid), attribute('x-missing', 'v')] },
        { operation: 'ModifyAttribute', payload: [ttlv.text(Tag.UniqueIdentifier, uid), attribute('x-kms-purpose', 'SIGNING')] },
        { operation: 'ModifyAttribute', payload: [ttlv.text(Tag.UniqueIdentifier, uid), ttlv.struct(Tag.Attribute, [ttlv.text(Tag.AttributeName, 'Name'), ttlv.struct(Tag.AttributeValue, [ttlv.text(Tag.NameValue, 'renamed'), ttlv.enum(Tag.NameType, 1)])])] },
      ]);
      // Stop at the first failure unless asked to continue: one at a time.
      expect(refused.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([ResultReason.IllegalOperation]);
      for (const [op, attr, reason] of [
        ['ModifyAttribute', attribute('x-missing', 'v'), ResultReason.ItemNotFound],
        ['ModifyAttribute', attribute('x-kms-purpose', 'SIGNING'), ResultReason.IllegalOperation],
        ['DeleteAttribute', undefined, ResultReason.IllegalOperation],
      ] as const) {
        const payload = op === 'DeleteAttribute' ? [ttlv.text(Tag.UniqueIdentifier, uid), ttlv.text(Tag.AttributeName, 'Name')] : [ttlv.text(Tag.UniqueIdentifier, uid), attr as ReturnType<typeof attribute>];
        const [answer] = await client.request([{ operation: op, payload }]);
        expect(answer).toMatchObject({ ok: false, reason });
      }
      expect((await kms.admin.call<{ labels: Record<string, string> }>('GetKey', { key_id: uid })).labels).toEqual({ team: 'databases', tier: 'gold' });

      const { rows } = await kms.db.query<AuditRow>(
        `SELECT operation, actor, outcome, details FROM audit_records WHERE operation = 'UpdateKeyLabels' AND key_id = $1 ORDER BY "position"`,
        [uid],
      );
      expect(rows.map((r) => `${String(r.details?.['kmipOperation'])}:${r.outcome}:${String(r.details?.['protocol'])}`)).toEqual([
        'AddAttribute:SUCCESS:KMIP',
        'ModifyAttribute:SUCCESS:KMIP',
        'AddAttribute:SUCCESS:KMIP',
        'DeleteAttribute:SUCCESS:KMIP',
        'AddAttribute:FAILURE:KMIP',
        'ModifyAttribute:FAILURE:KMIP',
      ]);
      const events = await kms.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type = 'KeyLabelsChanged'`, [`key-${uid}`]);
      expect(events.rows[0]?.n).toBe(4);
    } finally {
      client.close();
    }
  }, 60_000);

  it('changing a key\'s labels over gRPC takes a person a second person\'s approval', async () => {
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', { tenant: 'kmip', name: 'labelled', purpose: 'DATA_PROTECTION', algorithm: 'AES_256_GCM', labels: { team: 'a' } });
    const asked = await trailers.refusal('UpdateKeyLabels', { key_id: key.key_id, labels: { team: 'b' }, context: TICKET }, { token: await ann.token() });
    expect(asked.trailers['kms-error-code']).toBe('APPROVAL_REQUIRED');
    const bad = await trailers.refusal('UpdateKeyLabels', { key_id: key.key_id, labels: { 'Not A Label!': 'b' }, context: TICKET }, { token: await ann.token() });
    expect(bad.trailers['kms-error-field']).toMatch(/^labels/);
    expect((await kms.admin.call<{ labels: Record<string, string> }>('GetKey', { key_id: key.key_id })).labels).toEqual({ team: 'a' });
    const done = await ben.call<{ status: string }>('ApproveRequest', { approval_id: asked.trailers['kms-approval-id'] as string, context: TICKET });
    expect(done.status).toBe('EXECUTED');
    expect((await kms.admin.call<{ labels: Record<string, string> }>('GetKey', { key_id: key.key_id })).labels).toEqual({ team: 'b' });
  }, 60_000);

  it('audits an item refused before it reached its operation (a required field missing), under the certificate identity', async () => {
    const client = await KmipClient.connect({ host: '127.0.0.1', port: kms.service.kmip?.port ?? 0, cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8'), ca: readFileSync(files.ca, 'utf8') });
    try {
      const results = await client.request([
        { operation: 'Revoke', payload: [ttlv.text(Tag.UniqueIdentifier, '00000000-0000-4000-8000-000000000001')] },
        { operation: 'Get', payload: [] },
      ]);
      expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([ResultReason.MissingData]);
      const [get] = await client.request([{ operation: 'Get', payload: [] }]);
      expect(get).toMatchObject({ ok: false, reason: ResultReason.MissingData });
    } finally {
      client.close();
    }
    const { rows } = await kms.db.query<AuditRow & { error_code: string }>(
      `SELECT operation, actor, outcome, details, error_code FROM audit_records WHERE operation = 'KmipRequest' AND details->>'kmipOperation' IN ('Revoke', 'Get') ORDER BY "position"`,
    );
    expect(rows.map((r) => [r.details?.['kmipOperation'], r.actor, r.error_code, r.details?.['protocol']])).toEqual([
      ['Revoke', clientId, 'MALFORMED_REQUEST', 'KMIP'],
      ['Get', clientId, 'MALFORMED_REQUEST', 'KMIP'],
    ]);
  }, 60_000);

  it('answers a message announcing more than the size limit with Invalid Message and closes the connection, audited', async () => {
    const socket = connect({ host: '127.0.0.1', port: kms.service.kmip?.port ?? 0, cert: readFileSync(files.cert), key: readFileSync(files.key), ca: readFileSync(files.ca), servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    const header = Buffer.from('42007801ffffff00', 'hex');
    const answer = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      socket.write(header);
    });
    // The response carries Result Reason Invalid Message (0x04) as an Enumeration.
    expect(answer.includes(Buffer.from([0x42, 0x00, 0x7e, 0x05, 0, 0, 0, 4, 0, 0, 0, ResultReason.InvalidMessage]))).toBe(true);
    const { rows } = await kms.db.query<AuditRow>(`SELECT operation, actor, outcome, details FROM audit_records WHERE operation = 'KmipRequest'`);
    expect(rows.length).toBeGreaterThan(0);
  }, 60_000);

  it('binds, replaces and unbinds a client certificate only when two people agree, each step audited', async () => {
    const asked = await trailers.refusal('BindClientCertificate', { identity_id: clientId, certificate: Buffer.from('not a certificate'), context: TICKET }, { token: await ann.token() });
    expect({ code: status[asked.code], field: asked.trailers['kms-error-field'] }).toEqual({ code: 'INVALID_ARGUMENT', field: 'certificate' });
    const other = issueKmipClientCertificate(join(dir, 'tls'), 'no-ticket');
    const noTicket = await trailers.refusal('BindClientCertificate', { identity_id: clientId, certificate: Buffer.from(other.cert) }, { token: await ann.token() });
    expect({ code: status[noTicket.code], field: noTicket.trailers['kms-error-field'] }).toEqual({ code: 'INVALID_ARGUMENT', field: 'context.change_ticket' });

    const next = issueKmipClientCertificate(join(dir, 'tls'), 'mongodb-kmip-2');
    // Asked but not yet approved: the first certificate still works, the second does not.
    const pending = await trailers.refusal('BindClientCertificate', { identity_id: clientId, certificate: Buffer.from(next.cert), context: TICKET }, { token: await ann.token() });
    expect(pending.trailers['kms-error-code']).toBe('APPROVAL_REQUIRED');
    expect(await admitted(next.cert, next.key)).toBe(false);
    expect(await admitted(readFileSync(files.cert, 'utf8'), readFileSync(files.key, 'utf8'))).toBe(true);

    const replaced = await bindByTwoPeople(next.cert);
    expect(await admitted(next.cert, next.key)).toBe(true);
    expect(await admitted(readFileSync(files.cert, 'utf8'), readFileSync(files.key, 'utf8'))).toBe(false);

    const unbound = await bindByTwoPeople('');
    expect(await admitted(next.cert, next.key)).toBe(false);

    const { rows } = await kms.db.query<AuditRow>(
      `SELECT operation, actor, outcome, details FROM audit_records WHERE operation = 'ApproveRequest' AND details->>'approvalId' = ANY($1) ORDER BY "position"`,
      [[replaced.approvalId, unbound.approvalId]],
    );
    expect(rows.map((r) => [r.actor, r.outcome, r.details?.['operation']])).toEqual([
      [ben.identityId, 'SUCCESS', 'BindClientCertificate'],
      [ben.identityId, 'SUCCESS', 'BindClientCertificate'],
    ]);
    // Put the first certificate back for the other tests, the same way.
    await bindByTwoPeople(readFileSync(files.cert, 'utf8'));
  }, 120_000);
});
