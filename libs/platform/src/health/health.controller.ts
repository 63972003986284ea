import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import type { ReadinessReport } from './health-check';
import { HealthRegistry, METRICS_REGISTRY } from './health-registry';

/** Liveness, readiness and Prometheus metrics over HTTP. */
@Controller()
export class HealthController {
  constructor(
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
  ) {}

  /** The process is up and serving HTTP; says nothing about dependencies (so it never restarts us for them). */
  @Get('healthz')
  @Header('Cache-Control', 'no-store')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * 200 when every registered check passes (status `degraded` when one reported so), else 503 with
   * the failing checks named. A readiness report, not an error: the same body either way.
   */
  @Get('readyz')
  @Header('Cache-Control', 'no-store')
  async readyz(@Res({ passthrough: true }) res: ServerResponse): Promise<ReadinessReport> {
    const report = await this.health.runAll();
    if (report.status === 'unavailable') res.statusCode = 503;
    return report;
  }

  /** Prometheus text format; the checks are run first so kms_health_check_up is current. */
  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  async scrape(): Promise<string> {
    await this.health.runAll();
    return this.metrics.metrics();
  }
}
