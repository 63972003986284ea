import type { KeyRecord } from '@kms/domain';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** rm_keys: one row per key, the current folded state (`record`) and the columns auditors filter on. */
@Entity({ name: 'rm_keys' })
@Index('rm_keys_purpose_idx', ['purpose', 'status'])
@Index('rm_keys_next_rotation_idx', ['nextRotationAt'])
export class KeyEntity {
  @PrimaryColumn({ name: 'key_id', type: 'uuid', primaryKeyConstraintName: 'rm_keys_pkey' })
  keyId!: string;

  @Column({ name: 'tenant', type: 'text' })
  tenant!: string;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'purpose', type: 'text' })
  purpose!: string;

  @Column({ name: 'algorithm', type: 'text' })
  algorithm!: string;

  @Column({ name: 'protection_level', type: 'text' })
  protectionLevel!: string;

  @Column({ name: 'owner', type: 'text' })
  owner!: string;

  @Column({ name: 'labels', type: 'jsonb' })
  labels!: Record<string, string>;

  @Column({ name: 'status', type: 'text' })
  status!: string;

  @Column({ name: 'primary_version', type: 'integer' })
  primaryVersion!: number;

  @Column({ name: 'min_decryption_version', type: 'integer' })
  minDecryptionVersion!: number;

  @Column({ name: 'rotation_period_days', type: 'integer' })
  rotationPeriodDays!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'primary_since', type: 'timestamptz' })
  primarySince!: Date;

  @Column({ name: 'next_rotation_at', type: 'timestamptz' })
  nextRotationAt!: Date;

  /** The domain KeyRecord folded from the events (material references only, never material). */
  @Column({ name: 'record', type: 'jsonb' })
  record!: KeyRecord;

  @Column({ name: 'last_position', type: 'bigint' })
  lastPosition!: string;
}
