export * from './pg/postgres-connection';
