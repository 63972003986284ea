import type { PostgresTarget } from '@kms/persistence-postgres';
import { DataSource } from 'typeorm';
import { ApprovalEntity } from './approval.entity';
import { AuditLogEntity } from './audit-log.entity';
import { KeyStateLedgerEntity } from './key-state-ledger.entity';
import { KeyVersionEntity } from './key-version.entity';
import { KeyEntity } from './key.entity';
import { LedgerCheckpointEntity } from './ledger-checkpoint.entity';
import { LedgerLeafEntity } from './ledger-leaf.entity';
import { LedgerNodeEntity } from './ledger-node.entity';
import { ProjectionCheckpointEntity } from './projection-checkpoint.entity';

/** Every table CreateAuditReadModels creates, as a TypeORM entity (the migration owns the schema). */
export const AUDIT_PROJECTOR_ENTITIES = [
  ProjectionCheckpointEntity,
  KeyEntity,
  KeyVersionEntity,
  KeyStateLedgerEntity,
  ApprovalEntity,
  AuditLogEntity,
  LedgerLeafEntity,
  LedgerNodeEntity,
  LedgerCheckpointEntity,
];

export interface ReadModelDataSourceOptions {
  /** `application_name` of the connections, visible in pg_stat_activity. */
  applicationName?: string;
  /** Pool size. Default 10 (as createPgPool). */
  poolSize?: number;
  /** Called when an idle pooled connection fails (pg raises it as an event that would otherwise go unheard). */
  onPoolError?: (error: unknown) => void;
}

/**
 * The TypeORM DataSource of the audit read models, on the same connection settings as the other
 * pools (URL, schema as search_path). Never `synchronize`: the schema comes from
 * auditProjectorMigrations through runMigrations. Not initialised: call `initialize()`.
 */
export function createReadModelDataSource(target: PostgresTarget, options: ReadModelDataSourceOptions = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url: target.url,
    schema: target.schema,
    entities: AUDIT_PROJECTOR_ENTITIES,
    synchronize: false,
    migrationsRun: false,
    logging: false,
    installExtensions: false,
    poolSize: options.poolSize ?? 10,
    ...(options.applicationName ? { applicationName: options.applicationName } : {}),
    ...(options.onPoolError ? { poolErrorHandler: options.onPoolError } : {}),
    extra: { options: `-c search_path=${target.schema}` },
  });
}
