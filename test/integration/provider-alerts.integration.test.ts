import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { type AttemptOutcome, Provider, ProviderAlert, ProviderAttempt } from '../../src/db/entities/provider.entity.ts';
import { User } from '../../src/db/entities/user.entity.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { createTestUser } from '../helpers/users.ts';

describe('provider alerts from recorded attempts', () => {
  const env = testEnv({ ALERT_HIGH_FAILURE_RATE: '0.2', ALERT_SLOW_RESPONSE_TIME: '30' });
  let core: Core;
  let provider: Provider;
  let jobId: string;

  beforeAll(async () => {
    core = await testCore(env);
    const user = await createTestUser(core);
    const em = core.orm.em.fork();
    provider = await core.providers.configure(em, { type: 'STABLE_DIFFUSION', name: `alerts-${env.QUEUE_PREFIX}`, apiKey: 'sd-alerts-key-0000', isActive: false });
    const job = em.create(Job, { kind: 'IMAGE', input: {}, engine: 'provider', owner: em.getReference(User, user.id) });
    await em.flush();
    jobId = job.id;
  });

  afterAll(async () => {
    await core?.orm.em.fork().nativeDelete(Provider, { id: provider?.id });
    await core?.close();
  });

  const attempts = async (outcomes: [AttemptOutcome, number][]) => {
    const em = core.orm.em.fork();
    for (const [i, [outcome, latencyMs]] of outcomes.entries()) {
      em.create(ProviderAttempt, { job: jobId, provider: provider.id, providerName: provider.name, attemptNo: i + 1, outcome, latencyMs, cost: 0 });
    }
    await em.flush();
  };
  const kinds = async () => (await core.orm.em.fork().find(ProviderAlert, { provider: provider.id })).map((a) => a.kind).sort();

  it('stays quiet under five calls, then alerts on a high failure rate and on slow answers, once each', async () => {
    await attempts([
      ['SERVER_ERROR', 100],
      ['TIMEOUT', 100],
      ['SUCCESS', 20_000],
    ]);
    await core.providers.checkPerformance(core.orm.em.fork(), provider);
    expect(await kinds()).toEqual([]);
    await attempts([
      ['SUCCESS', 50_000],
      ['SERVER_ERROR', 100],
      ['SKIPPED_CIRCUIT_OPEN', 0],
    ]);
    await core.providers.checkPerformance(core.orm.em.fork(), provider);
    await core.providers.checkPerformance(core.orm.em.fork(), provider);
    expect(await kinds()).toEqual(['HIGH_FAILURE_RATE', 'SLOW_RESPONSE']);
    const perf = await core.providers.performance(core.orm.em.fork(), provider.id, 1);
    expect(perf).toMatchObject({ attempts: 5, successes: 2, successRate: 0.4, p50LatencyMs: 35_000, jobs: 1 });
  });
});
