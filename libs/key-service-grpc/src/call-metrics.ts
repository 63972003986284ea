import type { AuditFlush, CallObserver } from '@kms/application';
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

/**
 * The audit log's group commit on /metrics: `kms_audit_flush_duration_seconds` (from the flush's start
 * to its commit), `kms_audit_flushes_total{outcome}` (committed or failed: a failed flush refused every
 * call in it) and `kms_audit_flushed_rows_total`. Slow flushes are what every audited call waits for.
 */
export function auditFlushMetrics(registry: Registry): (flush: AuditFlush) => void {
  const duration = new Histogram({
    name: 'kms_audit_flush_duration_seconds',
    help: 'Audit group commits: time from a flush taking its records to its commit (or failure)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const flushes = new Counter({ name: 'kms_audit_flushes_total', help: 'Audit group commits by outcome (committed, failed)', labelNames: ['outcome'], registers: [registry] });
  const rows = new Counter({ name: 'kms_audit_flushed_rows_total', help: 'Audit rows committed by group commits (a batch call is one row)', registers: [registry] });
  return (flush) => {
    duration.observe(flush.seconds);
    flushes.inc({ outcome: flush.committed ? 'committed' : 'failed' });
    if (flush.committed) rows.inc(flush.rows);
  };
}
