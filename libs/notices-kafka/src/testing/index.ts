export * from './kafka-cluster.process';
export * from './kcat-topic.reader';
