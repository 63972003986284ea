import { Module } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { HealthController } from './health.controller';
import { HealthRegistry, METRICS_REGISTRY } from './health-registry';

/**
 * GET /healthz, /readyz and /metrics. A static module on purpose: however many feature modules import
 * it, Nest creates it once per application, so their checks land in one HealthRegistry.
 */
@Module({
  controllers: [HealthController],
  providers: [
    HealthRegistry,
    {
      provide: METRICS_REGISTRY,
      // One registry per application rather than prom-client's global one, so several apps in one
      // process (tests) do not collide on metric names.
      useFactory: (): Registry => {
        const registry = new Registry();
        collectDefaultMetrics({ register: registry });
        return registry;
      },
    },
  ],
  exports: [HealthRegistry, METRICS_REGISTRY],
})
export class HealthModule {}
