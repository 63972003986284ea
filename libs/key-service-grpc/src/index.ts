export * from './grpc-error.mapper';
export * from './grpc-server.options';
export * from './key-service.module';
export * from './system-credentials';
export * from './frame-guard';
export { httpProblem } from './http/console-http';
export * from './lean-grpc-server';
