import { type Attributes, ProxyTracerProvider, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/** The KMS's tracer (a no-op until a tracer provider is registered, see @kms/platform startTracing). */
const tracer = trace.getTracer('open-kms');

/** What a ProxyTracerProvider delegates to before any provider is registered: the API's no-op provider. */
const NO_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * Whether spans go anywhere. Unless tracing is started, a span is a no-op object, but making one
 * still costs a context, a closure and a promise per call on the hot path; then `traced` just runs.
 */
function tracing(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NO_PROVIDER;
}

/**
 * Run `work` inside a span (child of the current one): the RPC, its audit commit and its event
 * append form one trace. Errors mark the span failed with the KMS error code, never a message
 * that could carry request data.
 */
export function traced<T>(name: string, attributes: Attributes, work: () => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  if (!tracing()) {
    try {
      return work();
    } catch (e) {
      // As inside a span: a synchronous throw reaches the caller as a rejection.
      return Promise.reject(e as Error);
    }
  }
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work();
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'error' });
      throw e;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };
