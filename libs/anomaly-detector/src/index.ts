export * from './anomaly-detector.module';
