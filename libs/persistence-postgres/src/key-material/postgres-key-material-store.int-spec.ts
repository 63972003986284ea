import type { VersionHandle, WrappedMaterialRecord } from '@kms/application';
import { keyBackendContract, keyMaterialStoreContract } from '@kms/application/testing';
import { KmsError, type Algorithm } from '@kms/domain';
import { MasterKey, SoftwareKeyBackend, materialAad } from '@kms/key-backend-software';
import { randomUUID } from 'node:crypto';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '../pg/postgres-connection';
import { keyMaterialMigrations } from './key-material.migration';
import { PostgresKeyMaterialStore } from './postgres-key-material-store';

const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('key_material') };
// The pool connects on first query, so the contract can build its backend before the migrations run.
const pool = createPgPool(target);
const store = new PostgresKeyMaterialStore(pool);
const masterKey = MasterKey.generate();

beforeAll(async () => {
  await runMigrations(target, keyMaterialMigrations);
});

afterAll(async () => {
  await pool.end();
  await dropSchema(target);
});

keyBackendContract('software backend, PostgreSQL store', () => new SoftwareKeyBackend({ store, masterKey }));

keyMaterialStoreContract('PostgreSQL', () => store);

/** Whether any `width`-byte run of `needle` occurs in `haystack`. */
function sharesRun(haystack: Buffer, needle: Buffer, width: number): boolean {
  for (let i = 0; i + width <= needle.length; i++) {
    if (haystack.includes(needle.subarray(i, i + width))) return true;
  }
  return false;
}

describe('key_material in PostgreSQL', () => {
  const backend = new SoftwareKeyBackend({ store, masterKey });

  async function newVersion(algorithm: Algorithm): Promise<VersionHandle> {
    const keyId = randomUUID();
    const { materialRef } = await backend.createVersion({ keyId, version: 2, algorithm });
    return { keyId, version: 2, algorithm, materialRef };
  }

  async function row(materialId: string): Promise<WrappedMaterialRecord & { rawRow: Record<string, unknown> }> {
    const { rows } = await pool.query<Record<string, unknown>>('SELECT * FROM key_material WHERE material_id = $1', [materialId]);
    const record = await store.get(materialId);
    if (!record || rows.length !== 1) throw new Error('row not found');
    return { ...record, rawRow: rows[0] };
  }

  it('the migration creates the table with its (key_id, version) index', async () => {
    const { rows: columns } = await pool.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'key_material' ORDER BY ordinal_position`,
      [target.schema],
    );
    expect(columns.map((c) => [c.column_name, c.data_type])).toEqual([
      ['material_id', 'uuid'],
      ['key_id', 'uuid'],
      ['version', 'integer'],
      ['algorithm', 'text'],
      ['kek_id', 'text'],
      ['wrapped', 'bytea'],
      ['created_at', 'timestamp with time zone'],
    ]);
    const { rows: indexes } = await pool.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'key_material'`,
      [target.schema],
    );
    expect(indexes.map((i) => i.indexdef).some((d) => d.includes('(key_id, version)'))).toBe(true);
  });

  it.each(['AES_256_GCM', 'HMAC_SHA256', 'ECDSA_P256_SHA256', 'ED25519'] as const)(
    'the %s row holds the material wrapped: none of its bytes in the clear',
    async (algorithm) => {
      const h = await newVersion(algorithm);
      const stored = await row(h.materialRef);
      expect(stored.rawRow).toMatchObject({ key_id: h.keyId, version: 2, algorithm, kek_id: masterKey.kekId });
      const raw = masterKey.unwrap(stored.wrapped, materialAad(stored));
      if (!raw) throw new Error('the stored row does not unwrap');
      expect(raw.length).toBeGreaterThanOrEqual(32);
      expect(sharesRun(stored.wrapped, raw, 8)).toBe(false);
      raw.fill(0);
    },
  );

  it('a row copied to another material id, or onto another version, does not unwrap', async () => {
    const h = await newVersion('AES_256_GCM');
    const body = await backend.encrypt(h, Buffer.from('secret'), Buffer.alloc(0));
    const copies = [
      { materialRef: randomUUID(), version: h.version },
      { materialRef: randomUUID(), version: h.version + 1 },
    ];
    for (const copy of copies) {
      await pool.query(
        `INSERT INTO key_material (material_id, key_id, version, algorithm, kek_id, wrapped, created_at)
         SELECT $1, key_id, $2, algorithm, kek_id, wrapped, created_at FROM key_material WHERE material_id = $3`,
        [copy.materialRef, copy.version, h.materialRef],
      );
      const outcome = await backend.decrypt({ ...h, ...copy }, body, Buffer.alloc(0)).catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(KmsError);
      expect(outcome).toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: `key material for version ${copy.version} failed its integrity check` });
    }
  });

  it('a restarted backend (cold cache) serves versions from the database', async () => {
    const h = await newVersion('ECDSA_P256_SHA256');
    const signature = await backend.sign(h, { message: Buffer.from('m') });
    const restarted = new SoftwareKeyBackend({ store: new PostgresKeyMaterialStore(pool), masterKey });
    expect(await restarted.verify(h, { message: Buffer.from('m') }, signature)).toBe(true);
  });

  it('destroyVersion deletes the row', async () => {
    const h = await newVersion('HMAC_SHA256');
    await backend.destroyVersion(h);
    const { rows } = await pool.query('SELECT 1 FROM key_material WHERE material_id = $1', [h.materialRef]);
    expect(rows).toHaveLength(0);
  });

  it('get and delete of a reference that is not a UUID find nothing', async () => {
    expect(await store.get('not-a-uuid')).toBeUndefined();
    expect(await store.delete('not-a-uuid')).toBe(false);
  });
});
