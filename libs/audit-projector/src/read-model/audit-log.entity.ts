import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

/** rm_audit_log: one normalised row per audit record (sizes only, never data), with its ledger leaf index. */
@Entity({ name: 'rm_audit_log' })
@Unique('rm_audit_log_id_key', ['id'])
@Index('rm_audit_log_time_idx', ['time', 'position'])
@Index('rm_audit_log_key_idx', ['keyId', 'time'])
@Index('rm_audit_log_key_position_idx', ['keyId', 'position'])
@Index('rm_audit_log_actor_position_idx', ['actor', 'position'])
@Index('rm_audit_log_operation_position_idx', ['operation', 'position', 'outcome', 'time'])
@Index('rm_audit_log_compliance_use_idx', ['operation'], { where: `role LIKE '%compliance-officer%' AND outcome = 'SUCCESS'` })
export class AuditLogEntity {
  /** Position in the key service's audit log (bigint, as a decimal string): the paging cursor. */
  @PrimaryColumn({ name: 'position', type: 'bigint', primaryKeyConstraintName: 'rm_audit_log_pkey' })
  position!: string;

  @Column({ name: 'id', type: 'uuid' })
  id!: string;

  @Column({ name: 'time', type: 'timestamptz' })
  time!: Date;

  @Column({ name: 'actor', type: 'text' })
  actor!: string;

  @Column({ name: 'role', type: 'text', nullable: true })
  role!: string | null;

  @Column({ name: 'operation', type: 'text' })
  operation!: string;

  @Column({ name: 'key_id', type: 'uuid', nullable: true })
  keyId!: string | null;

  @Column({ name: 'key_version', type: 'integer', nullable: true })
  keyVersion!: number | null;

  @Column({ name: 'outcome', type: 'text' })
  outcome!: string;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  @Column({ name: 'request_id', type: 'text' })
  requestId!: string;

  @Column({ name: 'source_address', type: 'text', nullable: true })
  sourceAddress!: string | null;

  @Column({ name: 'details', type: 'jsonb', nullable: true })
  details!: Record<string, unknown> | null;

  @Column({ name: 'leaf_index', type: 'bigint' })
  leafIndex!: string;
}
