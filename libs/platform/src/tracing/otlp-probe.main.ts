// Test support: starts tracing with the OTLP/HTTP exporter at argv[2], records one span through the
// KMS's tracer and flushes. Run by tracing.e2e-spec.ts as its own process (the exporter loads
// modules dynamically, which jest's module sandbox does not allow).
import { traced } from '@kms/application';
import { startTracing } from './tracing';

async function main(): Promise<void> {
  const tracing = startTracing({ enabled: true, endpoint: process.argv[2], serviceName: 'kms-otlp-probe' });
  await traced('kms.rpc Probe', { 'rpc.method': 'Probe' }, async () => undefined);
  await tracing?.flush();
  await tracing?.shutdown();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
