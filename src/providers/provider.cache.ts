import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { sleep } from './provider.http.ts';

/** A generation worth keeping: the image bytes (base64) and what the job records about them. */
export interface CachedGeneration {
  images: string[];
  extra: Record<string, unknown>;
}

export interface CacheStats {
  hits: number;
  misses: number;
  hitRate: number;
  size: number;
}

/**
 * Generated images by normalised request: this process's memory, then Redis (shared by all workers),
 * then disk (survives a Redis flush). In-flight requests for one key are made once: the first takes a
 * Redis lock and generates, the others wait for its entry.
 */
export class GenerationCache {
  private readonly memory: LRUCache<string, CachedGeneration>;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly dir: string;
  private readonly ttlMs: number;

  constructor(deps: { redis: Redis; prefix: string; dir: string; ttlMs: number; maxMemoryItems: number }) {
    this.redis = deps.redis;
    this.prefix = `${deps.prefix}:provider-cache`;
    this.dir = deps.dir;
    this.ttlMs = deps.ttlMs;
    this.memory = new LRUCache({ max: deps.maxMemoryItems, ttl: deps.ttlMs });
  }

  private file(key: string) {
    return path.join(this.dir, `${key}.json`);
  }

  /** Looks a key up through the three layers, filling the faster ones on the way back. */
  async peek(key: string): Promise<CachedGeneration | null> {
    const inMemory = this.memory.get(key);
    if (inMemory) return inMemory;
    const inRedis = await this.redis.get(`${this.prefix}:entry:${key}`);
    if (inRedis) {
      const value = JSON.parse(inRedis) as CachedGeneration;
      this.memory.set(key, value);
      return value;
    }
    const onDisk = await readFile(this.file(key), 'utf8').catch(() => null);
    if (onDisk) {
      const { expiresAt, value } = JSON.parse(onDisk) as { expiresAt: number; value: CachedGeneration };
      if (expiresAt > Date.now()) {
        this.memory.set(key, value);
        await this.redis.set(`${this.prefix}:entry:${key}`, JSON.stringify(value), 'PX', expiresAt - Date.now());
        return value;
      }
      await rm(this.file(key), { force: true });
    }
    return null;
  }

  async put(key: string, value: CachedGeneration): Promise<void> {
    const expiresAt = Date.now() + this.ttlMs;
    this.memory.set(key, value);
    // Two commands, not a MULTI: on a Redis Cluster the two keys may live on two nodes. The index only counts
    // entries for the stats, and drops expired ones itself, so an entry missing from it for a moment is harmless.
    await this.redis.set(`${this.prefix}:entry:${key}`, JSON.stringify(value), 'PX', this.ttlMs);
    await this.redis.zadd(`${this.prefix}:index`, expiresAt, key);
    await mkdir(this.dir, { recursive: true });
    await writeFile(this.file(key), JSON.stringify({ expiresAt, value }));
  }

  /**
   * Keeps a value in Redis only, for an hour (not counted in the stats, not on disk): a job's own result,
   * for a re-run of the same job after its worker died between paying and saving.
   */
  async remember(key: string, value: CachedGeneration): Promise<void> {
    await this.redis.set(`${this.prefix}:entry:${key}`, JSON.stringify(value), 'PX', Math.min(this.ttlMs, 3_600_000));
  }

  /** The cached value, or the one `produce` makes; a concurrent caller with the same key waits for it. */
  async getOrProduce(key: string, produce: () => Promise<CachedGeneration>, signal: AbortSignal): Promise<{ value: CachedGeneration; cached: boolean }> {
    let counted = false;
    const count = async (field: 'hits' | 'misses') => {
      if (counted) return;
      counted = true;
      await this.redis.hincrby(`${this.prefix}:stats`, field, 1);
    };
    const lockKey = `${this.prefix}:lock:${key}`;
    for (;;) {
      const hit = await this.peek(key);
      if (hit) {
        await count('hits');
        return { value: hit, cached: true };
      }
      const token = randomUUID();
      // Longer than any job may run (300 s), so a lock outlives its holder only if the holder died.
      if (await this.redis.set(lockKey, token, 'PX', 330_000, 'NX')) {
        await count('misses');
        try {
          const value = await produce();
          await this.put(key, value);
          return { value, cached: false };
        } finally {
          if ((await this.redis.get(lockKey)) === token) await this.redis.del(lockKey);
        }
      }
      await sleep(100, signal);
    }
  }

  async stats(): Promise<CacheStats> {
    const [stats, , size] = await Promise.all([
      this.redis.hgetall(`${this.prefix}:stats`),
      this.redis.zremrangebyscore(`${this.prefix}:index`, 0, Date.now()),
      this.redis.zcount(`${this.prefix}:index`, Date.now(), '+inf'),
    ]);
    const hits = Number(stats.hits ?? 0);
    const misses = Number(stats.misses ?? 0);
    return { hits, misses, hitRate: hits + misses ? hits / (hits + misses) : 0, size };
  }
}
