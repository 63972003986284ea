import type { Pool } from 'pg';
import type { CeremonyPurpose, CeremonyRecord, EnrolmentLinkRecord, SecondFactorStore, TotpRecord, WebAuthnCredentialRecord } from '@kms/application';

/** Failures older than this are of no use to any rate limit and are pruned as new ones come. */
const FAILURE_RETENTION_MS = 24 * 60 * 60 * 1000;

type CredentialRow = { credential_id: string; identity_id: string; public_key: Buffer; sign_count: string; transports: string[]; created_at: Date; last_used_at: Date | null };
type CeremonyRow = { ceremony_id: string; identity_id: string; purpose: CeremonyPurpose; challenge: string; granted_by: string | null; binding: Record<string, string> | null; expires_at: Date };

function credential(r: CredentialRow): WebAuthnCredentialRecord {
  return {
    credentialId: r.credential_id,
    identityId: r.identity_id,
    publicKey: r.public_key,
    signCount: Number(r.sign_count),
    transports: r.transports,
    createdAt: r.created_at,
    ...(r.last_used_at ? { lastUsedAt: r.last_used_at } : {}),
  };
}

function ceremony(r: CeremonyRow): CeremonyRecord {
  return { ceremonyId: r.ceremony_id, identityId: r.identity_id, purpose: r.purpose, challenge: r.challenge, ...(r.granted_by ? { grantedBy: r.granted_by } : {}), ...(r.binding ? { binding: r.binding } : {}), expiresAt: r.expires_at };
}

/** People's second factors in PostgreSQL: every consumption is one conditional statement, so replicas agree. */
export class PostgresSecondFactorStore implements SecondFactorStore {
  constructor(private readonly pool: Pool) {}

