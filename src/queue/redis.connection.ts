import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'producer' | 'worker' | 'subscriber';

/**
 * Producers fail fast when Redis is down (a request should get an error, not hang); workers and
 * subscribers wait for Redis to come back (BullMQ's production guidance: maxRetriesPerRequest null).
 */
export function createRedis(url: string, role: RedisRole, options: RedisOptions = {}): Redis {
  const base: RedisOptions =
    role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  return new Redis(url, {
    ...base,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    connectionName: `atelier-${role}`,
    ...options,
  });
}

/** Resolves once the connection is ready, rejecting after `timeoutMs` with Redis's own last error. */
export function waitForRedis(redis: Redis, timeoutMs = 15_000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (error: Error) => (lastError = error);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not reachable after ${timeoutMs} ms${lastError ? `: ${lastError.message}` : ''}`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}
