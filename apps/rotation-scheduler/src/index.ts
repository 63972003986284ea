// The scheduler's composition, for standalone mode (alias @kms/rotation-scheduler-app).
export * from './rotation-scheduler.compose';
