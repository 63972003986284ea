import { z } from 'zod';
import { envVar } from './env-schema';

/** Logs and traces of every service. */
export interface ObservabilityConfig {
  /** KMS_LOG_LEVEL: debug, info (default), warn or error. */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** KMS_LOG_REDACT: extra comma-separated paths whose values never reach a log line (pino paths, e.g. `req.body.token`). */
  logRedact: string[];
  /** KMS_TRACING: `off` (default) or `otlp` (OpenTelemetry traces over OTLP/HTTP). */
  tracing: 'off' | 'otlp';
  /** OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: where traces go; the exporter's default (localhost:4318) when unset. */
  otlpEndpoint?: string;
}

export const observabilitySchema = z
  .object({
    KMS_LOG_LEVEL: envVar.choice('info', ['debug', 'info', 'warn', 'error'] as const),
    KMS_LOG_REDACT: envVar.text(''),
    KMS_TRACING: envVar.choice('off', ['off', 'otlp'] as const),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: envVar.url('http://localhost:4318/v1/traces', ['http:', 'https:']),
  })
  .transform(
    (v): ObservabilityConfig => ({
      logLevel: v.KMS_LOG_LEVEL,
      logRedact: v.KMS_LOG_REDACT.split(',')
        .map((p) => p.trim())
        .filter(Boolean),
      tracing: v.KMS_TRACING,
      otlpEndpoint: v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    }),
  );
