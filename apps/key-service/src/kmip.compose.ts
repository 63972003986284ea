import type { INestApplication } from '@nestjs/common';
import { CallPipeline, CryptoService, DualAuthorization, KeyCatalog, KeyLifecycleService } from '@kms/application';
import type { KmsConfig } from '@kms/config';
import { DEFAULT_TTLV_LIMITS, ensureKmipPki, KmipOperations, KmipServer } from '@kms/kmip';

/** A running KMIP server and how to stop it. */
export interface RunningKmip {
  port: number;
  /** The CA certificate (PEM) clients verify the server with. */
  ca: string;
  stop(): Promise<void>;
}

/**
 * Start the KMIP server beside gRPC (docs/kmip.md) over the very application services the gRPC
 * controllers use, taken from the running key service: one pipeline, one set of commands.
 */
export async function startKmip(config: KmsConfig, app: INestApplication): Promise<RunningKmip> {
  const tls = ensureKmipPki(config.kmip.tlsDir, config.kmip.hostnames);
  const pipeline = app.get(CallPipeline);
  const operations = new KmipOperations({
    pipeline,
    lifecycle: app.get(KeyLifecycleService),
    catalog: app.get(KeyCatalog),
    crypto: app.get(CryptoService),
    dual: app.get(DualAuthorization),
    options: { allowClearRegister: config.kmip.allowClearRegister },
  });
  const server = new KmipServer(operations, pipeline, {
    host: config.kmip.address.host,
    port: config.kmip.address.port,
    tls,
    limits: { ...DEFAULT_TTLV_LIMITS, maxMessageBytes: config.kmip.maxMessageBytes },
  });
  const port = await server.start();
  return { port, ca: tls.ca, stop: () => server.stop() };
}
