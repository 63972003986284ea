import { createKmsClient, KmsCallError, type KmsClient, type KmsMessage, type KmsMethod } from '@kms/contracts';
import type { ContainmentGateway } from './containment.port';

const FAILED_PRECONDITION = 9;
const UNAUTHENTICATED = 16;

/**
 * Containment over the key service's own gRPC API with the detector's workload credential (service
 * role `anomaly-detector`), so every action is authorized and audited like any caller's.
 */
export class GrpcContainmentGateway implements ContainmentGateway {
  private readonly client: KmsClient;
  private token: { value: string; at: number } | undefined;

  constructor(
    address: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.client = createKmsClient(address);
  }

  private async call(method: KmsMethod, request: KmsMessage): Promise<KmsMessage> {
    for (let attempt = 0; ; attempt++) {
      // Tokens live at most 15 minutes; renew well before.
      if (!this.token || this.now() - this.token.at > 5 * 60_000 || this.now() < this.token.at) {
        const r = await this.client.call<{ access_token: string }>('IssueToken', { client_id: this.clientId, client_secret: this.clientSecret });
        this.token = { value: r.access_token, at: this.now() };
      }
      try {
        return await this.client.call(method, request, { token: this.token.value });
      } catch (e) {
        if (attempt === 0 && e instanceof KmsCallError && e.code === UNAUTHENTICATED) {
          this.token = undefined;
          continue;
        }
        throw e;
      }
    }
  }

  async suspendIdentity(identityId: string, reason: string): Promise<'SUSPENDED' | 'ALREADY_SUSPENDED'> {
    try {
      await this.call('SuspendIdentity', { identity_id: identityId, context: { reason } });
      return 'SUSPENDED';
    } catch (e) {
      if (e instanceof KmsCallError && e.code === FAILED_PRECONDITION) return 'ALREADY_SUSPENDED';
      throw e;
    }
  }

  async reportKeyCompromise(keyId: string, version: number | null, reason: string): Promise<'REPORTED' | 'ALREADY_REPORTED'> {
    try {
      await this.call('ReportKeyCompromise', { key_id: keyId, ...(version !== null ? { key_version: version } : {}), context: { reason } });
      return 'REPORTED';
    } catch (e) {
      if (e instanceof KmsCallError && e.code === FAILED_PRECONDITION) return 'ALREADY_REPORTED';
      throw e;
    }
  }

  close(): void {
    this.client.close();
  }
}
