import { Inject, Module, ServiceUnavailableException, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
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

      const readyz = app.get(HealthController, { strict: false }).readyz();

      await expect(readyz).rejects.toBeInstanceOf(ServiceUnavailableException);
      const body = await readyz.catch((e: ServiceUnavailableException) => e.getResponse());
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
});
