import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { Provider, ProviderAttempt } from '../../src/db/entities/provider.entity.ts';
import { ProviderRunner } from '../../src/providers/provider.runner.ts';
import type { FakeProvider } from '../fakes/provider-fakes.shared.ts';
import { startFakeStableDiffusion } from '../fakes/stable-diffusion.fake.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

describe('provider runner on the real Postgres and Redis', () => {
  const env = testEnv({ BATCH_RETRY_DELAY: '0.01', PROVIDER_POLL_INTERVAL_MS: '10' });
  let core: Core;
  let user: TestUser;
  let sd: FakeProvider;
  let providerId: string;

  beforeAll(async () => {
    sd = await startFakeStableDiffusion();
    core = await testCore(env);
    user = await createTestUser(core);
    const provider = await core.providers.configure(core.orm.em.fork(), { type: 'STABLE_DIFFUSION', name: `runner-${env.QUEUE_PREFIX}`, apiKey: sd.apiKey, baseUrl: sd.url });
    providerId = provider.id;
  });

  afterAll(async () => {
    await core?.orm.em.fork().nativeDelete(Provider, { id: providerId });
    await core?.close();
    await sd?.close();
  });

  it('does not call or charge again when the same job runs a second time (a worker died after paying)', async () => {
    const em = core.orm.em.fork();
    const job = await core.jobs.createImageJob(em, user.actor, { prompt: 'once only', providerId, numImages: 2 });
    expect(job.engine).toBe('provider');
    const runner = new ProviderRunner(core.providers, (fn) => fn());
    // Each run starts the job as a worker does, so the second (the row still PROCESSING) is a new attempt.
    const runOnce = async () => {
      const runEm = core.orm.em.fork();
      const row = (await core.lifecycle.start(runEm, job.id, 'provider'))!;
      return runner.run({ job: row, em: runEm, signal: new AbortController().signal, progress: () => undefined, note: () => undefined, saveAsset: (asset) => core.lifecycle.saveAsset(runEm, row, asset) });
    };
    const first = await runOnce();
    const second = await runOnce();
    expect((await core.orm.em.fork().findOneOrFail(Job, { id: job.id })).attempt).toBe(1);
    expect(sd.generations).toBe(1);
    expect(first.assets).toHaveLength(2);
    expect(second.assets).toHaveLength(2);
    const attempts = await core.orm.em.fork().find(ProviderAttempt, { job: job.id });
    expect(attempts.map((a) => [a.outcome, Number(a.cost)])).toEqual([['SUCCESS', 0.0134]]);
    // The runner hands the cost back (engines never write jobs); the processor stores it.
    expect(first.cost).toBeCloseTo(0.0134, 6);
    expect(second.cost).toBeCloseTo(0.0134, 6);
  });
});
