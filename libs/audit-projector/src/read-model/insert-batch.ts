import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * INSERT a batch of complete entities in one statement with one array parameter per column:
 * `INSERT INTO t (<entity columns>) SELECT * FROM unnest(CAST(:c0 AS type[]), ...)`, built by
 * TypeORM's insert query builder from the entity's metadata, each value prepared by the driver as
 * for any entity insert (jsonb stringified, dates normalised).
 *
 * Why not `.values(rows)`: a VALUES list binds one parameter per cell, and building it costs
 * TypeORM ~50 µs per row (superlinear in the batch size), which about doubled the projection lag of
 * a 10,000-operation burst (projection-lag.bench.ts). Not for array columns: unnest would flatten them.
 */
export async function insertBatch<T extends ObjectLiteral>(manager: EntityManager, entity: EntityTarget<T>, rows: readonly T[]): Promise<void> {
  if (rows.length === 0) return;
  const driver = manager.connection.driver;
  const metadata = manager.connection.getMetadata(entity);
  const columns = metadata.columns.filter((c) => c.isInsert);
  const parameters: Record<string, unknown[]> = {};
  const arrays = columns.map((column, i) => {
    if (column.isArray) throw new TypeError(`insertBatch: ${metadata.tableName}.${column.databaseName} is an array column`);
    parameters[`c${i}`] = rows.map((row) => driver.preparePersistentValue(column.getEntityValue(row), column) as unknown);
    return `CAST(:c${i} AS ${driver.normalizeType(column)}[])`;
  });
  await manager
    .createQueryBuilder()
    .insert()
    .into(entity)
    .valuesFromSelect((select) => select.select('*').from(`(SELECT * FROM unnest(${arrays.join(', ')}))`, 'batch').setParameters(parameters))
    .updateEntity(false)
    .execute();
}
