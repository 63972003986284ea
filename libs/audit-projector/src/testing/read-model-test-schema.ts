import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { auditProjectorMigrations } from '../read-model/audit-read-model.migration';
import { createReadModelDataSource } from '../read-model/read-model.data-source';

/** A migrated read-model schema of its own for one test: TypeORM for the code under test, raw pg for the test's own view. */
export interface ReadModelTestSchema {
  url: string;
  schema: string;
  dataSource: DataSource;
  /** A plain pg pool on the same schema, to seed and dump rows independently of the entities. */
  pool: Pool;
  /** Close both and drop the schema. */
  drop(): Promise<void>;
}

/** Run the audit projector migrations into a fresh schema and open a DataSource and a pool on it. */
export async function readModelTestSchema(prefix: string, options: { poolSize?: number } = {}): Promise<ReadModelTestSchema> {
  const url = testDatabaseUrl();
  const schema = uniqueTestSchema(prefix);
  await runMigrations({ url, schema }, auditProjectorMigrations);
  const dataSource = await createReadModelDataSource({ url, schema }, { poolSize: options.poolSize ?? 4 }).initialize();
  const pool = createPgPool({ url, schema }, { max: 2 });
  return {
    url,
    schema,
    dataSource,
    pool,
    async drop() {
      await dataSource.destroy();
      await pool.end();
      await dropSchema({ url, schema });
    },
  };
}
