import { Client } from 'pg';
import { dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { auditProjectorMigrations } from './audit-read-model.migration';
import { AUDIT_PROJECTOR_ENTITIES, createReadModelDataSource } from './read-model.data-source';

const url = testDatabaseUrl();
const schemas: string[] = [];

/** A fresh schema with the audit projector migrations applied, as runMigrations applies them in production. */
async function migratedSchema(prefix: string): Promise<string> {
  const schema = uniqueTestSchema(prefix);
  schemas.push(schema);
  await runMigrations({ url, schema }, auditProjectorMigrations);
  return schema;
}

/** What TypeORM's schema builder would run to make `schema` match the entities (it runs nothing: log() only). */
async function proposedChanges(schema: string): Promise<{ up: string[]; down: string[] }> {
  const dataSource = await createReadModelDataSource({ url, schema }, { poolSize: 1 }).initialize();
  try {
    const log = await dataSource.driver.createSchemaBuilder().log();
    return { up: log.upQueries.map((q) => q.query), down: log.downQueries.map((q) => q.query) };
  } finally {
    await dataSource.destroy();
  }
}

async function sql(schema: string, statement: string): Promise<void> {
  const client = new Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  for (const schema of schemas) await dropSchema({ url, schema });
});

describe('audit read-model entities against the migrated schema', () => {
  it('cover every table the migration creates, each column with an explicit type', async () => {
    const schema = await migratedSchema('ap_entities_tables');
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'kms_migrations' ORDER BY table_name`,
        [schema],
      );
      const dataSource = await createReadModelDataSource({ url, schema }, { poolSize: 1 }).initialize();
      try {
        expect(AUDIT_PROJECTOR_ENTITIES.map((e) => dataSource.getMetadata(e).tableName).sort()).toEqual(rows.map((r) => r.table_name));
        // Every column's type is stated: the runtime (node --import tsx) emits no decorator metadata to infer it from.
        const inferred = dataSource.entityMetadatas.flatMap((m) => m.columns.filter((c) => typeof c.type !== 'string').map((c) => `${m.tableName}.${c.databaseName}`));
        expect(inferred).toEqual([]);
      } finally {
        await dataSource.destroy();
      }
    } finally {
      await client.end();
    }
  });

  it('match it exactly: TypeORM’s schema builder finds no difference in either direction', async () => {
    const schema = await migratedSchema('ap_entities_diff');
    expect(await proposedChanges(schema)).toEqual({ up: [], down: [] });
  });

  // The comparison is not vacuous: each drift below makes the same check report a change.
  it.each([
    ['a NOT NULL column made nullable', 'ALTER TABLE rm_audit_log ALTER COLUMN request_id DROP NOT NULL', /"rm_audit_log" ALTER COLUMN "request_id" SET NOT NULL/],
    ['an index dropped', 'DROP INDEX ledger_leaves_subject_idx', /CREATE INDEX "ledger_leaves_subject_idx"/],
    ['a column of another type', 'ALTER TABLE rm_keys ALTER COLUMN rotation_period_days TYPE bigint', /"rotation_period_days" integer NOT NULL/],
    ['the check on the ledger log dropped', 'ALTER TABLE ledger_leaves DROP CONSTRAINT ledger_leaves_log_check', /ADD CONSTRAINT "ledger_leaves_log_check" CHECK/],
    ['a timestamptz column without time zone', 'ALTER TABLE rm_key_state_ledger ALTER COLUMN occurred_at TYPE timestamp', /"occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL/],
  ])('reports a drift: %s', async (_name, drift, expected) => {
    const schema = await migratedSchema('ap_entities_drift');
    await sql(schema, drift);
    const { up } = await proposedChanges(schema);
    expect(up.join('\n')).toMatch(expected);
  });

  it('never synchronize: initialising on an empty schema creates no table', async () => {
    const schema = uniqueTestSchema('ap_entities_nosync');
    schemas.push(schema);
    await sql('public', `CREATE SCHEMA "${schema}"`);
    const dataSource = createReadModelDataSource({ url, schema });
    expect(dataSource.options.synchronize).toBe(false);
    await dataSource.initialize();
    try {
      const tables = (await dataSource.query('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [schema])) as Array<{ n: number }>;
      expect(tables[0].n).toBe(0);
    } finally {
      await dataSource.destroy();
    }
  });
});
