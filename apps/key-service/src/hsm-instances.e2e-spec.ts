/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig } from '@kms/config';
import { softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { Pool } from 'pg';
import { composeKeyService } from './key-service.compose';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';

function run(file: string, args: string[], conf: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, SOFTHSM2_CONF: conf } }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
}

/*
 * Standalone mode with two HSM instances in two jurisdictions: the key service provisions both
 * SoftHSM2 tokens in its state folder at first start, records each instance's identity on its
 * timeline (events and audit record committed together), and records nothing on an unchanged restart.
 */
describe('key service composition with two HSM instances (standalone)', () => {
  // The environment's state folder (SoftHSM2 reads SOFTHSM2_CONF, which it set, once per process): its
  // one token "kms" is the KMS_HSM_* HSM; the two jurisdictions' tokens are the key service's to make.
  const stateDir = softHsmTestToken().stateDir;
  const schema = uniqueTestSchema('e2e_hsm_instances');
  const env = {
    KMS_STANDALONE: '1',
    KMS_STATE_DIR: stateDir,
    KMS_DATABASE_URL: testDatabaseUrl(),
    KMS_DATABASE_SCHEMA: schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_GRPC_ADDRESS: '127.0.0.1:0',
    KMS_HSM_INSTANCES: JSON.stringify([
      { id: 'hsm-eu', tokenLabel: 'kms-eu', jurisdiction: 'EU', provider: 'softhsm2', environment: 'sovereign', certifications: ['FIPS 140-3 #0000 (test)'] },
      { id: 'hsm-us', tokenLabel: 'kms-us', jurisdiction: 'us', provider: 'softhsm2', environment: 'commercial' },
    ]),
  };
  let db: Pool;

  beforeAll(() => {
    db = new Pool({ connectionString: testDatabaseUrl(), options: `-c search_path=${schema}`, max: 1 });
  });
  afterAll(async () => {
    await db.end();
    await dropSchema({ url: testDatabaseUrl(), schema });
  });

  const timelineRows = async () =>
    (
      await db.query<{ stream_id: string; type: string; record: string; operation: string; details: Record<string, string> }>(
        `SELECT e.stream_id, e.type, a.id AS record, a.operation, a.details
           FROM events e LEFT JOIN audit_records a ON a.id::text = e.metadata->>'auditRecordId'
          WHERE e.stream_id LIKE 'hsm-%' ORDER BY e.global_position`,
      )
    ).rows;

  it('provisions both tokens, records each identity with its audit record, and nothing on an unchanged restart', async () => {
    const first = await composeKeyService(loadConfig(env));
    try {
      expect(first.notices).toEqual(expect.arrayContaining([expect.stringContaining('"kms-eu"'), expect.stringContaining('"kms-us"')]));
      expect(first.deps.backends.HSM?.protectionLevel).toBe('HSM');
    } finally {
      await first.close();
    }
    const slots = await run('pkcs11-tool', ['--module', MODULE, '--list-token-slots'], join(stateDir, 'hsm', 'softhsm2.conf'));
    expect(slots.code).toBe(0);
    expect(slots.out).toContain('token label        : kms-eu');
    expect(slots.out).toContain('token label        : kms-us');

    const rows = await timelineRows();
    expect(rows.map((r) => [r.stream_id, r.type, r.operation])).toEqual([
      ['hsm-hsm-eu', 'HsmInstanceRegistered', 'RecordHsmIdentity'],
      ['hsm-hsm-us', 'HsmInstanceRegistered', 'RecordHsmIdentity'],
    ]);
    expect(rows.map((r) => [r.details['hsmId'], r.details['jurisdiction']])).toEqual([
      ['hsm-eu', 'eu'],
      ['hsm-us', 'us'],
    ]);

    const again = await composeKeyService(loadConfig(env));
    await again.close();
    expect((await timelineRows()).length).toBe(2);
  });
});
