import { Inject, Injectable } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import { describeCheckError, type CheckResult, type HealthCheck, type ReadinessReport } from './health-check';

/** Injection token for the process's prom-client Registry (default metrics included). */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/**
 * The process's readiness checks. HealthModule holds one instance per Nest application, so checks
 * registered by any module that imports it are aggregated into the same /readyz and /metrics.
 */
@Injectable()
export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();
  private readonly up: Gauge;
  private readonly duration: Gauge;
  private readonly degraded: Gauge;

  constructor(@Inject(METRICS_REGISTRY) metrics: Registry) {
    this.up = new Gauge({
      name: 'kms_health_check_up',
      help: '1 if the readiness check passed (ok or degraded) when last run, 0 if it failed.',
      labelNames: ['check'],
      registers: [metrics],
    });
    this.degraded = new Gauge({
      name: 'kms_health_check_degraded',
      help: '1 if the readiness check passed but reported degraded when last run (still ready), else 0.',
      labelNames: ['check'],
      registers: [metrics],
    });
    this.duration = new Gauge({
      name: 'kms_health_check_duration_seconds',
      help: 'How long the readiness check took when last run.',
      labelNames: ['check'],
      registers: [metrics],
    });
  }

  /** Add a check. Names must be unique: two modules silently sharing one name would hide a failure. */
  register(check: HealthCheck): void {
    if (this.checks.has(check.name)) throw new Error(`health check "${check.name}" is already registered`);
    this.checks.set(check.name, check);
  }

  /** Names of the registered checks, in registration order. */
  names(): string[] {
    return [...this.checks.keys()];
  }

  /** Run every check concurrently and record the outcome in the metrics. */
  async runAll(): Promise<ReadinessReport> {
    const checks = await Promise.all([...this.checks.values()].map((c) => this.run(c)));
    const status = checks.some((c) => c.status === 'failed') ? 'unavailable' : checks.some((c) => c.status === 'degraded') ? 'degraded' : 'ok';
    return { status, checks };
  }

  private async run(check: HealthCheck): Promise<CheckResult> {
    const started = performance.now();
    let result: CheckResult;
    try {
      const outcome = await check.check();
      result = outcome
        ? { name: check.name, status: 'degraded', durationMs: elapsedMs(started), reason: describeCheckError(new Error(outcome.degraded)) }
        : { name: check.name, status: 'ok', durationMs: elapsedMs(started) };
    } catch (e) {
      result = { name: check.name, status: 'failed', durationMs: elapsedMs(started), error: describeCheckError(e) };
    }
    this.up.set({ check: check.name }, result.status === 'failed' ? 0 : 1);
    this.degraded.set({ check: check.name }, result.status === 'degraded' ? 1 : 0);
    this.duration.set({ check: check.name }, result.durationMs / 1000);
    return result;
  }
}

function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
