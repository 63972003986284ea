import type { ImportParametersRecord, ImportParametersStore } from '@kms/application';
import { isUuid } from '@kms/domain';
import type { Pool } from 'pg';

interface ImportParametersRow {
  token: string;
  key_id: string;
  kek_id: string;
  wrapped: Buffer;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

const UNIQUE_VIOLATION = '23505';

/** ImportParametersStore on the import_parameters table (see importParametersMigrations). */
export class PostgresImportParametersStore implements ImportParametersStore {
  constructor(private readonly pool: Pool) {}

  async put(r: ImportParametersRecord): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO import_parameters (token, key_id, kek_id, wrapped, created_at, expires_at, used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [r.token, r.keyId, r.kekId, r.wrapped, r.createdAt, r.expiresAt, r.usedAt ?? null],
      );
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) throw new Error(`import parameters ${r.token} already exist`);
      throw e;
    }
  }

  async get(token: string): Promise<ImportParametersRecord | undefined> {
    // Not a UUID cannot be a row; asking would only earn a type error from PostgreSQL.
    if (!isUuid(token)) return undefined;
    const { rows } = await this.pool.query<ImportParametersRow>(
      'SELECT token, key_id, kek_id, wrapped, created_at, expires_at, used_at FROM import_parameters WHERE token = $1',
      [token],
    );
    const row = rows[0];
    return (
      row && {
        token: row.token,
        keyId: row.key_id,
        kekId: row.kek_id,
        wrapped: row.wrapped,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        ...(row.used_at ? { usedAt: row.used_at } : {}),
      }
    );
  }

  async markUsed(token: string, now: Date): Promise<boolean> {
    if (!isUuid(token)) return false;
    // One UPDATE: of two concurrent imports with the same token, exactly one sees a row change.
    const { rowCount } = await this.pool.query('UPDATE import_parameters SET used_at = $2 WHERE token = $1 AND used_at IS NULL', [token, now]);
    return (rowCount ?? 0) > 0;
  }
}
