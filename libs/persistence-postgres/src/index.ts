export * from './pg/postgres-connection';
export * from './audit/audit-records.migration';
export * from './audit/postgres-audit-log';
