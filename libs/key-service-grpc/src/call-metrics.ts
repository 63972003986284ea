import type { CallObserver } from '@kms/application';
import { Logger } from '@nestjs/common';
import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * Per-RPC counters and latency histograms on /metrics: `kms_rpc_calls_total{rpc,code}` and
 * `kms_rpc_duration_seconds{rpc}` (code is OK or the KMS error code the caller got; the audit log
 * has the who and the what).
 */
export function rpcMetrics(registry: Registry): CallObserver {
  const calls = new Counter({ name: 'kms_rpc_calls_total', help: 'KMS calls by RPC and outcome code', labelNames: ['rpc', 'code'], registers: [registry] });
  const duration = new Histogram({
    name: 'kms_rpc_duration_seconds',
    help: 'KMS call latency, audit record included',
    labelNames: ['rpc'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // One debug line per call; the structured logger adds its request id, RPC and caller.
  const log = new Logger('kms-rpc');
  return {
    observe(operation, code, seconds) {
      calls.inc({ rpc: operation, code });
      duration.observe({ rpc: operation }, seconds);
      log.debug({ msg: 'call answered', code, ms: Math.round(seconds * 1e4) / 10 });
    },
  };
}
