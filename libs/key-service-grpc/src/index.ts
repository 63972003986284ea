export * from './grpc-error.mapper';
export * from './grpc-server.options';
export * from './key-service.module';
export * from './destruction-sweeper';
export * from './key-management.controller';
export * from './key-service.composition';
export * from './key-service.app';
export * from './system-credentials';
