import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/** ledger_nodes: the ledger's stored perfect subtrees of level ≥ 1 (CreateLedgerNodes; written and read through ledger-nodes.ts). */
@Entity({ name: 'ledger_nodes' })
@Check('ledger_nodes_log_check', `log IN ('events', 'audit')`)
@Check('ledger_nodes_level_check', 'level >= 1')
@Check('ledger_nodes_idx_check', 'idx >= 0')
export class LedgerNodeEntity {
  @PrimaryColumn({ name: 'log', type: 'text', primaryKeyConstraintName: 'ledger_nodes_pkey' })
  log!: string;

  @PrimaryColumn({ name: 'level', type: 'smallint', primaryKeyConstraintName: 'ledger_nodes_pkey' })
  level!: number;

  /** The subtree covers leaves idx·2^level to (idx+1)·2^level − 1. */
  @PrimaryColumn({ name: 'idx', type: 'bigint', primaryKeyConstraintName: 'ledger_nodes_pkey' })
  idx!: string;

  @Column({ name: 'hash', type: 'bytea' })
  hash!: Buffer;
}
