export * from './usage-stream.fixtures';
