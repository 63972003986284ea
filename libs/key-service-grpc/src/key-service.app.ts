import type { Logger } from '@nestjs/common';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import type { Clock, NotificationSink } from '@kms/application';
import type { KmsConfig } from '@kms/config';
import { createHttpApp } from '@kms/platform';
import { keyServiceGrpcOptions } from './grpc-server.options';
import { buildKeyServiceRuntime, type KeyServiceRuntime } from './key-service.composition';
import { type BootstrapCredential, KeyServiceModule } from './key-service.module';

export interface RunningKeyService {
  app: INestApplication;
  runtime: KeyServiceRuntime;
  httpUrl: string;
  grpcAddress: string;
  close(): Promise<void>;
}

/**
 * Boot the key service: gRPC on config.grpc and HTTP (health, metrics) on config.http, plus any
 * other feature modules sharing the same HTTP server (standalone mode).
 */
export async function startKeyService(
  config: KmsConfig,
  options: {
    clock?: Clock;
    /** Other feature modules on the same HTTP server; a function gets the key service's runtime (standalone wiring). */
    extraModules?:
      | Array<Type<unknown> | DynamicModule>
      | ((runtime: KeyServiceRuntime) => Array<Type<unknown> | DynamicModule> | Promise<Array<Type<unknown> | DynamicModule>>);
    logger?: Logger | false;
    onBootstrapCredential?: (c: BootstrapCredential) => void | Promise<void>;
    notifications?: NotificationSink;
  } = {},
): Promise<RunningKeyService> {
  const runtime = await buildKeyServiceRuntime(config, {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.onBootstrapCredential ? { onBootstrapCredential: options.onBootstrapCredential } : {}),
    ...(options.notifications ? { notifications: options.notifications } : {}),
  });
  try {
    const grpcOptions = keyServiceGrpcOptions(config.grpc, runtime.deps.health);
    const extra = typeof options.extraModules === 'function' ? await options.extraModules(runtime) : (options.extraModules ?? []);
    const { app, url } = await createHttpApp([KeyServiceModule.register(runtime.deps), ...extra], config.http, {
      ...(options.logger === false ? { logger: false as const } : {}),
      configure: async (a) => {
        a.connectMicroservice(grpcOptions, { inheritAppConfig: true });
        await a.startAllMicroservices();
      },
    });
    for (const notice of runtime.notices) if (options.logger) options.logger.warn(notice);
    const grpcAddress = grpcOptions.options.url ?? '';
    return {
      app,
      runtime,
      httpUrl: url,
      grpcAddress,
      async close() {
        await app.close();
        await runtime.close();
      },
    };
  } catch (e) {
    await runtime.close();
    throw e;
  }
}
