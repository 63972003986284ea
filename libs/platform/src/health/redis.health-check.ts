import { withTimeout, type HealthCheck } from './health-check';
import type { DependencyCheckOptions } from './postgres.health-check';

/** The part of an ioredis client the check needs. */
export interface PingableRedis {
  readonly status: string;
  ping(): Promise<string>;
}

// ioredis queues commands while it reconnects; in these states a PING would only wait for the timeout.
const DISCONNECTED = new Set(['reconnecting', 'close', 'end']);

/** Ready when `PING` answers in time; fails at once while the client is known to be disconnected. */
export function redisCheck(client: PingableRedis, options: DependencyCheckOptions = {}): HealthCheck {
  const timeoutMs = options.timeoutMs ?? 2000;
  return {
    name: options.name ?? 'redis',
    async check() {
      if (DISCONNECTED.has(client.status)) throw new Error(`not connected (${client.status})`);
      await withTimeout(client.ping(), timeoutMs);
    },
  };
}
