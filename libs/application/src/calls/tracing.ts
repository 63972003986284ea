import { type Attributes, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/** The KMS's tracer (a no-op until a tracer provider is registered, see @kms/platform startTracing). */
const tracer = trace.getTracer('open-kms');

/**
 * Run `work` inside a span (child of the current one): the RPC, its audit commit and its event
 * append form one trace. Errors mark the span failed with the KMS error code, never a message
 * that could carry request data.
 */
export function traced<T>(name: string, attributes: Attributes, work: () => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
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
