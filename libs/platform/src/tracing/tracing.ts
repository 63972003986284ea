import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';

export interface TracingSettings {
  /** Off by default: spans cost nothing until an exporter is configured. */
  enabled: boolean;
  /** OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces. */
  endpoint?: string;
  /** service.name of the spans (the app: kms-key-service, kms-standalone...). */
  serviceName: string;
}

export interface Tracing {
  /** Send what is buffered (tests, shutdown). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry traces, exported over OTLP/HTTP when enabled: a span per RPC (the call pipeline),
 * with its audit commit and event append as children. Without this the @opentelemetry/api tracer
 * the code uses is a no-op. `processors` replaces the exporter (tests use an in-memory one).
 */
export function startTracing(settings: TracingSettings, processors?: SpanProcessor[]): Tracing | undefined {
  if (!settings.enabled && !processors) return undefined;
  const spanProcessors = processors ?? [new BatchSpanProcessor(new OTLPTraceExporter(settings.endpoint ? { url: settings.endpoint } : {}))];
  const provider = new NodeTracerProvider({ spanProcessors, resource: resourceFromAttributes({ 'service.name': settings.serviceName }) });
  // Registers the AsyncLocalStorage context manager: a span started in a call is the parent of spans started under it.
  provider.register();
  return { flush: () => provider.forceFlush(), shutdown: () => provider.shutdown() };
}
