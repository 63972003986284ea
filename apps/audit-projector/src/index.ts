// The projector's composition, for standalone mode (alias @kms/audit-projector-app).
export * from './audit-projector.compose';
