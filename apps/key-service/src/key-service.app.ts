import type { Logger } from '@nestjs/common';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { CallPipeline, unreadableHttpCall } from '@kms/application';
import type { KmsConfig } from '@kms/config';
import { KEY_SERVICE_GRPC_CONTROLLERS, keyServiceGrpcOptions, KeyServiceModule, LeanGrpcServer } from '@kms/key-service-grpc';
import { createHttpApp } from '@kms/platform';
import { composeKeyService, type KeyServiceComposeOptions, type KeyServiceRuntime } from './key-service.compose';
import { type RunningKmip, startKmip } from './kmip.compose';

export interface RunningKeyService {
  app: INestApplication;
  runtime: KeyServiceRuntime;
  httpUrl: string;
  grpcAddress: string;
  /** The KMIP server, when enabled (KMS_KMIP_ENABLED). */
  kmip?: RunningKmip;
  close(): Promise<void>;
}

/**
 * Boot the key service: gRPC on config.grpc and HTTP (health, metrics) on config.http, plus any
 * other feature modules sharing the same HTTP server (standalone mode). close() is the one owner of
 * teardown: the Nest app first (modules stop their followers and timers), then the runtime (pools,
 * HSM, audit flush), which app.close() alone would not release.
 */
export async function startKeyService(
  config: KmsConfig,
  options: KeyServiceComposeOptions & {
    /** Other feature modules on the same HTTP server; a function gets the key service's runtime (standalone wiring). */
    extraModules?:
      | Array<Type<unknown> | DynamicModule>
      | ((runtime: KeyServiceRuntime) => Array<Type<unknown> | DynamicModule> | Promise<Array<Type<unknown> | DynamicModule>>);
    logger?: Logger | false;
  } = {},
): Promise<RunningKeyService> {
  const runtime = await composeKeyService(config, {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.onBootstrapEnrolment ? { onBootstrapEnrolment: options.onBootstrapEnrolment } : {}),
    ...(options.notifications ? { notifications: options.notifications } : {}),
    ...(options.migrated ? { migrated: true } : {}),
  });
  try {
    const grpcOptions = keyServiceGrpcOptions(config.grpc, runtime.deps.health);
    const extra = typeof options.extraModules === 'function' ? await options.extraModules(runtime) : (options.extraModules ?? []);
    const { app, url } = await createHttpApp([KeyServiceModule.register(runtime.deps), ...extra], config.http, {
      ...(options.logger === false ? { logger: false as const } : {}),
      // A body the HTTP server refuses (not JSON, too large) is audited like any refused call.
      auditMalformedBody: (a) => {
        const pipeline = a.get(CallPipeline);
        return (req, refusal) => pipeline.refuseUnreadable(unreadableHttpCall(req, refusal));
      },
      configure: async (a) => {
        // The API's unary methods are served directly: the app sets no Nest guard, pipe, interceptor
        // or filter of its own on gRPC (the one global filter answers RPC errors as Nest's own, which
        // is what the direct path answers them with).
        const direct = () => KEY_SERVICE_GRPC_CONTROLLERS.map((controller) => a.get<object>(controller, { strict: false }));
        a.connectMicroservice({ strategy: new LeanGrpcServer(grpcOptions.options, direct) }, { inheritAppConfig: true });
        await a.startAllMicroservices();
      },
    });
    let kmip: RunningKmip | undefined;
    try {
      kmip = config.kmip.enabled ? await startKmip(config, app) : undefined;
    } catch (e) {
      await app.close();
      throw e;
    }
    for (const notice of runtime.notices) if (options.logger) options.logger.warn(notice);
    const grpcAddress = grpcOptions.options.url ?? '';
    return {
      app,
      runtime,
      httpUrl: url,
      grpcAddress,
      ...(kmip ? { kmip } : {}),
      async close() {
        await kmip?.stop();
        await app.close();
        await runtime.close();
      },
    };
  } catch (e) {
    await runtime.close();
    throw e;
  }
}
