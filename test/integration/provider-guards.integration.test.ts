import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { GenerationCache } from '../../src/providers/provider.cache.ts';
import { CircuitBreaker, ProviderRateLimits } from '../../src/providers/provider.guards.ts';
import { testCore, testEnv } from '../helpers/env.ts';

describe('provider guards on the real Redis and schema on the real Postgres', () => {
  const env = testEnv();
  let core: Core;

  beforeAll(async () => {
    core = await testCore(env);
  });
  afterAll(async () => {
    await core?.close();
  });

  it('shares a provider rpm limit between two workers through Redis', async () => {
    const workerA = new ProviderRateLimits({ redis: core.redis, prefix: env.QUEUE_PREFIX! });
    const workerB = new ProviderRateLimits({ redis: core.redis, prefix: env.QUEUE_PREFIX! });
    expect(await workerA.take('p1', 2)).toBe(0);
    expect(await workerB.take('p1', 2)).toBe(0);
    const wait = await workerA.take('p1', 2);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60_000);
    expect(await workerB.take('p2', 2)).toBe(0);
    expect(await workerB.take('p1', null)).toBe(0);
  });

  it('opens a breaker after the threshold, shares it, and closes it on a success', async () => {
    const a = new CircuitBreaker({ redis: core.redis, prefix: env.QUEUE_PREFIX!, threshold: 2, cooldownMs: 60_000 });
    const b = new CircuitBreaker({ redis: core.redis, prefix: env.QUEUE_PREFIX!, threshold: 2, cooldownMs: 60_000 });
    expect(await a.failure('x')).toBe(false);
    expect(await b.isOpen('x')).toBe(false);
    expect(await b.failure('x')).toBe(true);
    expect(await a.isOpen('x')).toBe(true);
    await a.success('x');
    expect(await b.isOpen('x')).toBe(false);
  });

  it('makes two identical in-flight requests once, from two caches (two workers) sharing Redis', async () => {
    const options = { redis: core.redis, prefix: env.QUEUE_PREFIX!, dir: `${env.DATA_DIR}/cache`, ttlMs: 60_000, maxMemoryItems: 10 };
    const [a, b] = [new GenerationCache(options), new GenerationCache({ ...options, dir: `${env.DATA_DIR}/cache-b` })];
    let produced = 0;
    const produce = async () => {
      produced++;
      await new Promise((r) => setTimeout(r, 300));
      return { images: ['aGk='], extra: { n: produced } };
    };
    const signal = new AbortController().signal;
    const [first, second] = await Promise.all([a.getOrProduce('k1', produce, signal), b.getOrProduce('k1', produce, signal)]);
    expect(produced).toBe(1);
    expect([first.cached, second.cached].sort()).toEqual([false, true]);
    expect(second.value).toEqual(first.value);
    // A fresh process (empty memory) on the producer's disk finds it even after Redis lost it. Which of the two
    // caches produced is a race; the one whose answer was not cached did.
    await core.redis.del(`${env.QUEUE_PREFIX}:provider-cache:entry:k1`);
    const producerDir = first.cached ? `${env.DATA_DIR}/cache-b` : `${env.DATA_DIR}/cache`;
    expect(await new GenerationCache({ ...options, dir: producerDir }).peek('k1')).toEqual(first.value);
    expect(await a.stats()).toMatchObject({ hits: 1, misses: 1, hitRate: 0.5, size: 1 });
  });

  it('has migrations that match the provider entities', async () => {
    const sql = await core.orm.schema.getUpdateSchemaSQL({ wrap: false });
    const mine = sql.split('\n').filter((line) => /"provider(s|_attempts|_alerts)"/.test(line));
    expect(mine).toEqual([]);
    // The same filter finds the tables in the full schema, so an empty diff above means something.
    const all = (await core.orm.schema.getCreateSchemaSQL({ wrap: false })).split('\n').filter((line) => /"provider(s|_attempts|_alerts)"/.test(line));
    expect(all.length).toBeGreaterThan(3);
  });
});
