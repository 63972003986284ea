import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

/** ledger_leaves: the append-only Merkle ledger (a trigger in the migration refuses UPDATE and DELETE). */
@Entity({ name: 'ledger_leaves' })
@Unique('ledger_leaves_log_record_id_key', ['log', 'recordId'])
@Check('ledger_leaves_log_check', `log IN ('events', 'audit')`)
@Index('ledger_leaves_subject_idx', ['subjectKeyId', 'log', 'leafIndex'])
export class LedgerLeafEntity {
  /** `events` or `audit`. */
  @PrimaryColumn({ name: 'log', type: 'text', primaryKeyConstraintName: 'ledger_leaves_pkey' })
  log!: string;

  @PrimaryColumn({ name: 'leaf_index', type: 'bigint', primaryKeyConstraintName: 'ledger_leaves_pkey' })
  leafIndex!: string;

  @Column({ name: 'source_position', type: 'bigint' })
  sourcePosition!: string;

  /** Event id or audit record id. */
  @Column({ name: 'record_id', type: 'text' })
  recordId!: string;

  /** The key the record is evidence about, for evidence bundles. */
  @Column({ name: 'subject_key_id', type: 'uuid', nullable: true })
  subjectKeyId!: string | null;

  @Column({ name: 'record_time', type: 'timestamptz' })
  recordTime!: Date;

  @Column({ name: 'leaf_hash', type: 'bytea' })
  leafHash!: Buffer;

  /** RFC 8785 canonical JSON of the leaf record. */
  @Column({ name: 'leaf_data', type: 'bytea' })
  leafData!: Buffer;
}
