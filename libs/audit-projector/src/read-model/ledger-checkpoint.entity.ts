import { Column, Entity, PrimaryColumn } from 'typeorm';

/** ledger_checkpoints: every signed checkpoint, with its signed note as published. */
@Entity({ name: 'ledger_checkpoints' })
export class LedgerCheckpointEntity {
  @PrimaryColumn({ name: 'log', type: 'text', primaryKeyConstraintName: 'ledger_checkpoints_pkey' })
  log!: string;

  @PrimaryColumn({ name: 'tree_size', type: 'bigint', primaryKeyConstraintName: 'ledger_checkpoints_pkey' })
  treeSize!: string;

  @Column({ name: 'root_hash', type: 'bytea' })
  rootHash!: Buffer;

  @Column({ name: 'signed_at', type: 'timestamptz' })
  signedAt!: Date;

  @Column({ name: 'note', type: 'text' })
  note!: string;
}
