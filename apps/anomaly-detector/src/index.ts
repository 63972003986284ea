// The detector's composition, for standalone mode (alias @kms/anomaly-detector-app).
export * from './anomaly-detector.compose';
