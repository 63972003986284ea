import type { KmsConfig } from '@kms/config';
import { createPostgresPool, HealthModule, HealthRegistry, postgresCheck } from '@kms/platform';
import { Inject, Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';

/** The PostgreSQL pool the audit read models are projected into. */
export const AUDIT_PROJECTOR_PG_POOL = Symbol('AUDIT_PROJECTOR_PG_POOL');

/** Audit projector: owns its PostgreSQL pool and reports it on /readyz as "audit-projector.postgres". */
@Module({})
export class AuditProjectorModule implements OnModuleInit, OnModuleDestroy {
  /** The module wired to `config.postgres`. */
  static forRoot(config: KmsConfig): DynamicModule {
    return {
      module: AuditProjectorModule,
      imports: [HealthModule],
      providers: [{ provide: AUDIT_PROJECTOR_PG_POOL, useFactory: () => createPostgresPool(config.postgres, 'kms-audit-projector') }],
    };
  }

  constructor(
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(AUDIT_PROJECTOR_PG_POOL) private readonly pool: Pool,
  ) {}

  onModuleInit(): void {
    this.health.register(postgresCheck(this.pool, { name: 'audit-projector.postgres' }));
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.end();
  }
}
