import type { Clock } from '@kms/application';
import type { Secret } from '@kms/config';
import type { KmsClient } from '@kms/contracts';

/** The scheduler's client credential (a WORKLOAD identity with the `rotation-scheduler` role). */
export interface WorkloadCredential {
  clientId: string;
  clientSecret: Secret<string>;
}

interface IssuedToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

/** Re-issue this long before expiry, so a token never expires between the check and the call (tokens live 900 s). */
const RENEW_BEFORE_MS = 5 * 60_000;

/**
 * Bearer tokens for the scheduler's workload identity, from IssueToken, cached and re-issued before
 * they expire. Time comes from the injected clock, the one the key service checks `exp` against in tests.
 */
export class WorkloadTokenSource {
  private current?: IssuedToken;
  private pending?: Promise<IssuedToken>;

  constructor(
    private readonly client: KmsClient,
    private readonly credential: WorkloadCredential,
    private readonly clock: Clock,
  ) {}

  /** A token valid for at least a few minutes. */
  async token(): Promise<string> {
    const now = this.clock.now().getTime();
    const c = this.current;
    // A clock moved backwards (tests, NTP step) makes `iat` lie in the future: re-issue too.
    if (c && now < c.expiresAt - RENEW_BEFORE_MS && now >= c.issuedAt) return c.token;
    this.pending ??= this.issue(now).finally(() => (this.pending = undefined));
    return (await this.pending).token;
  }

  /** Drop the cached token (after UNAUTHENTICATED: revoked by a credential rotation, say). */
  invalidate(): void {
    this.current = undefined;
  }

  private async issue(now: number): Promise<IssuedToken> {
    const r = await this.client.call<{ access_token: string; expire_time: string }>('IssueToken', {
      client_id: this.credential.clientId,
      client_secret: this.credential.clientSecret.reveal(),
    });
    const expiresAt = Date.parse(r.expire_time);
    this.current = { token: r.access_token, issuedAt: now, expiresAt: Number.isFinite(expiresAt) ? expiresAt : now + 900_000 };
    return this.current;
  }
}
