import type { CeremonyKeyRecord, CeremonyKeyStore } from '@kms/application';
import { isUuid } from '@kms/domain';
import type { Pool } from 'pg';

interface CeremonyKeyRow {
  reconstruction_id: string;
  key_id: string;
  version: number;
  kek_id: string;
  wrapped: Buffer;
  created_at: Date;
  expires_at: Date;
}

const COLUMNS = 'reconstruction_id, key_id, version, kek_id, wrapped, created_at, expires_at';

function fromRow(row: CeremonyKeyRow): CeremonyKeyRecord {
  return { reconstructionId: row.reconstruction_id, keyId: row.key_id, version: row.version, kekId: row.kek_id, wrapped: row.wrapped, createdAt: row.created_at, expiresAt: row.expires_at };
}

/** CeremonyKeyStore on the escrow_ceremony_keys table (see escrowCeremonyKeyMigrations). */
export class PostgresCeremonyKeyStore implements CeremonyKeyStore {
  constructor(private readonly pool: Pool) {}

  async put(r: CeremonyKeyRecord): Promise<void> {
    await this.pool.query(`INSERT INTO escrow_ceremony_keys (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [r.reconstructionId, r.keyId, r.version, r.kekId, r.wrapped, r.createdAt, r.expiresAt]);
  }

  async get(reconstructionId: string): Promise<CeremonyKeyRecord | undefined> {
    // Not a UUID cannot be a row; asking would only earn a type error from PostgreSQL.
    if (!isUuid(reconstructionId)) return undefined;
    const { rows } = await this.pool.query<CeremonyKeyRow>(`SELECT ${COLUMNS} FROM escrow_ceremony_keys WHERE reconstruction_id = $1`, [reconstructionId]);
    return rows[0] && fromRow(rows[0]);
  }

  async list(): Promise<CeremonyKeyRecord[]> {
    const { rows } = await this.pool.query<CeremonyKeyRow>(`SELECT ${COLUMNS} FROM escrow_ceremony_keys ORDER BY created_at`);
    return rows.map(fromRow);
  }

  async delete(reconstructionId: string): Promise<void> {
    if (!isUuid(reconstructionId)) return;
    await this.pool.query('DELETE FROM escrow_ceremony_keys WHERE reconstruction_id = $1', [reconstructionId]);
  }
}
