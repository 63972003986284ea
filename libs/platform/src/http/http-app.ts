import { Logger, Module, type DynamicModule, type INestApplication, type LoggerService, type LogLevel, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { HealthModule } from '../health/health.module';
import { bodyRefusalHandler, HTTP_BODY_LIMIT_BYTES, type MalformedBodyAuditor } from './body-refusal';
import { ProblemDetailsFilter } from './problem-details.filter';
import { installedLogger } from '../logging/structured-logger';

/** Host and port to listen on (KmsConfig['http']). */
export interface ListenAddress {
  host: string;
  port: number;
}

export interface HttpAppOptions {
  /** Nest logger; `false` silences it (tests). */
  logger?: LoggerService | LogLevel[] | false;
  /** Runs after the app is created and before it listens: connect microservices, filters, prefixes. */
  configure?: (app: INestApplication) => void | Promise<void>;
  /**
   * Audits a request whose body the parsers refused (not JSON, too large) before any route ran; given
   * the app, so it can reach the call pipeline once the app is up. Without it such a request is still
   * answered as problem details (400/413), not audited: apps with no audited HTTP operations.
   */
  auditMalformedBody?: (app: INestApplication) => MalformedBodyAuditor;
}

export interface HttpApp {
  app: INestApplication;
  /** Where it actually listens, e.g. http://127.0.0.1:8080 (the real port when asked for port 0). */
  url: string;
}

@Module({})
class HttpAppRootModule {}

/**
 * Create a Nest application on Express from the given modules plus HealthModule and listen on
 * `address`. Several feature modules can share one server: their health checks aggregate.
 */
export async function createHttpApp(
  modules: Type<unknown> | DynamicModule | Array<Type<unknown> | DynamicModule>,
  address: ListenAddress,
  options: HttpAppOptions = {},
): Promise<HttpApp> {
  const root: DynamicModule = { module: HttpAppRootModule, imports: [HealthModule, ...[modules].flat()] };
  // abortOnError: false so a boot failure is thrown to the caller (logged, exit 1) instead of process.abort().
  const logger = options.logger ?? installedLogger();
  // The body parsers are registered here, not by Nest, so their refusals reach bodyRefusalHandler
  // (Nest would answer a too-large body as a 500 and a bad one unaudited).
  const app = await NestFactory.create<NestExpressApplication>(root, new ExpressAdapter(), { abortOnError: false, bodyParser: false, ...(logger !== undefined ? { logger } : {}) });
  app.useBodyParser('json', { limit: HTTP_BODY_LIMIT_BYTES });
  app.useBodyParser('urlencoded', { limit: HTTP_BODY_LIMIT_BYTES, extended: true });
  let auditor: MalformedBodyAuditor | undefined;
  app.use(bodyRefusalHandler(() => (auditor ??= options.auditMalformedBody?.(app))));
  // One error format on every HTTP endpoint (gRPC errors are not touched: the filter rethrows them).
  app.useGlobalFilters(new ProblemDetailsFilter());
  try {
    await options.configure?.(app);
    await app.listen(address.port, address.host);
  } catch (e) {
    await app.close();
    throw e;
  }
  const bound = app.getHttpServer().address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return { app, url: `http://${host}:${bound.port}` };
}

/**
 * Close the app (module destroy hooks release connections) on the first SIGINT or SIGTERM, then exit
 * 0. The handlers are `once`, so a second signal during a stuck shutdown kills the process.
 */
export function closeOnSignals(app: INestApplication, logger: Logger): void {
  const stop = (signal: NodeJS.Signals): void => {
    logger.log(`${signal} received, shutting down`);
    app.close().then(
      () => {
        logger.log('stopped');
        process.exit(0);
      },
      (e: unknown) => {
        logger.error(`shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
