import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { User } from '../../src/db/entities/user.entity.ts';
import { enqueueGeneration, queueJobId } from '../../src/queue/queue.producer.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const GENERATE = `mutation Gen($input: GenerateImageInput!) { generateImage(input: $input) { id status priority queuePosition etaSeconds } }`;
const CANCEL = `mutation Cancel($id: ID!) { cancelJob(id: $id) { id status } }`;
const RETRY = `mutation Retry($id: ID!) { retryJob(id: $id) { id status attempt } }`;
const DETAILS = `query Details($id: ID!) {
  job(id: $id) { id status progress attempt startedAt finishedAt queuedMs runMs stepDurationsMs error { code message } logs { level message } }
}`;

interface Details {
  id: string;
  status: string;
  progress: number;
  attempt: number;
  startedAt: string | null;
  finishedAt: string | null;
  queuedMs: number;
  runMs: number | null;
  stepDurationsMs: number[] | null;
  error: { code: string; message: string } | null;
  logs: { level: string; message: string }[];
}

describe('job control', () => {
  // One job at a time, so queue order is observable.
  const env = testEnv({ WORKER_CONCURRENCY: '1' });
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;

  const generate = async (input: Record<string, unknown>) => {
    const response = await gql<{ generateImage: { id: string; status: string; queuePosition: number | null; etaSeconds: number | null } }, unknown>(
      system.url,
      GENERATE,
      { input },
      user.token,
    );
    expect(response.errors).toBeUndefined();
    return response.data!.generateImage;
  };
  const details = async (id: string) => (await gql<{ job: Details }, unknown>(system.url, DETAILS, { id }, user.token)).data!.job;
  // Long enough to still be running when the test acts on it: four 2048² images of 150 steps.
  const longJob = () => generate({ prompt: 'a long render', width: 2048, height: 2048, steps: 150, numImages: 4, priority: 5 });
  const smallJob = (priority = 5) => generate({ prompt: 'a small render', width: 64, height: 64, steps: 3, priority });

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  it('records timings, step durations and the worker log of a finished job', async () => {
    const job = await generate({ prompt: 'timed', width: 64, height: 64, steps: 4, numImages: 2 });
    expect(job.queuePosition).toBeGreaterThanOrEqual(0);
    await waitForJob(system.url, user.token, job.id);
    const done = await details(job.id);
    expect(done.status).toBe('COMPLETED');
    expect(done.queuedMs).toBeGreaterThanOrEqual(0);
    expect(done.runMs).toBeGreaterThan(0);
    expect(done.stepDurationsMs).toHaveLength(8);
    expect(done.logs.map((l) => l.message)).toEqual([expect.stringMatching(/^Started on builtin/), expect.stringMatching(/^Completed in \d+ ms/)]);
  });

  it('cancels a queued job (it never runs), honours priority, stops a running job, and retries', async () => {
    const blocker = await longJob();
    await waitForJob(system.url, user.token, blocker.id, (j) => j.status === 'PROCESSING');

    const queued = await smallJob();
    const low = await smallJob(10);
    const high = await smallJob(1);
    expect(queued.status).toBe('QUEUED');

    const cancelledQueued = await gql<{ cancelJob: { status: string } }, unknown>(system.url, CANCEL, { id: queued.id }, user.token);
    expect(cancelledQueued.data!.cancelJob.status).toBe('CANCELLED');
    expect(await core.queues.get('builtin').getJob(queued.id)).toBeUndefined();

    const running = await waitForJob(system.url, user.token, blocker.id, (j) => j.progress > 0);
    expect(running.status).toBe('PROCESSING');
    const cancelledRunning = await gql<{ cancelJob: { status: string } }, unknown>(system.url, CANCEL, { id: blocker.id }, user.token);
    expect(cancelledRunning.data!.cancelJob.status).toBe('CANCELLED');

    // With one slot, the priority-1 job runs before the priority-10 one queued earlier.
    const [highDone, lowDone] = [await waitForJob(system.url, user.token, high.id), await waitForJob(system.url, user.token, low.id)];
    expect([highDone.status, lowDone.status]).toEqual(['COMPLETED', 'COMPLETED']);
    const [highDetails, lowDetails] = [await details(high.id), await details(low.id)];
    expect(new Date(highDetails.startedAt!).getTime()).toBeLessThan(new Date(lowDetails.startedAt!).getTime());

    // The running job stopped at its next step: it stays CANCELLED and its progress never moved again.
    const stopped = await details(blocker.id);
    expect(stopped.status).toBe('CANCELLED');
    expect(stopped.progress).toBeLessThan(100);
    expect(stopped.logs.some((l) => l.message === 'Stopped: cancelled')).toBe(true);
    const neverRan = await details(queued.id);
    expect(neverRan).toMatchObject({ status: 'CANCELLED', startedAt: null });

    const retried = await gql<{ retryJob: { status: string; attempt: number } }, unknown>(system.url, RETRY, { id: queued.id }, user.token);
    expect(retried.data!.retryJob).toMatchObject({ status: 'QUEUED', attempt: 1 });
    expect(await core.queues.get('builtin').getJob(queueJobId({ id: queued.id, attempt: 1 }))).toBeDefined();
    const rerun = await waitForJob(system.url, user.token, queued.id);
    expect(rerun.status).toBe('COMPLETED');
  });

  it('refuses to cancel or retry a job in the wrong state', async () => {
    const job = await smallJob();
    await waitForJob(system.url, user.token, job.id);
    const cancel = await gql(system.url, CANCEL, { id: job.id }, user.token);
    expect(cancel.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const retry = await gql(system.url, RETRY, { id: job.id }, user.token);
    expect(retry.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('fails a job that outruns its timeout with TIMEOUT and frees the worker slot', async () => {
    // The API accepts 30–300 s; a 1 s timeout is written straight to the row to keep the test short.
    const em = core.orm.em.fork();
    const job = em.create(Job, {
      kind: 'IMAGE',
      input: { prompt: 'too slow', negativePrompt: null, width: 2048, height: 2048, steps: 150, guidance: 7, seed: 1, numImages: 4 },
      priority: 1,
      timeoutSeconds: 1,
      owner: em.getReference(User, user.id),
    });
    await em.flush();
    await enqueueGeneration(core.queues, job);
    const failed = await waitForJob(system.url, user.token, job.id, undefined, 20_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toEqual({ code: 'TIMEOUT', message: 'Job exceeded its 1 s timeout' });
    const next = await smallJob(1);
    expect((await waitForJob(system.url, user.token, next.id, undefined, 20_000)).status).toBe('COMPLETED');
  });
});
