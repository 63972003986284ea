// What the key service app exposes to standalone mode and to other apps' test harnesses (alias
// @kms/key-service-app; the only app-to-app import the lint config allows, see eslint.config.mjs).
export * from './key-service.compose';
export * from './key-service.app';
export * from './notices.compose';
export * from './migrate/migrate-kms';
export { scheduleAuditMaintenance, type AuditMaintenanceSchedule } from './migrate/audit-maintenance';
export * from './notifications.compose';
