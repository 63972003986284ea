import type { ApprovalState } from '@kms/domain';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** rm_approvals: one row per approval request (dual authorization). */
@Entity({ name: 'rm_approvals' })
@Index('rm_approvals_target_idx', ['targetId'])
export class ApprovalEntity {
  @PrimaryColumn({ name: 'approval_id', type: 'text', primaryKeyConstraintName: 'rm_approvals_pkey' })
  approvalId!: string;

  @Column({ name: 'operation', type: 'text' })
  operation!: string;

  @Column({ name: 'target_id', type: 'text' })
  targetId!: string;

  @Column({ name: 'requester', type: 'text' })
  requester!: string;

  @Column({ name: 'change_ticket', type: 'text' })
  changeTicket!: string;

  @Column({ name: 'reason', type: 'text', nullable: true })
  reason!: string | null;

  @Column({ name: 'status', type: 'text' })
  status!: string;

  @Column({ name: 'approver', type: 'text', nullable: true })
  approver!: string | null;

  @Column({ name: 'requested_at', type: 'timestamptz' })
  requestedAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true })
  decidedAt!: Date | null;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  @Column({ name: 'params', type: 'jsonb' })
  params!: Record<string, unknown>;

  @Column({ name: 'record', type: 'jsonb' })
  record!: ApprovalState;

  @Column({ name: 'last_position', type: 'bigint' })
  lastPosition!: string;
}
