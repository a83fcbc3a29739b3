import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const CONCURRENCY = 2;
const IMAGE = { prompt: 'fair', width: 128, height: 128, steps: 4 };

async function batch(url: string, token: string, count: number) {
  const response = await gql<{ generateBatch: { jobs: { id: string }[] } }, unknown>(
    url,
    `mutation ($requests: [GenerateImageInput!]!) { generateBatch(requests: $requests) { jobs { id } } }`,
    { requests: Array.from({ length: count }, () => IMAGE) },
    token,
  );
  expect(response.errors).toBeUndefined();
  return response.data!.generateBatch.jobs.map((j) => j.id);
}

async function submit(url: string, token: string) {
  const response = await gql<{ generateImage: { id: string } }, unknown>(url, `mutation ($input: GenerateImageInput!) { generateImage(input: $input) { id } }`, { input: IMAGE }, token);
  expect(response.errors).toBeUndefined();
  return response.data!.generateImage.id;
}

describe('fair queues', () => {
  const env = testEnv({ WORKER_CONCURRENCY: String(CONCURRENCY) });
  let system: RunningSystem;
  let core: Core;
  let admin: TestUser;

  const rows = (ids: string[]) => core.orm.em.fork().find(Job, { id: { $in: ids } }, { fields: ['id', 'owner', 'createdAt', 'startedAt', 'status'] });

  beforeAll(async () => {
    core = await testCore(env);
    admin = await createTestUser(core, 'admin');
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  it("a user's one job waits behind at most the worker's concurrency of another user's backlog of 200", async () => {
    const [a, b] = await Promise.all([createTestUser(core), createTestUser(core)]);
    const backlog = [...(await batch(system.url, a.token, 100)), ...(await batch(system.url, a.token, 100))];
    // The backlog is being worked on when B arrives.
    await waitForJob(system.url, a.token, backlog[0]!, (j) => j.status !== 'QUEUED');
    const single = await submit(system.url, b.token);
    await waitForJob(system.url, b.token, single);
    const [bJob] = await rows([single]);
    const aJobs = await rows(backlog);
    const waitingWhenBCame = aJobs.filter((j) => !j.startedAt || j.startedAt > bJob!.createdAt);
    const startedBeforeB = waitingWhenBCame.filter((j) => j.startedAt && j.startedAt < bJob!.startedAt!);
    console.info(`fair queues: ${startedBeforeB.length} of A's ${waitingWhenBCame.length} waiting jobs started before B's (concurrency ${CONCURRENCY})`);
    // Not vacuous: most of A's backlog was still waiting when B's job came.
    expect(waitingWhenBCame.length).toBeGreaterThan(150);
    expect(startedBeforeB.length).toBeLessThanOrEqual(CONCURRENCY);
    await gql(system.url, `mutation { cancelJobs { id } }`, {}, a.token);
  }, 180_000);

  it('gives a user of weight 2 two turns to a weight-1 user\'s one', async () => {
    const [heavy, light] = await Promise.all([createTestUser(core), createTestUser(core)]);
    const weighted = await gql<{ setUserQueueWeight: number }, unknown>(system.url, `mutation ($u: ID!) { setUserQueueWeight(userId: $u, weight: 2) }`, { u: heavy.id }, admin.token);
    expect(weighted.data!.setUserQueueWeight).toBe(2);
    const refused = await gql(system.url, `mutation ($u: ID!) { setUserQueueWeight(userId: $u, weight: 2) }`, { u: heavy.id }, heavy.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Both backlogs are queued while the queue is paused, so only their places decide the order.
    await core.queues.get('builtin').pause();
    const heavyJobs = await batch(system.url, heavy.token, 20);
    const lightJobs = await batch(system.url, light.token, 20);
    await core.queues.get('builtin').resume();
    for (const id of [...heavyJobs, ...lightJobs]) await waitForJob(system.url, admin.token, id);
    const order = (await rows([...heavyJobs, ...lightJobs])).sort((x, y) => x.startedAt!.getTime() - y.startedAt!.getTime());
    const firstFifteen = order.slice(0, 15).filter((j) => j.owner.id === heavy.id).length;
    console.info(`weights: ${firstFifteen} of the first 15 jobs to start were the weight-2 user's`);
    expect(firstFifteen).toBeGreaterThanOrEqual(9);
    expect(firstFifteen).toBeLessThanOrEqual(11);
  }, 120_000);
});

describe('a cap on one user\'s running jobs', () => {
  const env = testEnv({ WORKER_CONCURRENCY: '3', MAX_RUNNING_JOBS_PER_USER: '1' });
  let system: RunningSystem;
  let core: Core;

  beforeAll(async () => {
    core = await testCore(env);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  it('runs one job of a user at a time even with free workers, and another user beside it', async () => {
    const [a, b] = await Promise.all([createTestUser(core), createTestUser(core)]);
    const aJobs = await batch(system.url, a.token, 4);
    const bJobs = await batch(system.url, b.token, 2);
    for (const id of [...aJobs, ...bJobs]) await waitForJob(system.url, aJobs.includes(id) ? a.token : b.token, id);
    const em = core.orm.em.fork();
    for (const jobs of [aJobs, bJobs]) {
      const done = (await em.find(Job, { id: { $in: jobs } })).sort((x, y) => x.startedAt!.getTime() - y.startedAt!.getTime());
      expect(done.every((j) => j.status === 'COMPLETED')).toBe(true);
      // Each of the user's jobs started only once the one before had finished.
      for (let i = 1; i < done.length; i++) expect(done[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(done[i - 1]!.finishedAt!.getTime());
    }
  });
});
