import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { startFakeOpenAi } from '../fakes/openai.fake.ts';
import type { FakeProvider } from '../fakes/provider-fakes.shared.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startProcess, startSystem, type RunningProcess, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

/** The largest number of [start, end] intervals that overlap at any instant. */
function maxOverlap(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([start, end]) => [
    [start, 1],
    [end, -1],
  ]);
  // Ends before starts at the same instant: a job that ended as another began did not overlap it.
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let open = 0;
  let max = 0;
  for (const [, delta] of edges) max = Math.max(max, (open += delta!));
  return max;
}

// Routing reads every active provider, so this file has a database of its own.
describe('BATCH_MAX_CONCURRENT across workers', () => {
  let scratch: ScratchDatabase;
  const env = testEnv({ BATCH_MAX_CONCURRENT: '2', WORKER_ENGINES: 'provider', PROVIDER_POLL_INTERVAL_MS: '20' });
  let system: RunningSystem;
  let second: RunningProcess | undefined;
  let core: Core;
  let admin: TestUser;
  let user: TestUser;
  let openai: FakeProvider;

  beforeAll(async () => {
    openai = await startFakeOpenAi();
    // Every image call takes a while, so jobs that may run together do.
    openai.delayMs = 400;
    scratch = await createScratchDatabase(env.DATABASE_URL!, 'provider_concurrency');
    env.DATABASE_URL = scratch.url;
    core = await testCore(env);
    [admin, user] = await Promise.all([createTestUser(core, 'admin'), createTestUser(core)]);
    system = await startSystem(env);
    second = await startProcess('workers/main.ts', env);
  });

  afterAll(async () => {
    await second?.stop();
    await system?.stop();
    await core?.close();
    await scratch?.drop();
    await openai?.close();
  });

  it('runs at most BATCH_MAX_CONCURRENT provider jobs at once over two workers that could each run two', async () => {
    const configured = await gql<{ configureProvider: { id: string } }, unknown>(
      system.url,
      `mutation ($input: ConfigureProviderInput!) { configureProvider(input: $input) { id } }`,
      { input: { type: 'OPENAI', name: 'concurrency-openai', apiKey: openai.apiKey, baseUrl: openai.url, isDefault: true } },
      admin.token,
    );
    expect(configured.errors).toBeUndefined();
    const providerId = configured.data!.configureProvider.id;
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const submitted = await gql<{ generateImage: { id: string } }, unknown>(
        system.url,
        `mutation ($input: GenerateImageInput!) { generateImage(input: $input) { id } }`,
        { input: { prompt: `concurrency ${i}`, width: 256, height: 256, providerId } },
        user.token,
      );
      expect(submitted.errors).toBeUndefined();
      ids.push(submitted.data!.generateImage.id);
    }
    for (const id of ids) expect((await waitForJob(system.url, user.token, id, undefined, 30_000)).status).toBe('COMPLETED');
    const jobs = await core.orm.em.fork().find(Job, { id: { $in: ids } });
    const overlap = maxOverlap(jobs.map((j) => [j.startedAt!.getTime(), j.finishedAt!.getTime()]));
    expect(overlap).toBeLessThanOrEqual(2);
    // And the cap is reached: the jobs did run two at a time, not one after another.
    expect(overlap).toBe(2);
  });
});