  async putEnrolmentLink(link: EnrolmentLinkRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO enrolment_links (identity_id, link_id, secret_hash, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL)
       ON CONFLICT (identity_id) DO UPDATE SET link_id = EXCLUDED.link_id, secret_hash = EXCLUDED.secret_hash, expires_at = EXCLUDED.expires_at, used_at = NULL`,
      [link.identityId, link.linkId, link.secretHash, link.expiresAt],
    );
  }

  async getEnrolmentLink(linkId: string): Promise<EnrolmentLinkRecord | undefined> {
    const { rows } = await this.pool.query<{ link_id: string; identity_id: string; secret_hash: Buffer; expires_at: Date; used_at: Date | null }>(
      'SELECT link_id, identity_id, secret_hash, expires_at, used_at FROM enrolment_links WHERE link_id = $1',
      [linkId],
    );
    const r = rows[0];
    return r && { linkId: r.link_id, identityId: r.identity_id, secretHash: r.secret_hash, expiresAt: r.expires_at, ...(r.used_at ? { usedAt: r.used_at } : {}) };
  }

  async useEnrolmentLink(linkId: string, now: Date): Promise<boolean> {
    const r = await this.pool.query('UPDATE enrolment_links SET used_at = $2 WHERE link_id = $1 AND used_at IS NULL AND expires_at > $2', [linkId, now]);
    return r.rowCount === 1;
  }

  async putCeremony(c: CeremonyRecord, now: Date): Promise<void> {
    // Expired ceremonies are of no use: removed as new ones come, so the table stays small.
    await this.pool.query('DELETE FROM webauthn_ceremonies WHERE expires_at <= $1', [now]);
    await this.pool.query(
      'INSERT INTO webauthn_ceremonies (ceremony_id, identity_id, purpose, challenge, granted_by, binding, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [c.ceremonyId, c.identityId, c.purpose, c.challenge, c.grantedBy ?? null, c.binding ? JSON.stringify(c.binding) : null, c.expiresAt],
    );
  }

  async peekCeremony(ceremonyId: string, purpose: CeremonyPurpose, now: Date): Promise<CeremonyRecord | undefined> {
    const { rows } = await this.pool.query<CeremonyRow>('SELECT * FROM webauthn_ceremonies WHERE ceremony_id = $1 AND purpose = $2 AND expires_at > $3', [ceremonyId, purpose, now]);
    return rows[0] && ceremony(rows[0]);
  }

  async takeCeremony(ceremonyId: string, purpose: CeremonyPurpose, now: Date): Promise<CeremonyRecord | undefined> {
    const { rows } = await this.pool.query<CeremonyRow>('DELETE FROM webauthn_ceremonies WHERE ceremony_id = $1 AND purpose = $2 RETURNING *', [ceremonyId, purpose]);
    const r = rows[0];
    return r && r.expires_at.getTime() > now.getTime() ? ceremony(r) : undefined;
  }

  async addCredential(c: WebAuthnCredentialRecord): Promise<void> {
    await this.pool.query(
      'INSERT INTO webauthn_credentials (credential_id, identity_id, public_key, sign_count, transports, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [c.credentialId, c.identityId, c.publicKey, c.signCount, c.transports, c.createdAt],
    );
  }

  async getCredential(credentialId: string): Promise<WebAuthnCredentialRecord | undefined> {
    const { rows } = await this.pool.query<CredentialRow>('SELECT * FROM webauthn_credentials WHERE credential_id = $1', [credentialId]);
    return rows[0] && credential(rows[0]);
  }

  async listCredentials(identityId: string): Promise<WebAuthnCredentialRecord[]> {
    const { rows } = await this.pool.query<CredentialRow>('SELECT * FROM webauthn_credentials WHERE identity_id = $1 ORDER BY created_at, credential_id', [identityId]);
    return rows.map(credential);
  }

  async advanceCredential(credentialId: string, from: number, to: number, usedAt: Date): Promise<boolean> {
    const r = await this.pool.query('UPDATE webauthn_credentials SET sign_count = $3, last_used_at = $4 WHERE credential_id = $1 AND sign_count = $2', [credentialId, from, to, usedAt]);
    return r.rowCount === 1;
  }

  async removeCredential(identityId: string, credentialId: string): Promise<boolean> {
    const r = await this.pool.query('DELETE FROM webauthn_credentials WHERE identity_id = $1 AND credential_id = $2', [identityId, credentialId]);
    return r.rowCount === 1;
  }

  async removeTotp(identityId: string): Promise<boolean> {
    const r = await this.pool.query('DELETE FROM totp_factors WHERE identity_id = $1', [identityId]);
    return r.rowCount === 1;
  }

  async putPendingTotp(identityId: string, wrappedSecret: Buffer): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO totp_factors (identity_id, wrapped_secret, confirmed, last_step) VALUES ($1, $2, false, NULL)
       ON CONFLICT (identity_id) DO UPDATE SET wrapped_secret = EXCLUDED.wrapped_secret, last_step = NULL WHERE NOT totp_factors.confirmed`,
      [identityId, wrappedSecret],
    );
    return r.rowCount === 1;
  }

  async getTotp(identityId: string): Promise<TotpRecord | undefined> {
    const { rows } = await this.pool.query<{ identity_id: string; wrapped_secret: Buffer; confirmed: boolean; last_step: string | null }>('SELECT * FROM totp_factors WHERE identity_id = $1', [identityId]);
    const r = rows[0];
    return r && { identityId: r.identity_id, wrappedSecret: r.wrapped_secret, confirmed: r.confirmed, ...(r.last_step !== null ? { lastStep: Number(r.last_step) } : {}) };
  }

  async confirmTotp(identityId: string, step: number): Promise<boolean> {
    const r = await this.pool.query('UPDATE totp_factors SET confirmed = true, last_step = $2 WHERE identity_id = $1 AND NOT confirmed', [identityId, step]);
    return r.rowCount === 1;
  }

  async acceptTotpStep(identityId: string, step: number): Promise<boolean> {
    const r = await this.pool.query('UPDATE totp_factors SET last_step = $2 WHERE identity_id = $1 AND confirmed AND (last_step IS NULL OR last_step < $2)', [identityId, step]);
    return r.rowCount === 1;
  }

  async recordTotpFailure(identityId: string, at: Date): Promise<void> {
    await this.pool.query('DELETE FROM totp_failures WHERE identity_id = $1 AND failed_at < $2', [identityId, new Date(at.getTime() - FAILURE_RETENTION_MS)]);
    await this.pool.query('INSERT INTO totp_failures (identity_id, failed_at) VALUES ($1, $2)', [identityId, at]);
  }

  async totpFailuresSince(identityId: string, since: Date): Promise<Date[]> {
    const { rows } = await this.pool.query<{ failed_at: Date }>('SELECT failed_at FROM totp_failures WHERE identity_id = $1 AND failed_at >= $2 ORDER BY failed_at', [identityId, since]);
    return rows.map((r) => r.failed_at);
  }
}
