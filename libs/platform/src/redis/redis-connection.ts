import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { describeCheckError, withTimeout } from '../health/health-check';

/**
 * An ioredis client that connects and reconnects in the background. Boot does not wait for Redis:
 * an unreachable Redis makes /readyz fail instead of crashing the process. Errors are logged once per
 * distinct message, never with the URL (it may hold a password).
 */
export function createRedisConnection(url: string, connectionName: string): Redis {
  const logger = new Logger(connectionName);
  const client = new Redis(url, { connectionName });
  let lastError: string | undefined;
  client.on('error', (e: unknown) => {
    const message = describeCheckError(e);
    if (message !== lastError) logger.warn(`Redis unavailable: ${message}`);
    lastError = message;
  });
  client.on('ready', () => {
    if (lastError !== undefined) logger.log('Redis connection restored');
    lastError = undefined;
  });
  return client;
}

/** QUIT when connected (lets Redis finish replies), else drop the socket and stop reconnecting. */
export async function closeRedisConnection(client: Redis, timeoutMs = 2000): Promise<void> {
  if (client.status === 'ready') {
    try {
      await withTimeout(client.quit(), timeoutMs);
      return;
    } catch {
      // Fall through: the socket is unusable anyway.
    }
  }
  client.disconnect();
}
