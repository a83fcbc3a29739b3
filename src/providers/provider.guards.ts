import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * A circuit breaker per provider in Redis, so every worker sees the same state: after `threshold`
 * failures in a row the provider is cooled down for `cooldownMs`; the first call after that is a probe
 * whose failure opens it again at once and whose success closes it.
 */
export class CircuitBreaker {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly threshold: number;
  private readonly cooldownMs: number;

  constructor(deps: { redis: Redis; prefix: string; threshold: number; cooldownMs: number }) {
    this.redis = deps.redis;
    this.prefix = `${deps.prefix}:provider-breaker`;
    this.threshold = deps.threshold;
    this.cooldownMs = deps.cooldownMs;
  }

  async isOpen(providerId: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}:${providerId}:open`)) === 1;
  }

  /** Returns true when this failure opened the breaker. */
  async failure(providerId: string): Promise<boolean> {
    const failures = await this.redis.incr(`${this.prefix}:${providerId}:failures`);
    if (failures < this.threshold) return false;
    const opened = await this.redis.set(`${this.prefix}:${providerId}:open`, String(Date.now()), 'PX', Math.round(this.cooldownMs), 'NX');
    return opened === 'OK';
  }

  async success(providerId: string): Promise<void> {
    // One key per command: on a Redis Cluster two keys may live on two nodes.
    await Promise.all([this.redis.del(`${this.prefix}:${providerId}:failures`), this.redis.del(`${this.prefix}:${providerId}:open`)]);
  }
}

/** Requests per minute per provider, counted in Redis so the limit holds across all workers. */
export class ProviderRateLimits {
  private readonly limiters = new Map<string, RateLimiterRedis>();
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(deps: { redis: Redis; prefix: string }) {
    this.redis = deps.redis;
    this.prefix = deps.prefix;
  }

  /** 0 when a request may go now, else the milliseconds until one may. */
  async take(providerId: string, rpm: number | null): Promise<number> {
    if (!rpm) return 0;
    const id = `${providerId}:${rpm}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterRedis({ storeClient: this.redis, keyPrefix: `${this.prefix}:provider-rpm:${rpm}`, points: rpm, duration: 60 });
      this.limiters.set(id, limiter);
    }
    try {
      await limiter.consume(providerId, 1);
      return 0;
    } catch (rejected) {
      if (rejected instanceof RateLimiterRes) return Math.max(1, rejected.msBeforeNext);
      throw rejected;
    }
  }
}
