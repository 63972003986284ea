import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** rm_key_state_ledger: one row per key event, with who, why and under which approval. */
@Entity({ name: 'rm_key_state_ledger' })
@Index('rm_key_state_ledger_key_idx', ['keyId', 'position'])
export class KeyStateLedgerEntity {
  @PrimaryColumn({ name: 'position', type: 'bigint', primaryKeyConstraintName: 'rm_key_state_ledger_pkey' })
  position!: string;

  @Column({ name: 'key_id', type: 'uuid' })
  keyId!: string;

  @Column({ name: 'version', type: 'integer', nullable: true })
  version!: number | null;

  @Column({ name: 'event_type', type: 'text' })
  eventType!: string;

  @Column({ name: 'from_state', type: 'text', nullable: true })
  fromState!: string | null;

  @Column({ name: 'to_state', type: 'text', nullable: true })
  toState!: string | null;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'actor', type: 'text' })
  actor!: string;

  @Column({ name: 'approvers', type: 'text', array: true })
  approvers!: string[];

  @Column({ name: 'approval_id', type: 'text', nullable: true })
  approvalId!: string | null;

  @Column({ name: 'change_ticket', type: 'text', nullable: true })
  changeTicket!: string | null;

  @Column({ name: 'reason', type: 'text', nullable: true })
  reason!: string | null;

  @Column({ name: 'correlation_id', type: 'text', nullable: true })
  correlationId!: string | null;
}
