import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'producer' | 'worker' | 'subscriber';

/**
 * Where Redis is: one server (`redis://` or `rediss://` URL, password and TLS included), or the seed nodes of a
 * Redis Cluster (REDIS_CLUSTER_NODES). Written as one string so it travels like a URL through the code that
 * passes it on; a cluster is `redis-cluster://` followed by the nodes' URLs, comma-separated.
 */
export const CLUSTER_SCHEME = 'redis-cluster://';

export function clusterTarget(nodes: string): string {
  return CLUSTER_SCHEME + nodes;
}

interface ClusterSettings {
  nodes: { host: string; port: number }[];
  redisOptions: RedisOptions;
}

/** Parses REDIS_CLUSTER_NODES: `redis://[:password@]host:port` or plain `host:port`; the first node's password and TLS apply to all. */
export function parseClusterNodes(list: string): ClusterSettings {
  const urls = list
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .map((n) => new URL(/^rediss?:\/\//.test(n) ? n : `redis://${n}`));
  if (!urls.length) throw new Error('REDIS_CLUSTER_NODES names no node');
  const first = urls[0]!;
  return {
    nodes: urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    redisOptions: {
      username: first.username ? decodeURIComponent(first.username) : undefined,
      password: first.password ? decodeURIComponent(first.password) : undefined,
      tls: first.protocol === 'rediss:' ? {} : undefined,
    },
  };
}

/**
 * Producers fail fast when Redis is down (a request should get an error, not hang); workers and
 * subscribers wait for Redis to come back (BullMQ's production guidance: maxRetriesPerRequest null).
 * A cluster gets ioredis's cluster client behind the same type: every key Atelier writes carries the
 * QUEUE_PREFIX hash tag, so each command (and BullMQ's scripts) stays within one slot.
 */
export function createRedis(url: string, role: RedisRole, options: RedisOptions = {}): Redis {
  const base: RedisOptions =
    role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  const settings: RedisOptions = {
    ...base,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    connectionName: `atelier-${role}`,
    ...options,
  };
  if (url.startsWith(CLUSTER_SCHEME)) {
    const { nodes, redisOptions } = parseClusterNodes(url.slice(CLUSTER_SCHEME.length));
    const { retryStrategy, enableOfflineQueue, ...perNode } = settings;
    const cluster = new Cluster(nodes, {
      redisOptions: { ...perNode, ...redisOptions },
      clusterRetryStrategy: retryStrategy,
      enableOfflineQueue: enableOfflineQueue ?? true,
      enableReadyCheck: true,
    });
    // The cluster client answers the same commands as a single-node client.
    return cluster as unknown as Redis;
  }
  return new Redis(url, settings);
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
