export * from './kafka-mock.process';
