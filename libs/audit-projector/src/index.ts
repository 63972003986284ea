export * from './audit-projector.module';
