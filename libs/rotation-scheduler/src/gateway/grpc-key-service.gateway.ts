import { randomUUID } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { KmsCallError, type KmsClient, type KmsMessage, type KmsMethod } from '@kms/contracts';
import { type DrillAlert, type DrillAlertsPort, type EscrowSettlement, type KeyServicePort, KeyServiceRefusal, type KeySnapshot, type KeyVersionSnapshot } from './key-service.port';
import type { WorkloadTokenSource } from './workload-token.source';

interface KeyMessage {
  key_id: string;
  purpose: string;
  primary_version: number;
  enabled: boolean;
  next_rotation_time: string;
  /** uint64 fields arrive as strings (proto-loader longs: String). */
  versions: Array<{ version: number; state: string; destroy_time: string; expire_time?: string; outstanding_ciphertexts?: string | number }>;
}

const VERSION_STATES: ReadonlySet<string> = new Set(['ENABLED', 'DISABLED', 'DESTROY_SCHEDULED', 'DESTROYED']);

function toSnapshot(m: KeyMessage): KeySnapshot {
  return {
    keyId: m.key_id,
    purpose: m.purpose,
    primaryVersion: Number(m.primary_version),
    enabled: m.enabled,
    nextRotationAt: m.next_rotation_time,
    versions: m.versions.map((v): KeyVersionSnapshot => {
      if (!VERSION_STATES.has(v.state)) throw new Error(`unknown key version state ${v.state}`);
      return {
        version: Number(v.version),
        state: v.state as KeyVersionSnapshot['state'],
        outstandingCiphertexts: Number(v.outstanding_ciphertexts ?? 0),
        ...(v.destroy_time ? { destroyAt: v.destroy_time } : {}),
        ...(v.expire_time ? { expireAt: v.expire_time } : {}),
      };
    }),
  };
}

const STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(grpcStatus).map(([name, code]) => [code, name]));

/** The key service over gRPC, called as the scheduler's workload identity. */
export class GrpcKeyServiceGateway implements KeyServicePort, DrillAlertsPort {
  constructor(
    private readonly client: KmsClient,
    private readonly tokens: WorkloadTokenSource,
    private readonly deadlineMs = 10_000,
  ) {}

  getKey(keyId: string): Promise<KeySnapshot> {
    return this.call('GetKey', { key_id: keyId });
  }

  rotateKey(keyId: string, note: string): Promise<KeySnapshot> {
    return this.call('RotateKey', { key_id: keyId, reason: 'SCHEDULED', context: { reason: note } });
  }

  scheduleDestruction(keyId: string, version: number, afterDays: number, note: string): Promise<KeySnapshot> {
    return this.call('ScheduleKeyVersionDestruction', { key_id: keyId, key_version: version, destroy_after_days: afterDays, context: { reason: note } });
  }

  destroyVersion(keyId: string, version: number, note: string): Promise<KeySnapshot> {
    return this.call('DestroyKeyVersion', { key_id: keyId, key_version: version, context: { reason: note } });
  }

  reportOverdueConfirmations(keyId: string, version: number, note: string): Promise<KeySnapshot> {
    return this.call('ReportOverdueConfirmations', { key_id: keyId, key_version: version, context: { reason: note } });
  }

  async settleEscrowDeclarations(keyId: string, version: number, note: string): Promise<EscrowSettlement> {
    const s = (await this.request('SettleEscrowDeclarations', { key_id: keyId, key_version: version, context: { reason: note } })) as unknown as {
      status: string;
      pending_declarations?: string[];
    };
    return { status: s.status, pendingDeclarations: [...(s.pending_declarations ?? [])] };
  }

  async reportDrillsOverdue(): Promise<DrillAlert[]> {
    const r = (await this.request('ReportDrillsOverdue', {})) as unknown as { reported: Array<{ subject: string; due_date: string; drill_id: string; follow_up_id: number; owner: string }> };
    return r.reported.map((a) =>
      a.subject === 'FOLLOW_UP' ? { subject: 'FOLLOW_UP', dueDate: a.due_date, drillId: a.drill_id, followUpId: Number(a.follow_up_id), owner: a.owner } : { subject: 'MONTHLY_DRILL', dueDate: a.due_date },
    );
  }

  private async call(method: KmsMethod, request: KmsMessage): Promise<KeySnapshot> {
    return toSnapshot((await this.request(method, request)) as unknown as KeyMessage);
  }

  private async request(method: KmsMethod, request: KmsMessage, retried = false): Promise<KmsMessage> {
    try {
      const token = await this.tokens.token();
      return await this.client.call<KmsMessage>(method, request, { token, requestId: randomUUID(), deadlineMs: this.deadlineMs });
    } catch (e) {
      if (!(e instanceof KmsCallError)) throw e;
      // A token revoked meanwhile (credential rotated): get a new one, once.
      if (e.code === grpcStatus.UNAUTHENTICATED && !retried) {
        this.tokens.invalidate();
        return this.request(method, request, true);
      }
      throw new KeyServiceRefusal(STATUS_NAMES[e.code] ?? String(e.code), e.errorCode, `${method}: ${e.details}`);
    }
  }
}
