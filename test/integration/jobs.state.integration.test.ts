import { Worker, type Job as QueueJob } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { jobsRepository } from '../../src/jobs/jobs.repository.ts';
import { KIND_ENGINES, sourcesOf, TRANSITIONS } from '../../src/jobs/jobs.state.ts';
import type { JobEvent } from '../../src/pubsub/pubsub.ts';
import { GENERATION_JOB_NAMES, generationQueueName, type GenerationPayload } from '../../src/queue/queue.names.ts';
import { createRedis } from '../../src/queue/redis.connection.ts';
import { handlersByJobName, knownEngineFamilies, loadEngines } from '../../workers/engine.registry.ts';
import type { Engine } from '../../workers/engine.types.ts';
import { watchGiveUps } from '../../workers/job.giveup.ts';
import { createProcessor } from '../../workers/job.processor.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const quiet = pino({ level: 'silent' });

async function nextEvent(events: AsyncIterableIterator<JobEvent>, until: (e: JobEvent) => boolean): Promise<JobEvent[]> {
  const seen: JobEvent[] = [];
  for (;;) {
    const step = await events.next();
    if (step.done) return seen;
    seen.push(step.value);
    if (until(step.value)) return seen;
  }
}

describe('one owner of a job’s state (real Postgres, Redis and BullMQ)', () => {
  const env = testEnv();
  let core: Core;
  let other: Core;
  let user: TestUser;

  beforeAll(async () => {
    core = await testCore(env);
    // A second API process on the same database and Redis.
    other = await testCore(env);
    user = await createTestUser(core);
  });

  afterAll(async () => {
    await other?.close();
    await core?.close();
  });

  it('allows only the transitions in the table, and a final job cannot be written again', async () => {
    expect(sourcesOf('COMPLETED')).toEqual(['PROCESSING']);
    expect(sourcesOf('CANCELLED').sort()).toEqual(['PROCESSING', 'QUEUED']);
    expect(TRANSITIONS.COMPLETED).toEqual([]);
    const job = await core.jobs.createImageJob(core.orm.em.fork(), user.actor, { prompt: 'table' });
    const em = core.orm.em.fork();
    expect(await jobsRepository.cancel(em, job.id)).not.toBeNull();
    // CANCELLED → PROCESSING, CANCELLED → CANCELLED and CANCELLED → FAILED are not in the table.
    expect(await jobsRepository.start(em, job.id, 'builtin')).toBeNull();
    expect(await jobsRepository.cancel(em, job.id)).toBeNull();
    expect(await jobsRepository.fail(em, job.id, 'X', 'x')).toBeNull();
    expect((await core.orm.em.fork().findOneOrFail(Job, { id: job.id })).status).toBe('CANCELLED');
  });

  it('lists, for every kind, exactly the engine families whose engines run it', () => {
    const engines = loadEngines(knownEngineFamilies(), { core, threads: 1, log: quiet });
    for (const [kind, families] of Object.entries(KIND_ENGINES)) {
      const running = [...engines].filter(([, list]) => list.some((e) => e.jobNames.includes(GENERATION_JOB_NAMES[kind as Job['kind']]))).map(([f]) => f);
      expect([...families].sort(), kind).toEqual(running.sort());
    }
    return Promise.all([...engines.values()].flat().map((e) => e.close?.()));
  });

  it('refuses a kind the chosen engine cannot run, with BAD_USER_INPUT naming the engines that can', async () => {
    const refused = core.jobs.createVideoJob(core.orm.em.fork(), user.actor, { prompt: 'no provider video', engine: 'provider' });
    await expect(refused).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringMatching(/provider engine cannot run VIDEO jobs.*builtin, onnx, comfyui/),
    });
    const speech = core.jobs.createSpeechJob(core.orm.em.fork(), user.actor, { text: 'hello', engine: 'comfyui' });
    await expect(speech).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: expect.objectContaining({ field: 'engine' }) });
  });

  it('announces QUEUED before PROCESSING, and a job run by the processor ends COMPLETED with its assets stored', async () => {
    const all = await core.pubsub.subscribe('jobs');
    try {
      const job = await core.jobs.createImageJob(core.orm.em.fork(), user.actor, { prompt: 'in order', width: 64, height: 64, steps: 2 });
      const engine: Engine = {
        name: 'builtin',
        jobNames: [GENERATION_JOB_NAMES.IMAGE],
        async run(run) {
          run.progress(0.5, 'half');
          return { assets: [await run.saveAsset({ kind: 'IMAGE', mime: 'image/png', extension: 'png', data: Buffer.from('png') })] };
        },
      };
      const processJob = createProcessor(core, handlersByJobName([engine]), quiet);
      await processJob({ id: job.id, name: GENERATION_JOB_NAMES.IMAGE, data: { jobId: job.id } } as unknown as QueueJob<GenerationPayload>);
      const seen = (await nextEvent(all, (e) => e.jobId === job.id && e.status === 'COMPLETED')).filter((e) => e.jobId === job.id);
      expect(seen.map((e) => e.status)).toEqual(['QUEUED', 'PROCESSING', 'PROCESSING', 'COMPLETED']);
      const row = await core.orm.em.fork().findOneOrFail(Job, { id: job.id });
      const assets = await core.assets.listJobAssets(core.orm.em.fork(), [job.id]);
      expect(row.result!.assetIds).toEqual(assets.map((a) => a.id));
    } finally {
      await all.return?.();
    }
  });

  it('runs the start statement in a caller’s transaction, which can roll it back', async () => {
    const job = await core.jobs.createImageJob(core.orm.em.fork(), user.actor, { prompt: 'in a transaction' });
    const em = core.orm.em.fork();
    await em.begin();
    const started = await jobsRepository.start(em, job.id, 'builtin', { worker: 'box-t:1', startLine: 'Started on builtin' });
    expect(started?.row).toMatchObject({ id: job.id, status: 'PROCESSING' });
    await em.rollback();
    expect(await core.orm.em.fork().findOneOrFail(Job, { id: job.id })).toMatchObject({ status: 'QUEUED', workerId: null });
    // Outside one, the same statement (prepared on the pool) commits.
    await jobsRepository.start(core.orm.em.fork(), job.id, 'builtin', { worker: 'box-t:2' });
    expect(await core.orm.em.fork().findOneOrFail(Job, { id: job.id })).toMatchObject({ status: 'PROCESSING', workerId: 'box-t:2' });
  });

  it('fails the row, with a clear code and an event, when BullMQ gives up on its queue entry', async () => {
    const job = await core.jobs.createImageJob(core.orm.em.fork(), user.actor, { prompt: 'given up' });
    const queue = core.queues.get('builtin');
    // The entry as BullMQ would hold it after its attempts: one left, and it fails outside our processor.
    await queue.remove(job.id);
    await queue.add(GENERATION_JOB_NAMES.IMAGE, { jobId: job.id }, { jobId: job.id, attempts: 1 });
    const watcher = watchGiveUps(core, ['builtin'], quiet, 50);
    const events = await core.pubsub.subscribe('job', job.id);
    const worker = new Worker(
      generationQueueName('builtin'),
      async () => {
        throw new Error('the database went away');
      },
      { connection: createRedis(env.REDIS_URL!, 'worker'), prefix: core.config.QUEUE_PREFIX },
    );
    try {
      const seen = await nextEvent(events, (e) => e.status === 'FAILED');
      expect(seen.at(-1)).toMatchObject({ status: 'FAILED', errorCode: 'RETRIES_EXHAUSTED' });
      const row = await core.orm.em.fork().findOneOrFail(Job, { id: job.id });
      expect(row).toMatchObject({ status: 'FAILED', errorCode: 'RETRIES_EXHAUSTED' });
      expect(row.errorMessage).toMatch(/the database went away/);

      // Retried since: a watcher that starts now still finds the old entry in the failed set, and leaves the retry be.
      await worker.close();
      const retried = await core.jobs.retryJob(core.orm.em.fork(), user.actor, job.id);
      expect([retried.status, retried.attempt]).toEqual(['QUEUED', 1]);
      const restarted = watchGiveUps(core, ['builtin'], quiet, 60_000);
      await restarted.check();
      await restarted.stop();
      expect(await core.orm.em.fork().findOneOrFail(Job, { id: job.id })).toMatchObject({ status: 'QUEUED', attempt: 1 });
      expect(await queue.getJobState(job.id)).toBe('failed');
    } finally {
      await events.return?.();
      await worker.close();
      await watcher.stop();
    }
  });

  it('fails a job that ran again after a stall (a later attempt of the same entry) when BullMQ gives that entry up', async () => {
    const job = await core.jobs.createImageJob(core.orm.em.fork(), user.actor, { prompt: 'stalled twice' });
    // Two runs of the one queue entry: the second finds the row PROCESSING, so it is attempt 2 (attempt index 1).
    await core.lifecycle.start(core.orm.em.fork(), job.id, 'builtin', 'box-s:1');
    expect((await core.lifecycle.start(core.orm.em.fork(), job.id, 'builtin', 'box-s:2'))!.attempt).toBe(1);
    const queue = core.queues.get('builtin');
    await queue.remove(job.id);
    await queue.add(GENERATION_JOB_NAMES.IMAGE, { jobId: job.id }, { jobId: job.id, attempts: 1 });
    const worker = new Worker(
      generationQueueName('builtin'),
      async () => {
        // BullMQ's own words when a job stalls more often than allowed.
        throw new Error('job stalled more than allowable limit');
      },
      { connection: createRedis(env.REDIS_URL!, 'worker'), prefix: core.config.QUEUE_PREFIX },
    );
    const watcher = watchGiveUps(core, ['builtin'], quiet, 60_000);
    try {
      await new Promise<void>((resolve) => worker.on('failed', () => resolve()));
      await watcher.check();
      expect(await core.orm.em.fork().findOneOrFail(Job, { id: job.id })).toMatchObject({ status: 'FAILED', errorCode: 'STALLED', attempt: 1 });
    } finally {
      await worker.close();
      await watcher.stop();
    }
  });

  it('a revoked API key is refused by every API process once the change is announced, though each had it cached', async () => {
    const { apiKey, secret } = await core.auth.createApiKey(core.orm.em.fork(), user.actor, { name: 'cached' });
    const header = `Bearer ${secret}`;
    // The other process reads the key once and keeps it.
    expect((await other.auth.authenticate(other.orm.em.fork(), header))!.userId).toBe(user.id);
    const heard = await other.pubsub.subscribe('authChanged');
    try {
      await core.auth.revokeApiKey(core.orm.em.fork(), user.actor, apiKey.id);
      expect((await heard.next()).value).toMatchObject({ keyHash: expect.any(String) });
      // The cache's own listener runs before ours; one turn of the event loop lets it finish.
      await new Promise((resolve) => setImmediate(resolve));
      await expect(other.auth.authenticate(other.orm.em.fork(), header)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      await heard.return?.();
    }
  });

  it('a JWT is checked against the cached user, not read per request', async () => {
    const em = core.orm.em.fork();
    const first = await core.auth.authenticate(em, `Bearer ${user.token}`);
    expect(first!.userId).toBe(user.id);
    // The row changes behind the cache's back (no announcement): the cached user still answers.
    await core.orm.em.fork().getConnection().execute(`update users set username = username || '-renamed' where id = ?`, [user.id]);
    expect((await core.auth.authenticate(core.orm.em.fork(), `Bearer ${user.token}`))!.username).toBe(user.username);
    // Announced, the change is seen at once.
    await core.auth.cache.changed({ userId: user.id });
    expect((await core.auth.authenticate(core.orm.em.fork(), `Bearer ${user.token}`))!.username).toBe(`${user.username}-renamed`);
  });
});
