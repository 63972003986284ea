import { Client } from 'pg';
import { auditMigrations } from '../audit/audit-records.migration';
import { keyMaterialMigrations } from '../key-material/key-material.migration';
import { dropSchema, runMigrations, testDatabaseUrl, uniqueTestRole, uniqueTestSchema } from './postgres-connection';
import { migratesAtStart, MigrationsMissingError, prepareSchema } from './schema-check';

// Roles are cluster-wide: a name of this file's own, dropped after. The password is ignored by the
// test database's trust authentication; it is there to show no message carries it.
const { role, url } = uniqueTestRole('kms_svc_check');
const password = 'service-role-password-never-printed';
const serviceUrl = Object.assign(new URL(url), { password }).toString();
const ownerUrl = testDatabaseUrl();
const schema = uniqueTestSchema('schema_check');
const asService = { url: serviceUrl, serviceRole: role, schema };
const asOwner = { url: serviceUrl, migrationUrl: ownerUrl, serviceRole: role, schema };
let owner: Client;

beforeAll(async () => {
  owner = new Client({ connectionString: ownerUrl });
  await owner.connect();
  await owner.query(`CREATE ROLE "${role}" LOGIN NOSUPERUSER NOINHERIT`);
});

afterAll(async () => {
  await dropSchema({ url: ownerUrl, schema });
  await owner.query(`DROP OWNED BY "${role}"`);
  await owner.query(`DROP ROLE IF EXISTS "${role}"`);
  await owner.end();
});

describe('prepareSchema: a service migrates only when one role does everything', () => {
  it('decides from the URLs and the role: a separate owner URL or a URL of the service role means check only', async () => {
    expect(await migratesAtStart(asService)).toBe(false);
    expect(await migratesAtStart(asOwner)).toBe(false);
    expect(await migratesAtStart({ url: ownerUrl, serviceRole: role, schema })).toBe(true);
    expect(await migratesAtStart({ url: ownerUrl, migrationUrl: ownerUrl, serviceRole: role, schema })).toBe(true);
  });

  it('as the service role, refuses an un-migrated schema naming every missing migration and the command, without the password', async () => {
    const refused = await prepareSchema(asService, [...auditMigrations, ...keyMaterialMigrations]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MigrationsMissingError);
    const error = refused as MigrationsMissingError;
    expect(error.missing).toEqual(['CreateAuditRecords1795358922293', 'CreateTrackedCiphertexts1795900000000', 'AppendOnlyAuditRecords1796100000001', 'SealAuditRecords1796300000000', 'AddAuditRecordItems1796710000000', 'PartitionAuditRecords1796720000000', 'CreateAuditArchives1796720000001', 'IndexMixedKeyBatchItems1796750000000', 'CreateAppendSealedAuditFunction1796760000000', 'CreateKeyMaterial1795359260616']);
    expect(error.message).toContain('npx tsx apps/key-service/src/migrate.ts');
    expect(error.message).toContain('KMS_MIGRATION_DATABASE_URL');
    expect(error.message).not.toContain(password);
    // It created nothing: checking is read-only.
    expect((await owner.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount).toBe(0);
  });

  it('names only what is still missing once the owner applied part of it, and passes once all is there', async () => {
    await runMigrations(asOwner, auditMigrations);
    await expect(prepareSchema(asService, [...auditMigrations, ...keyMaterialMigrations])).rejects.toMatchObject({ missing: ['CreateKeyMaterial1795359260616'] });
    await runMigrations(asOwner, keyMaterialMigrations);
    expect(await prepareSchema(asService, [...auditMigrations, ...keyMaterialMigrations])).toBe('checked');
    // The service role reads the bookkeeping and nothing more.
    const svc = new Client({ connectionString: serviceUrl, options: `-c search_path=${schema}` });
    await svc.connect();
    try {
      await expect(svc.query(`DELETE FROM kms_migrations`)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await svc.end();
    }
  });

  it('with one role for everything, migrates at start as before', async () => {
    const single = { url: ownerUrl, serviceRole: role, schema: `${schema}_single` };
    try {
      expect(await prepareSchema(single, keyMaterialMigrations)).toBe('migrated');
      expect((await owner.query(`SELECT name FROM "${single.schema}".kms_migrations`)).rows).toEqual([{ name: 'CreateKeyMaterial1795359260616' }]);
    } finally {
      await dropSchema(single);
    }
  });
});
