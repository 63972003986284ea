import type { ObservabilityConfig } from '@kms/config';
import { startTracing, type Tracing } from '../tracing/tracing';
import { installStructuredLogger, type StructuredLogger } from './structured-logger';

/**
 * Every service's first step after reading its configuration: structured JSON logs through pino for
 * every Nest logger of the process, and OpenTelemetry traces when KMS_TRACING=otlp.
 */
export function startObservability(config: ObservabilityConfig, service: string): { logger: StructuredLogger; tracing?: Tracing } {
  const logger = installStructuredLogger({ level: config.logLevel, redact: config.logRedact, service });
  const tracing = startTracing({ enabled: config.tracing === 'otlp', ...(config.otlpEndpoint ? { endpoint: config.otlpEndpoint } : {}), serviceName: service });
  return { logger, ...(tracing ? { tracing } : {}) };
}
