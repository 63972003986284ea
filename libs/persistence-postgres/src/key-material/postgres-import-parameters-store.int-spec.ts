import { randomBytes, randomUUID } from 'node:crypto';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '../pg/postgres-connection';
import { importParametersMigrations } from './import-parameters.migration';
import { PostgresImportParametersStore } from './postgres-import-parameters-store';

const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('import_parameters') };
const pool = createPgPool(target);
const store = new PostgresImportParametersStore(pool);

beforeAll(async () => {
  await runMigrations(target, importParametersMigrations);
});

afterAll(async () => {
  await pool.end();
  await dropSchema(target);
});

function record() {
  const createdAt = new Date(Date.UTC(2026, 11, 4, 12));
  return { token: randomUUID(), keyId: randomUUID(), kekId: 'kek-1', wrapped: randomBytes(64), createdAt, expiresAt: new Date(createdAt.getTime() + 86_400_000) };
}

describe('import_parameters in PostgreSQL', () => {
  it('keeps a record and gives it back as written', async () => {
    const r = record();
    await store.put(r);
    const back = await store.get(r.token);
    expect(back?.wrapped.equals(r.wrapped)).toBe(true);
    expect(back).toMatchObject({ token: r.token, keyId: r.keyId, kekId: 'kek-1', createdAt: r.createdAt, expiresAt: r.expiresAt });
    expect(back?.usedAt).toBeUndefined();
    await expect(store.put(r)).rejects.toThrow(/already exist/);
    expect(await store.get(randomUUID())).toBeUndefined();
    expect(await store.get('not-a-uuid')).toBeUndefined();
  });

  it('spends a token once: of concurrent imports exactly one marks it used', async () => {
    const r = record();
    await store.put(r);
    const usedAt = new Date(r.createdAt.getTime() + 60_000);
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.markUsed(r.token, usedAt)));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect((await store.get(r.token))?.usedAt).toEqual(usedAt);
    expect(await store.markUsed(r.token, usedAt)).toBe(false);
    expect(await store.markUsed(randomUUID(), usedAt)).toBe(false);
  });
});
