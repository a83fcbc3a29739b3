import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import type { Core } from '../../src/core.ts';
import { GenerationCache } from '../../src/providers/provider.cache.ts';
import { CircuitBreaker } from '../../src/providers/provider.guards.ts';
import { createRedis, waitForRedis } from '../../src/queue/redis.connection.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { type LocalRedisCluster, startRedisCluster } from '../helpers/redis-cluster.ts';
import { createTestUser } from '../helpers/users.ts';

describe('Redis Cluster (three real redis-server nodes)', () => {
  let cluster: LocalRedisCluster;
  let core: Core;
  const prefix = `{atelier-${randomUUID().slice(0, 6)}}`;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    core = await testCore(testEnv({ REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodes, QUEUE_PREFIX: prefix }));
  });
  afterAll(async () => {
    await core?.close();
    await cluster?.stop();
  });

  it('refuses a cluster without a hash tag in QUEUE_PREFIX, and accepts one', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: cluster.nodes, QUEUE_PREFIX: 'atelier' })).toThrow(/must hold a hash tag, e.g. "\{atelier\}"/);
    expect(loadConfig({ REDIS_CLUSTER_NODES: cluster.nodes, QUEUE_PREFIX: '{atelier}' }).QUEUE_PREFIX).toBe('{atelier}');
    expect(() => loadConfig({ QUEUE_PREFIX: '{a}{b}' })).toThrow(/at most one/);
  });

  it('keys really spread over three nodes when untagged, so one hash tag is what keeps them together', async () => {
    const raw = createRedis(`redis-cluster://${cluster.nodes}`, 'worker');
    await waitForRedis(raw);
    const slots = new Set(await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => raw.call('cluster', 'keyslot', k) as Promise<number>)));
    expect(slots.size).toBeGreaterThan(1);
    const tagged = new Set(await Promise.all(['a', 'b', 'c'].map((k) => raw.call('cluster', 'keyslot', `${prefix}:${k}`) as Promise<number>)));
    expect(tagged.size).toBe(1);
    raw.disconnect();
  });

  it('queues, runs nothing across slots: submission, subscription events, the provider cache and breaker all work', async () => {
    const user = await createTestUser(core);
    const events = await core.pubsub.subscribe('jobs');
    const job = await core.jobs.createImageJob(core.orm.em.fork(), user.actor, { prompt: 'on a cluster' });
    const entry = await core.queues.of(job).getJob(job.id);
    expect(entry?.data).toEqual({ jobId: job.id });
    const event = await events.next();
    expect(event.value).toMatchObject({ jobId: job.id, status: 'QUEUED' });
    await events.return?.();

    const cache = new GenerationCache({ redis: core.redis, prefix, dir: `${core.config.dataDir}/cache`, ttlMs: 60_000, maxMemoryItems: 10 });
    await cache.put('k1', { images: ['aGk='], extra: {} });
    expect((await cache.stats()).size).toBe(1);

    const breaker = new CircuitBreaker({ redis: core.redis, prefix, threshold: 1, cooldownMs: 60_000 });
    expect(await breaker.failure('p1')).toBe(true);
    expect(await breaker.isOpen('p1')).toBe(true);
    await breaker.success('p1');
    expect(await breaker.isOpen('p1')).toBe(false);

    const now = new Date().toISOString();
    await core.workers.publish({
      id: 'box:1', host: 'box', pid: 1, engines: ['builtin'], executionProvider: null, executionProviderNote: null, gpus: [],
      system: { totalRam: 1, usedRam: 1, cpuPercent: 0 }, models: [], runningJobs: [], allocations: [], modelLoads: [], startedAt: now, lastHeartbeat: now,
    });
    expect((await core.workers.list()).map((w) => [w.id, w.status])).toEqual([['box:1', 'ONLINE']]);
  });
});
