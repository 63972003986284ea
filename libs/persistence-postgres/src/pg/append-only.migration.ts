import type { QueryRunner } from 'typeorm';

/**
 * Makes `table` append-only: triggers refuse UPDATE, DELETE (per row) and TRUNCATE with
 * `kms: <op> of <table> is refused: history is append-only` (SQLSTATE 42501; for a partition, its
 * partitioned table's name). The second line behind
 * the database roles (docs/audit-and-evidence.md). The function is shared, so each migration set that
 * calls this stands alone. Triggers are named `<table>_append_only` and `<table>_no_truncate`.
 */
export async function refuseHistoryChanges(queryRunner: QueryRunner, table: string): Promise<void> {
  await queryRunner.query(`
      CREATE OR REPLACE FUNCTION kms_refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- A partition's row triggers are clones of its table's: name the table (audit_records), not the month.
        RAISE EXCEPTION 'kms: % of % is refused: history is append-only', TG_OP,
          COALESCE((SELECT relname FROM pg_class WHERE oid = pg_partition_root(TG_RELID)), TG_TABLE_NAME)
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
  await queryRunner.query(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION kms_refuse_history_change()`);
  await queryRunner.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION kms_refuse_history_change()`);
}

/** Undoes {@link refuseHistoryChanges} (the function stays: another table may use it). */
export async function allowHistoryChanges(queryRunner: QueryRunner, table: string): Promise<void> {
  await queryRunner.query(`DROP TRIGGER ${table}_no_truncate ON ${table}`);
  await queryRunner.query(`DROP TRIGGER ${table}_append_only ON ${table}`);
}
