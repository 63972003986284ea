import { Column, Entity, PrimaryColumn } from 'typeorm';

/** projection_checkpoints: where each projection stands, moved in the same transaction as its rows. */
@Entity({ name: 'projection_checkpoints' })
export class ProjectionCheckpointEntity {
  /** `events` or `audit`. */
  @PrimaryColumn({ name: 'name', type: 'text', primaryKeyConstraintName: 'projection_checkpoints_pkey' })
  name!: string;

  /** Last source position projected (bigint, as a decimal string). */
  @Column({ name: 'position', type: 'bigint' })
  position!: string;

  @Column({ name: 'leaf_count', type: 'bigint' })
  leafCount!: string;
}
