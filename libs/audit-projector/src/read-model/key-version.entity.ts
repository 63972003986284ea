import { Column, Entity, PrimaryColumn } from 'typeorm';

/** rm_key_versions: one row per key version. */
@Entity({ name: 'rm_key_versions' })
export class KeyVersionEntity {
  @PrimaryColumn({ name: 'key_id', type: 'uuid', primaryKeyConstraintName: 'rm_key_versions_pkey' })
  keyId!: string;

  @PrimaryColumn({ name: 'version', type: 'integer', primaryKeyConstraintName: 'rm_key_versions_pkey' })
  version!: number;

  @Column({ name: 'algorithm', type: 'text' })
  algorithm!: string;

  @Column({ name: 'protection_level', type: 'text' })
  protectionLevel!: string;

  @Column({ name: 'state', type: 'text' })
  state!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'destroy_at', type: 'timestamptz', nullable: true })
  destroyAt!: Date | null;

  @Column({ name: 'destroyed_at', type: 'timestamptz', nullable: true })
  destroyedAt!: Date | null;

  @Column({ name: 'public_key_fingerprint', type: 'text', nullable: true })
  publicKeyFingerprint!: string | null;

  /** HSM origin evidence read back from the module (attributes and token), null for software versions. */
  @Column({ name: 'origin', type: 'jsonb', nullable: true })
  origin!: unknown;
}
