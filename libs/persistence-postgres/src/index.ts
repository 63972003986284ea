export * from './pg/postgres-connection';
export * from './audit/audit-records.migration';
export * from './audit/postgres-audit-log';
export * from './key-material/key-material.migration';
export * from './key-material/postgres-key-material-store';
export * from './audit/postgres-audit-feed';
