import { execFile } from 'node:child_process';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { issueKmipClientCertificate, KmipClient, type KmipItemResult, ResultReason, Tag, ttlv, type TtlvItem, wrapForImport } from '@kms/kmip';
import { type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';
import { createTrailerClient } from './access-control.e2e-helpers';

const run = promisify(execFile);
const DRIVER = join(__dirname, 'testing', 'kmip', 'pykmip_byok_driver.py');
/** Debian's PyKMIP (python3-pykmip) is installed for the system interpreter. */
const PYTHON = '/usr/bin/python3';
const TICKET = { change_ticket: 'CHG-KMIP-KEYS' };

interface AuditRow {
  operation: string;
  actor: string;
  outcome: string;
  key_id: string | null;
  error_code: string | null;
  details: Record<string, unknown> | null;
}

type KeyView = { key_id: string; name: string; exportable: boolean; jurisdiction: string; versions: Array<{ version: number; imported: boolean }> };

/** Decrypt a KMIP Encrypt answer (Data = ciphertext ‖ tag, IV = key version ‖ GCM nonce) offline, with the key's material. */
function decryptOffline(material: Buffer, keyId: string, dataHex: string, ivHex: string): string {
  const iv = Buffer.from(ivHex, 'hex');
  const data = Buffer.from(dataHex, 'hex');
  // The GCM additional data is the KMS ciphertext header: "KM", format 1, the key id, the version.
  const header = Buffer.alloc(23);
  header.write('KM', 0, 'ascii');
  header.writeUInt8(1, 2);
  Buffer.from(keyId.replace(/-/g, ''), 'hex').copy(header, 3);
  iv.copy(header, 19, 0, 4);
  const d = createDecipheriv('aes-256-gcm', material, iv.subarray(4));
  d.setAAD(header);
  d.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]).toString();
}

const attribute = (name: string, value: TtlvItem): TtlvItem => ttlv.struct(Tag.Attribute, [ttlv.text(Tag.AttributeName, name), { ...value, tag: Tag.AttributeValue }]);
const text = (name: string, value: string): TtlvItem => attribute(name, ttlv.text(Tag.AttributeValue, value));
const aes = (...more: TtlvItem[]): TtlvItem[] => [
  ttlv.enum(Tag.ObjectType, 0x02),
  ttlv.struct(Tag.TemplateAttribute, [attribute('Cryptographic Algorithm', ttlv.enum(Tag.AttributeValue, 0x03)), attribute('Cryptographic Length', ttlv.int(Tag.AttributeValue, 256)), ...more]),
];
const named = (name: string): TtlvItem => attribute('Name', ttlv.struct(Tag.AttributeValue, [ttlv.text(Tag.NameValue, name), ttlv.enum(Tag.NameType, 1)]));
const failed = (r: KmipItemResult | undefined): { reason: number; message: string } | undefined => (r && !r.ok ? { reason: r.reason, message: r.message } : undefined);

