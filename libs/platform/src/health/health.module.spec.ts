import type { ServerResponse } from 'node:http';
import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Registry } from 'prom-client';
import { HealthController } from './health.controller';
import { HealthModule } from './health.module';
import { HealthRegistry } from './health-registry';

// Two feature modules that, like the real ones, each import HealthModule and register a check.
@Module({ imports: [HealthModule] })
class CacheFeatureModule implements OnModuleInit {
  constructor(@Inject(HealthRegistry) private readonly health: HealthRegistry) {}
  onModuleInit(): void {
    this.health.register({ name: 'cache.redis', check: async () => undefined });
  }
}

@Module({ imports: [HealthModule] })
class StoreFeatureModule implements OnModuleInit {
  constructor(@Inject(HealthRegistry) private readonly health: HealthRegistry) {}
  onModuleInit(): void {
    this.health.register({
      name: 'store.postgres',
      check: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:1');
      },
    });
  }
}

@Module({ imports: [HealthModule, CacheFeatureModule, StoreFeatureModule] })
class ComposedModule {}

describe('HealthModule composed from several feature modules', () => {
  it('aggregates every module’s checks into one /readyz that fails naming the broken one', async () => {
    const app = await NestFactory.createApplicationContext(ComposedModule, { logger: false, abortOnError: false });
    try {
      expect(app.get(HealthRegistry, { strict: false }).names()).toEqual(['cache.redis', 'store.postgres']);

      const res = { statusCode: 200 } as ServerResponse;
      const body = await app.get(HealthController, { strict: false }).readyz(res);

      expect(res.statusCode).toBe(503);
      expect(body).toEqual({
        status: 'unavailable',
        checks: [
          expect.objectContaining({ name: 'cache.redis', status: 'ok' }),
          expect.objectContaining({ name: 'store.postgres', status: 'failed', error: 'connect ECONNREFUSED 127.0.0.1:1' }),
        ],
      });
    } finally {
      await app.close();
    }
  });

  it('answers /readyz (no 503) with status degraded when a check only reports degraded', async () => {
    const registry = new HealthRegistry(new Registry());
    registry.register({ name: 'cache.redis', check: async () => undefined });
    registry.register({ name: 'notices.relay', check: async () => ({ degraded: 'broker unreachable, 4 notices waiting' }) });

    const res = { statusCode: 200 } as ServerResponse;
    const body = await new HealthController(registry, new Registry()).readyz(res);
    expect(res.statusCode).toBe(200);

    expect(body).toEqual({
      status: 'degraded',
      checks: [
        expect.objectContaining({ name: 'cache.redis', status: 'ok' }),
        expect.objectContaining({ name: 'notices.relay', status: 'degraded', reason: 'broker unreachable, 4 notices waiting' }),
      ],
    });
  });
});
