import type { KeyMaterialStore, WrappedMaterialRecord } from '@kms/application';
import { isUuid, type Algorithm } from '@kms/domain';
import type { Pool } from 'pg';

interface KeyMaterialRow {
  material_id: string;
  key_id: string;
  version: number;
  algorithm: Algorithm;
  kek_id: string;
  wrapped: Buffer;
  created_at: Date;
}

const UNIQUE_VIOLATION = '23505';

/** KeyMaterialStore on the key_material table (see keyMaterialMigrations). */
export class PostgresKeyMaterialStore implements KeyMaterialStore {
  constructor(private readonly pool: Pool) {}

  async put(r: WrappedMaterialRecord): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO key_material (material_id, key_id, version, algorithm, kek_id, wrapped, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [r.materialId, r.keyId, r.version, r.algorithm, r.kekId, r.wrapped, r.createdAt],
      );
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) throw new Error(`key material ${r.materialId} already exists`);
      throw e;
    }
  }

  async get(materialId: string): Promise<WrappedMaterialRecord | undefined> {
    // Not a UUID cannot be a row; asking would only earn a type error from PostgreSQL.
    if (!isUuid(materialId)) return undefined;
    const { rows } = await this.pool.query<KeyMaterialRow>(
      'SELECT material_id, key_id, version, algorithm, kek_id, wrapped, created_at FROM key_material WHERE material_id = $1',
      [materialId],
    );
    const row = rows[0];
    return (
      row && {
        materialId: row.material_id,
        keyId: row.key_id,
        version: row.version,
        algorithm: row.algorithm,
        kekId: row.kek_id,
        wrapped: row.wrapped,
        createdAt: row.created_at,
      }
    );
  }

  async delete(materialId: string): Promise<boolean> {
    if (!isUuid(materialId)) return false;
    const { rowCount } = await this.pool.query('DELETE FROM key_material WHERE material_id = $1', [materialId]);
    return (rowCount ?? 0) > 0;
  }
}
