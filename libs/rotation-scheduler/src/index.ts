export * from './rotation-scheduler.module';