/** A KMIP service with a workload (key-provisioner) whose client certificate two people bound. */
async function kmipService(name: string, env: (dir: string) => Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), `kms-${name}-`));
  const kms = await startKeyServiceUnderTest(name, { KMS_KMIP_ENABLED: 'true', KMS_KMIP_ADDRESS: '127.0.0.1:0', KMS_KMIP_TLS_DIR: join(dir, 'tls'), ...env(dir) });
  const workload = await kms.register(`${name}-client`, 'WORKLOAD', ['key-provisioner']);
  const ann = await kms.register(`ann.${name}`, 'HUMAN', ['security-engineering']);
  const ben = await kms.register(`ben.${name}`, 'HUMAN', ['security-engineering']);
  const trailers = createTrailerClient(kms.service.grpcAddress);
  const issued = issueKmipClientCertificate(join(dir, 'tls'), `${name}-client`);
  const files = { cert: join(dir, 'client.crt'), key: join(dir, 'client.key'), ca: join(dir, 'tls', 'ca.crt') };
  writeFileSync(files.cert, issued.cert);
  writeFileSync(files.key, issued.key, { mode: 0o600 });
  const asked = await trailers.refusal('BindClientCertificate', { identity_id: workload.identityId, certificate: Buffer.from(issued.cert), context: TICKET }, { token: await ann.token() });
  await ben.call('ApproveRequest', { approval_id: asked.trailers['kms-approval-id'] as string, context: TICKET });
  const port = kms.service.kmip?.port;
  if (!port) throw new Error('the KMIP server did not start');
  const client = await KmipClient.connect({ host: '127.0.0.1', port, cert: issued.cert, key: issued.key, ca: readFileSync(files.ca, 'utf8') });
  const drive = async (...args: string[]): Promise<Record<string, unknown>> => {
    const { stdout } = await run(PYTHON, [DRIVER, '127.0.0.1', String(port), files.cert, files.key, files.ca, ...args], { timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
  };
  const stop = async (): Promise<void> => {
    client.close();
    trailers.close();
    await kms.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { kms, workload, ann, ben, trailers, client, drive, stop };
}

/** Neither events nor audit records hold the material, in hex or base64. */
async function nowhereInHistory(kms: KeyServiceUnderTest, material: Buffer): Promise<void> {
  for (const needle of [material.toString('hex'), material.toString('base64')]) {
    const events = await kms.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE data::text LIKE '%' || $1 || '%' OR metadata::text LIKE '%' || $1 || '%'`, [needle]);
    const audit = await kms.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_records WHERE details::text LIKE '%' || $1 || '%'`, [needle]);
    expect([events.rows[0]?.n, audit.rows[0]?.n]).toEqual([0, 0]);
  }
}

describe('KMIP Register (BYOK), exportable keys and Get, renaming (PyKMIP and the project TTLV client, e2e)', () => {
  let s: Awaited<ReturnType<typeof kmipService>>;

  beforeAll(async () => {
    s = await kmipService('kmip_keys', () => ({}));
  }, 180_000);
  afterAll(async () => {
    await s?.stop();
  });

  it('Register: PyKMIP wraps its own AES key for a one-time import wrapping key; the new key\'s first version is that material (imported), single-use token, audited, material nowhere', async () => {
    const out = await s.drive('register');
    const uid = out['register'] as string;
    expect(uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(out['wrapping_key_uid']).toBe(`kms-import-wrapping-key:${uid}:${(out['wrapping_key_uid'] as string).split(':')[2]}`);
    const material = Buffer.from(out['material_hex'] as string, 'hex');
    const encrypted = out['encrypt'] as { ciphertext_hex: string; iv_hex: string };
    // What the KMS encrypts with is the material PyKMIP brought.
    expect(decryptOffline(material, uid, encrypted.ciphertext_hex, encrypted.iv_hex)).toBe('brought my own key');
    expect(out['register_reused_token']).toMatchObject({ failed: 'INVALID_FIELD', message: expect.stringContaining('import_token') });

    const key = await s.kms.admin.call<KeyView>('GetKey', { key_id: uid });
    expect({ name: key.name, versions: key.versions.map((v) => [v.version, v.imported]), exportable: key.exportable }).toEqual({ name: 'pykmip-byok', versions: [[1, true]], exportable: false });
    const created = await s.kms.db.query<{ type: string; imported: string | null; reason: string | null }>(
      `SELECT type, data->>'imported' AS imported, data->>'reason' AS reason FROM events WHERE stream_id = $1 ORDER BY global_position`,
      [`key-${uid}`],
    );
    expect(created.rows.map((r) => [r.type, r.imported, r.reason])).toEqual([
      ['KeyCreated', null, null],
      ['KeyVersionCreated', 'true', 'INITIAL'],
      ['PrimaryVersionChanged', null, 'INITIAL'],
    ]);
    const { rows } = await s.kms.db.query<AuditRow>(
      `SELECT operation, actor, outcome, key_id, error_code, details FROM audit_records WHERE details->>'protocol' = 'KMIP' AND details->>'kmipOperation' IN ('Get', 'Register') ORDER BY "position"`,
    );
    expect(rows.map((r) => [r.details?.['kmipOperation'], r.operation, r.outcome, r.actor])).toEqual([
      ['Get', 'GetImportParametersForNewKey', 'SUCCESS', s.workload.identityId],
      ['Register', 'CreateKey', 'SUCCESS', s.workload.identityId],
      ['Register', 'CreateKey', 'FAILURE', s.workload.identityId],
    ]);
    expect(rows[1]).toMatchObject({ key_id: uid, details: { origin: 'IMPORTED', keyArrived: 'wrapped', wrappedKeyMaterialSha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(rows[0]?.details?.['forKeyId']).toBe(uid);
    await nowhereInHistory(s.kms, material);
  }, 180_000);

  it('Register of a key sent in clear is refused (Permission Denied naming KMS_KMIP_ALLOW_CLEAR_REGISTER) and audited; nothing is created', async () => {
    const out = await s.drive('register-clear');
    expect(out['register']).toMatchObject({ failed: 'PERMISSION_DENIED', message: expect.stringContaining('KMS_KMIP_ALLOW_CLEAR_REGISTER') });
    const { rows } = await s.kms.db.query<AuditRow>(
      `SELECT operation, actor, outcome, key_id, error_code, details FROM audit_records WHERE details->>'kmipOperation' = 'Register' AND outcome <> 'SUCCESS' ORDER BY "position"`,
    );
    expect(rows.at(-1)).toMatchObject({ operation: 'CreateKey', actor: s.workload.identityId, error_code: 'PERMISSION_DENIED', details: { protocol: 'KMIP' } });
    const listed = await s.kms.admin.call<{ keys: Array<{ name: string }> }>('ListKeys', { page_size: 500 });
    expect(listed.keys.map((k) => k.name)).not.toContain('pykmip-clear');
  }, 120_000);

  it('Register with the project TTLV client: a Key Value as a Byte String is accepted; a wrapping key that is not one, a wrong wrapping method and a private key are refused', async () => {
    const wrappingKey = await s.client.call('Get', [ttlv.text(Tag.UniqueIdentifier, 'kms-import-wrapping-key')]);
    const wrappingUid = wrappingKey.req(Tag.UniqueIdentifier, 'TextString');
    const spki = wrappingKey.struct(0x42006d)?.struct(Tag.KeyBlock)?.struct(Tag.KeyValue)?.req(Tag.KeyMaterial, 'ByteString') as Buffer;
    const material = randomBytes(32);
    const register = (uidOfWrappingKey: string, method = 1, objectType = 0x02) => [
      ttlv.enum(Tag.ObjectType, objectType),
      ttlv.struct(Tag.TemplateAttribute, [named('ttlv-byok'), text('x-team', 'storage')]),
      ttlv.struct(Tag.SymmetricKey, [
        ttlv.struct(Tag.KeyBlock, [
          ttlv.enum(Tag.KeyFormatType, 0x01),
          ttlv.bytes(Tag.KeyValue, wrapForImport(spki, material)),
          ttlv.enum(Tag.CryptographicAlgorithm, 0x03),
          ttlv.int(Tag.CryptographicLength, 256),
          ttlv.struct(Tag.KeyWrappingData, [ttlv.enum(Tag.WrappingMethod, method), ttlv.struct(Tag.EncryptionKeyInformation, [ttlv.text(Tag.UniqueIdentifier, uidOfWrappingKey)])]),
        ]),
      ]),
    ];
    const refused = await s.client.request([{ operation: 'Register', payload: register('not-a-wrapping-key') }]);
    expect(failed(refused[0])).toMatchObject({ reason: ResultReason.InvalidField, message: expect.stringContaining('Encryption Key Information') });
    const method = await s.client.request([{ operation: 'Register', payload: register(wrappingUid, 2) }]);
    expect(failed(method[0])?.reason).toBe(ResultReason.FeatureNotSupported);
    const privateKey = await s.client.request([{ operation: 'Register', payload: register(wrappingUid, 1, 0x04) }]);
    expect(failed(privateKey[0])?.reason).toBe(ResultReason.FeatureNotSupported);
    const asExportable = register(wrappingUid);
    asExportable[1] = ttlv.struct(Tag.TemplateAttribute, [named('ttlv-byok-exportable'), text('x-kms-exportable', 'true')]);
    const exportable = await s.client.request([{ operation: 'Register', payload: asExportable }]);
    expect(failed(exportable[0])).toMatchObject({ reason: ResultReason.InvalidField, message: expect.stringContaining('x-kms-exportable') });

    const registered = await s.client.call('Register', register(wrappingUid));
    const uid = registered.req(Tag.UniqueIdentifier, 'TextString');
    const encrypted = await s.client.call('Encrypt', [ttlv.text(Tag.UniqueIdentifier, uid), ttlv.bytes(Tag.Data, Buffer.from('ttlv byok'))]);
    expect(decryptOffline(material, uid, encrypted.req(Tag.Data, 'ByteString').toString('hex'), encrypted.req(Tag.IvCounterNonce, 'ByteString').toString('hex'))).toBe('ttlv byok');
    expect((await s.kms.admin.call<KeyView & { labels: Record<string, string> }>('GetKey', { key_id: uid })).labels).toEqual({ team: 'storage' });
  }, 120_000);

  it('ModifyAttribute of Name renames the key (PyKMIP): Locate finds the new name only, KeyRenamed, audited as RenameKey; the old name is free again, a taken one is refused', async () => {
    const first = await s.client.call('Create', aes(named('orders-2025')));
    const uid = first.req(Tag.UniqueIdentifier, 'TextString');
    const other = await s.client.call('Create', aes(named('orders-taken')));
    const otherUid = other.req(Tag.UniqueIdentifier, 'TextString');

    const out = await s.drive('rename', uid, 'orders-2026', 'orders-2025');
    expect(out).toMatchObject({ modify_attribute: uid, locate_new: [uid], locate_old: [], name: ['orders-2026'] });
    expect((await s.kms.admin.call<KeyView>('GetKey', { key_id: uid })).name).toBe('orders-2026');
    const events = await s.kms.db.query<{ data: { name: string; previousName: string } }>(`SELECT data FROM events WHERE stream_id = $1 AND type = 'KeyRenamed'`, [`key-${uid}`]);
    expect(events.rows.map((r) => [r.data.previousName, r.data.name])).toEqual([['orders-2025', 'orders-2026']]);

    // A name another key holds: Object Already Exists, nothing changes.
    const taken = await s.drive('rename', uid, 'orders-taken', 'orders-2026');
    expect(taken).toMatchObject({ modify_attribute: { failed: 'OBJECT_ALREADY_EXISTS' }, locate_new: [otherUid], name: ['orders-2026'] });
    // The released name can name a new key.
    const reuse = await s.client.call('Create', aes(named('orders-2025')));
    expect(reuse.req(Tag.UniqueIdentifier, 'TextString')).not.toBe(uid);
    // A key keeps exactly one name.
    const [deleted] = await s.client.request([{ operation: 'DeleteAttribute', payload: [ttlv.text(Tag.UniqueIdentifier, uid), ttlv.text(Tag.AttributeName, 'Name')] }]);
    expect(failed(deleted)?.reason).toBe(ResultReason.IllegalOperation);

    const { rows } = await s.kms.db.query<AuditRow>(
      `SELECT operation, actor, outcome, key_id, error_code, details FROM audit_records WHERE operation = 'RenameKey' AND key_id = $1 ORDER BY "position"`,
      [uid],
    );
    expect(rows.map((r) => [r.details?.['kmipOperation'], r.details?.['protocol'], r.outcome, r.actor, r.error_code])).toEqual([
      ['ModifyAttribute', 'KMIP', 'SUCCESS', s.workload.identityId, null],
      ['ModifyAttribute', 'KMIP', 'FAILURE', s.workload.identityId, 'KEY_ALREADY_EXISTS'],
    ]);
    expect(rows[0]?.details).toMatchObject({ attribute: 'Name', name: 'orders-2026', previousName: 'orders-2025' });
  }, 120_000);

  it('an exportable key takes two people: KMIP Create with x-kms-exportable is an approval request; once a person approves, PyKMIP Get returns its material (audited, not recorded); other keys stay Not Extractable', async () => {
    const noTicket = await s.client.request([{ operation: 'Create', payload: aes(named('export-me'), text('x-kms-exportable', 'true')) }]);
    expect(failed(noTicket[0])).toMatchObject({ reason: ResultReason.InvalidField, message: expect.stringContaining('change_ticket') });
    const bad = await s.client.request([{ operation: 'Create', payload: aes(named('export-me'), text('x-kms-exportable', 'yes')) }]);
    expect(failed(bad[0])?.reason).toBe(ResultReason.InvalidField);
    const pair = await s.client.request([
      {
        operation: 'CreateKeyPair',
        payload: [ttlv.struct(Tag.CommonTemplateAttribute, [attribute('Cryptographic Algorithm', ttlv.enum(Tag.AttributeValue, 0x06)), text('x-kms-exportable', 'true')])],
      },
    ]);
    expect(failed(pair[0])?.reason).toBe(ResultReason.InvalidField);

    const asked = await s.client.request([{ operation: 'Create', payload: aes(named('export-me'), text('x-kms-exportable', 'true'), text('x-kms-change-ticket', 'CHG-EXPORT-1')) }]);
    const refusal = failed(asked[0]);
    expect(refusal?.reason).toBe(ResultReason.PermissionDenied);
    const approvalId = /request ([0-9a-f-]{36})/.exec(refusal?.message ?? '')?.[1] as string;
    expect(approvalId).toBeDefined();
    const located = await s.client.call('Locate', [named('export-me')]);
    expect(located.all(Tag.UniqueIdentifier, 'TextString')).toEqual([]);

    // The workload cannot approve its own request, and a person does.
    const done = await s.ben.call<{ status: string; operation: string; requester: string; target_id: string }>('ApproveRequest', { approval_id: approvalId, context: TICKET });
    expect(done).toMatchObject({ status: 'EXECUTED', operation: 'CreateExportableKey', requester: s.workload.identityId });
    const found = await s.client.call('Locate', [named('export-me')]);
    const uid = found.req(Tag.UniqueIdentifier, 'TextString');
    const key = await s.kms.admin.call<KeyView>('GetKey', { key_id: uid });
    expect(key.exportable).toBe(true);
    const createdEvent = await s.kms.db.query<{ exportable: string; approvers: string[] }>(
      `SELECT data->>'exportable' AS exportable, metadata->'approvers' AS approvers FROM events WHERE stream_id = $1 AND type = 'KeyCreated'`,
      [`key-${uid}`],
    );
    expect(createdEvent.rows).toEqual([{ exportable: 'true', approvers: [s.ben.identityId] }]);

    const encrypted = await s.client.call('Encrypt', [ttlv.text(Tag.UniqueIdentifier, uid), ttlv.bytes(Tag.Data, Buffer.from('leaves on purpose'))]);
    const out = await s.drive('get', uid);
    const got = out['get'] as { material_hex: string; algorithm: string; length: number };
    expect({ algorithm: got.algorithm, length: got.length }).toEqual({ algorithm: 'AES', length: 256 });
    const material = Buffer.from(got.material_hex, 'hex');
    expect(decryptOffline(material, uid, encrypted.req(Tag.Data, 'ByteString').toString('hex'), encrypted.req(Tag.IvCounterNonce, 'ByteString').toString('hex'))).toBe('leaves on purpose');

    const plain = await s.client.call('Create', aes(named('stays-inside')));
    const refused = await s.drive('get', plain.req(Tag.UniqueIdentifier, 'TextString'));
    expect(refused['get']).toMatchObject({ failed: 'NOT_EXTRACTABLE' });

    const { rows } = await s.kms.db.query<AuditRow>(
      `SELECT operation, actor, outcome, key_id, error_code, details FROM audit_records WHERE operation = 'ExportKeyMaterial' ORDER BY "position"`,
    );
    expect(rows.map((r) => [r.key_id, r.outcome, r.actor, r.details?.['protocol'], r.details?.['kmipOperation']])).toEqual([
      [uid, 'SUCCESS', s.workload.identityId, 'KMIP', 'Get'],
      [plain.req(Tag.UniqueIdentifier, 'TextString'), 'DENIED', s.workload.identityId, 'KMIP', 'Get'],
    ]);
    await nowhereInHistory(s.kms, material);
  }, 180_000);

  it('gRPC CreateKey with exportable: a person asks, a second person approves (the same CreateExportableKey)', async () => {
    const asked = await s.trailers.refusal(
      'CreateKey',
      { name: 'grpc-exportable', purpose: 'DATA_PROTECTION', algorithm: 'AES_256_GCM', exportable: true, context: TICKET },
      { token: await s.ann.token() },
    );
    expect({ code: status[asked.code], errorCode: asked.trailers['kms-error-code'] }).toEqual({ code: 'FAILED_PRECONDITION', errorCode: 'APPROVAL_REQUIRED' });
    const done = await s.ben.call<{ status: string; target_id: string }>('ApproveRequest', { approval_id: asked.trailers['kms-approval-id'] as string, context: TICKET });
    expect(done.status).toBe('EXECUTED');
    const listed = await s.kms.admin.call<{ keys: KeyView[] }>('ListKeys', { page_size: 500 });
    expect(listed.keys.filter((k) => k.name === 'grpc-exportable').map((k) => k.exportable)).toEqual([true]);
    const ordinary = await s.kms.admin.call<KeyView>('CreateKey', { name: 'grpc-ordinary', purpose: 'DATA_PROTECTION', algorithm: 'AES_256_GCM' });
    expect(ordinary.exportable).toBe(false);
  }, 60_000);
});

describe('KMIP Create in one of several jurisdictions (x-kms-jurisdiction), and Register in clear where explicitly allowed (e2e)', () => {
  let s: Awaited<ReturnType<typeof kmipService>>;

  beforeAll(async () => {
    s = await kmipService('kmip_juris', (dir) => {
      const us = join(dir, 'us.key');
      writeFileSync(us, randomBytes(32).toString('base64'), { mode: 0o600 });
      return { KMS_MASTER_KEY_JURISDICTION: 'eu', KMS_MASTER_KEYS: JSON.stringify({ us }), KMS_KMIP_ALLOW_CLEAR_REGISTER: 'true' };
    });
  }, 180_000);
  afterAll(async () => {
    await s?.stop();
  });

  it('requires x-kms-jurisdiction with two configured, refuses an unknown one naming the field, and keeps the key where it says (GetAttributes, GetKey)', async () => {
    const results = await s.client.request([{ operation: 'Create', payload: aes(named('nowhere')) }]);
    expect(failed(results[0])).toMatchObject({ reason: ResultReason.InvalidField, message: expect.stringMatching(/jurisdiction: is required: 2 jurisdictions are configured \(eu, us\)/) });
    const unknown = await s.client.request([{ operation: 'Create', payload: aes(named('nowhere'), text('x-kms-jurisdiction', 'fr')) }]);
    expect(failed(unknown[0])?.message).toMatch(/jurisdiction: "fr" is not a configured jurisdiction/);

    const created = await s.client.call('Create', aes(named('us-orders'), text('x-kms-jurisdiction', 'us')));
    const uid = created.req(Tag.UniqueIdentifier, 'TextString');
    const attrs = await s.client.call('GetAttributes', [ttlv.text(Tag.UniqueIdentifier, uid), ttlv.text(Tag.AttributeName, 'x-kms-jurisdiction')]);
    const value = attrs.all(Tag.Attribute, 'Structure').map((a) => a.value.find((i) => i.tag === Tag.AttributeValue)?.value);
    expect(value).toEqual(['us']);
    expect((await s.kms.admin.call<KeyView & { labels: Record<string, string> }>('GetKey', { key_id: uid })).jurisdiction).toBe('us');
    const pair = await s.client.call('CreateKeyPair', [
      ttlv.struct(Tag.CommonTemplateAttribute, [attribute('Cryptographic Algorithm', ttlv.enum(Tag.AttributeValue, 0x06)), text('x-kms-jurisdiction', 'eu')]),
    ]);
    const pairKey = await s.kms.admin.call<KeyView & { labels: Record<string, string> }>('GetKey', { key_id: pair.req(Tag.PrivateKeyUniqueIdentifier, 'TextString') });
    expect({ jurisdiction: pairKey.jurisdiction, labels: pairKey.labels }).toEqual({ jurisdiction: 'eu', labels: {} });

    const { rows } = await s.kms.db.query<AuditRow>(
      `SELECT operation, actor, outcome, key_id, error_code, details FROM audit_records WHERE operation = 'CreateKey' AND details->>'protocol' = 'KMIP' ORDER BY "position"`,
    );
    expect(rows.map((r) => [r.details?.['kmipOperation'], r.outcome, r.error_code, r.details?.['jurisdiction'] ?? null])).toEqual([
      ['Create', 'FAILURE', 'INVALID_ARGUMENT', null],
      ['Create', 'FAILURE', 'INVALID_ARGUMENT', null],
      ['Create', 'SUCCESS', null, 'us'],
      ['CreateKeyPair', 'SUCCESS', null, 'eu'],
    ]);
  }, 120_000);

  it('with KMS_KMIP_ALLOW_CLEAR_REGISTER=true a clear key is registered through the same import path, recorded as arriving in clear', async () => {
    const material = randomBytes(32);
    const registered = await s.client.call('Register', [
      ttlv.enum(Tag.ObjectType, 0x02),
      ttlv.struct(Tag.TemplateAttribute, [named('clear-import'), text('x-kms-jurisdiction', 'eu')]),
      ttlv.struct(Tag.SymmetricKey, [
        ttlv.struct(Tag.KeyBlock, [
          ttlv.enum(Tag.KeyFormatType, 0x01),
          ttlv.struct(Tag.KeyValue, [ttlv.bytes(Tag.KeyMaterial, material)]),
          ttlv.enum(Tag.CryptographicAlgorithm, 0x03),
          ttlv.int(Tag.CryptographicLength, 256),
        ]),
      ]),
    ]);
    const uid = registered.req(Tag.UniqueIdentifier, 'TextString');
    const encrypted = await s.client.call('Encrypt', [ttlv.text(Tag.UniqueIdentifier, uid), ttlv.bytes(Tag.Data, Buffer.from('clear, by choice'))]);
    expect(decryptOffline(material, uid, encrypted.req(Tag.Data, 'ByteString').toString('hex'), encrypted.req(Tag.IvCounterNonce, 'ByteString').toString('hex'))).toBe('clear, by choice');
    const key = await s.kms.admin.call<KeyView>('GetKey', { key_id: uid });
    expect({ jurisdiction: key.jurisdiction, imported: key.versions.map((v) => v.imported) }).toEqual({ jurisdiction: 'eu', imported: [true] });
    const { rows } = await s.kms.db.query<AuditRow>(`SELECT operation, actor, outcome, key_id, error_code, details FROM audit_records WHERE key_id = $1 AND details->>'kmipOperation' = 'Register'`, [uid]);
    expect(rows.map((r) => [r.operation, r.outcome, r.details?.['keyArrived'], r.details?.['origin']])).toEqual([['CreateKey', 'SUCCESS', 'clear', 'IMPORTED']]);
    await nowhereInHistory(s.kms, material);
  }, 120_000);
});
