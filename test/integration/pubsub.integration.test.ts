import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import type { JobEvent } from '../../src/pubsub/pubsub.ts';
import { AppError } from '../../src/services/errors.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

/** The next item of an async iterator, or a failure after `ms` (so a missing event fails instead of hanging). */
async function nextWithin<T>(iterator: AsyncIterator<T>, ms = 5000): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([iterator.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves true when the iterator yields something within `ms`, false when it stays silent. */
async function yieldsWithin<T>(iterator: AsyncIterator<T>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const next = iterator.next().then(() => true);
  try {
    return await Promise.race([next, silent]);
  } finally {
    clearTimeout(timer);
  }
}

async function drainAll<T>(iterator: AsyncIterator<T>, ms = 5000): Promise<T[]> {
  const items: T[] = [];
  for (;;) {
    const step = await nextWithin(iterator, ms);
    if (step.done) return items;
    items.push(step.value);
  }
}

const event = (overrides: Partial<JobEvent> = {}): JobEvent => ({
  jobId: randomUUID(),
  ownerId: randomUUID(),
  kind: 'IMAGE',
  status: 'PROCESSING',
  progress: 10,
  message: 'working',
  result: null,
  errorCode: null,
  errorMessage: null,
  batchId: null,
  queuePosition: null,
  etaSeconds: null,
  at: new Date().toISOString(),
  ...overrides,
});

describe('PubSub across two cores (two Redis connections, as two processes)', () => {
  // One environment, so both cores use the same channel prefix, as an API and a worker do.
  const env = testEnv();
  let api: Core;
  let worker: Core;
  let user: TestUser;
  let stranger: TestUser;

  const channel = (jobId: string) => `${api.config.QUEUE_PREFIX}:events:job:${jobId}`;
  const subscribers = async (name: string) => {
    const [, count] = (await worker.redis.call('PUBSUB', 'NUMSUB', name)) as [string, number];
    return Number(count);
  };

  beforeAll(async () => {
    [api, worker] = await Promise.all([testCore(env), testCore(env)]);
    [user, stranger] = await Promise.all([createTestUser(api), createTestUser(api)]);
  });

  afterAll(async () => {
    await Promise.all([api?.close(), worker?.close()]);
  });

  describe('publish and subscribe', () => {
    it('delivers an event published on one core to a subscriber on the other, intact', async () => {
      const sent = event({ result: { assetIds: ['a'], urls: ['http://x/files/a'], seeds: [1] }, message: 'é ✓ "quoted"' });
      const events = await api.pubsub.subscribe('job', sent.jobId);
      try {
        await worker.pubsub.publish('job', sent.jobId, sent);
        const step = await nextWithin(events);
        expect(step.done).toBe(false);
        expect(step.value).toEqual(sent);
      } finally {
        await events.return?.();
      }
    });

    it('is subscribed in Redis as soon as subscribe() resolves', async () => {
      const jobId = randomUUID();
      expect(await subscribers(channel(jobId))).toBe(0);
      const events = await api.pubsub.subscribe('job', jobId);
      try {
        expect(await subscribers(channel(jobId))).toBe(1);
      } finally {
        await events.return?.();
      }
    });

    it('makes a second subscriber wait for Redis to confirm a subscription that is still in flight', async () => {
      // watchJob reads its snapshot once subscribe() resolves; two watchers of one job (two browser tabs)
      // subscribe at the same moment, and the second must not read before Redis listens, or it can miss
      // the final event and never end.
      const jobId = randomUUID();
      let firstConfirmed = false;
      const first = api.pubsub.subscribe('job', jobId).then((events) => {
        firstConfirmed = true;
        return events;
      });
      const second = await api.pubsub.subscribe('job', jobId);
      // Only microtasks from here on: no I/O runs, so Redis's reply cannot arrive meanwhile.
      for (let i = 0; i < 20; i++) await Promise.resolve();
      const confirmedWhenSecondResolved = firstConfirmed;
      await (await first).return?.();
      await second.return?.();
      expect(confirmedWhenSecondResolved).toBe(true);
    });

    it('keeps events apart by key, and keeps their order', async () => {
      const jobId = randomUUID();
      const events = await api.pubsub.subscribe('job', jobId);
      try {
        await worker.pubsub.publish('job', randomUUID(), event({ progress: 99 }));
        for (let progress = 1; progress <= 5; progress++) await worker.pubsub.publish('job', jobId, event({ jobId, progress }));
        const received: number[] = [];
        for (let i = 0; i < 5; i++) received.push((await nextWithin(events)).value!.progress);
        expect(received).toEqual([1, 2, 3, 4, 5]);
        expect(await yieldsWithin(events, 150)).toBe(false);
      } finally {
        await events.return?.();
      }
    });

    it('buffers events that arrive before the consumer asks for them', async () => {
      const jobId = randomUUID();
      const events = await api.pubsub.subscribe('job', jobId);
      try {
        await worker.pubsub.publish('job', jobId, event({ jobId, progress: 1 }));
        await worker.pubsub.publish('job', jobId, event({ jobId, progress: 2 }));
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect((await nextWithin(events)).value!.progress).toBe(1);
        expect((await nextWithin(events)).value!.progress).toBe(2);
      } finally {
        await events.return?.();
      }
    });

    it('carries the stream of all jobs on its own topic', async () => {
      const jobs = await api.pubsub.subscribe('jobs');
      try {
        const sent = event();
        await worker.pubsub.publish('jobs', undefined, sent);
        expect((await nextWithin(jobs)).value).toEqual(sent);
      } finally {
        await jobs.return?.();
      }
    });

    it('does not hear events from a core with another prefix', async () => {
      const foreign = await testCore();
      try {
        const jobId = randomUUID();
        const events = await api.pubsub.subscribe('job', jobId);
        try {
          await foreign.pubsub.publish('job', jobId, event({ jobId }));
          expect(await yieldsWithin(events, 200)).toBe(false);
        } finally {
          await events.return?.();
        }
      } finally {
        await foreign.close();
      }
    });

    it('gives every local subscriber of a channel its own copy', async () => {
      const jobId = randomUUID();
      const a = await api.pubsub.subscribe('job', jobId);
      const b = await api.pubsub.subscribe('job', jobId);
      try {
        await worker.pubsub.publish('job', jobId, event({ jobId, progress: 7 }));
        expect((await nextWithin(a)).value!.progress).toBe(7);
        expect((await nextWithin(b)).value!.progress).toBe(7);
      } finally {
        await a.return?.();
        await b.return?.();
      }
    });
  });

  describe('return()', () => {
    it('ends the iterator and unsubscribes from Redis', async () => {
      const jobId = randomUUID();
      const events = await api.pubsub.subscribe('job', jobId);
      expect(await subscribers(channel(jobId))).toBe(1);
      const returned = await events.return!();
      expect(returned.done).toBe(true);
      expect(await subscribers(channel(jobId))).toBe(0);
      expect(await worker.redis.publish(channel(jobId), JSON.stringify(event({ jobId })))).toBe(0);
      expect((await nextWithin(events)).done).toBe(true);
      // A second return is harmless.
      expect((await events.return!()).done).toBe(true);
    });

    it('ends a consumer that is waiting for an event', async () => {
      const jobId = randomUUID();
      const events = await api.pubsub.subscribe('job', jobId);
      const pending = nextWithin(events);
      await events.return!();
      expect((await pending).done).toBe(true);
    });

    it('keeps the channel while another local subscriber remains', async () => {
      const jobId = randomUUID();
      const a = await api.pubsub.subscribe('job', jobId);
      const b = await api.pubsub.subscribe('job', jobId);
      await a.return!();
      expect(await subscribers(channel(jobId))).toBe(1);
      await worker.pubsub.publish('job', jobId, event({ jobId, progress: 3 }));
      expect((await nextWithin(b)).value!.progress).toBe(3);
      expect((await nextWithin(a)).done).toBe(true);
      await b.return!();
      expect(await subscribers(channel(jobId))).toBe(0);
    });

    it('can subscribe again to a channel after everyone left it', async () => {
      const jobId = randomUUID();
      const first = await api.pubsub.subscribe('job', jobId);
      await first.return!();
      const second = await api.pubsub.subscribe('job', jobId);
      try {
        await worker.pubsub.publish('job', jobId, event({ jobId, progress: 4 }));
        expect((await nextWithin(second)).value!.progress).toBe(4);
      } finally {
        await second.return?.();
      }
    });
  });

  describe('JobService.watchJob driven by JobLifecycle on the other core', () => {
    const workerEm = () => worker.orm.em.fork();

    it('yields the current snapshot first, then each change, and ends after COMPLETED', async () => {
      const job = await api.jobs.createImageJob(api.orm.em.fork(), user.actor, { prompt: 'watch me', seed: 1 });
      const watch = await api.jobs.watchJob(api.orm.em.fork(), user.actor, job.id);
      const first = await nextWithin(watch);
      expect(first.value).toMatchObject({ jobId: job.id, ownerId: user.id, status: 'QUEUED', progress: 0, kind: 'IMAGE' });

      const em = workerEm();
      const running = await worker.lifecycle.start(em, job.id, 'test-engine');
      expect(running).not.toBeNull();
      await worker.lifecycle.progress(em, running!, 40, 'step 4/10');
      await worker.lifecycle.progress(em, running!, 80, 'step 8/10');
      await worker.lifecycle.complete(em, running!, [], { seeds: [1] });

      const rest = await drainAll(watch);
      expect(rest.map((e) => [e.status, e.progress])).toEqual([
        ['PROCESSING', 0],
        ['PROCESSING', 40],
        ['PROCESSING', 80],
        ['COMPLETED', 100],
      ]);
      expect(rest[2]!.message).toBe('step 8/10');
      expect(rest.at(-1)!.result).toEqual({ seeds: [1], assetIds: [], urls: [] });
      expect((await watch.next()).done).toBe(true);
      expect(await subscribers(channel(job.id))).toBe(0);
    });

    it('ends after FAILED, carrying the error', async () => {
      const job = await api.jobs.createImageJob(api.orm.em.fork(), user.actor, { prompt: 'doomed' });
      const watch = await api.jobs.watchJob(api.orm.em.fork(), user.actor, job.id);
      const em = workerEm();
      const running = await worker.lifecycle.start(em, job.id, 'test-engine');
      await worker.lifecycle.fail(em, running!, 'ENGINE_ERROR', 'out of paint');
      const events = await drainAll(watch);
      expect(events.map((e) => e.status)).toEqual(['QUEUED', 'PROCESSING', 'FAILED']);
      expect(events.at(-1)).toMatchObject({ errorCode: 'ENGINE_ERROR', errorMessage: 'out of paint' });
      expect(await subscribers(channel(job.id))).toBe(0);
    });

    it('starts from the state the job is in now', async () => {
      const job = await api.jobs.createImageJob(api.orm.em.fork(), user.actor, { prompt: 'already running' });
      const em = workerEm();
      const running = await worker.lifecycle.start(em, job.id, 'test-engine');
      await worker.lifecycle.progress(em, running!, 30, 'step 3/10');
      const watch = await api.jobs.watchJob(api.orm.em.fork(), user.actor, job.id);
      try {
        const first = await nextWithin(watch);
        expect(first.value).toMatchObject({ status: 'PROCESSING', progress: 30, message: 'step 3/10' });
      } finally {
        await watch.return?.();
      }
      expect(await subscribers(channel(job.id))).toBe(0);
    });

    it('yields only the snapshot for a job that has already finished', async () => {
      const job = await api.jobs.createImageJob(api.orm.em.fork(), user.actor, { prompt: 'done before watching' });
      const em = workerEm();
      const running = await worker.lifecycle.start(em, job.id, 'test-engine');
      await worker.lifecycle.complete(em, running!, []);
      const watch = await api.jobs.watchJob(api.orm.em.fork(), user.actor, job.id);
      const events = await drainAll(watch);
      expect(events.map((e) => [e.status, e.progress])).toEqual([['COMPLETED', 100]]);
      expect(await subscribers(channel(job.id))).toBe(0);
    });

    it('never shows progress going back while processing', async () => {
      const job = await api.jobs.createImageJob(api.orm.em.fork(), user.actor, { prompt: 'out of order' });
      const watch = await api.jobs.watchJob(api.orm.em.fork(), user.actor, job.id);
      const em = workerEm();
      const running = await worker.lifecycle.start(em, job.id, 'test-engine');
      await worker.lifecycle.progress(em, running!, 60, 'late');
      await worker.lifecycle.progress(em, running!, 20, 'early');
      await worker.lifecycle.complete(em, running!, []);
      const events = await drainAll(watch);
      expect(events.map((e) => e.progress)).toEqual([0, 0, 60, 100]);
    });

    it("refuses to watch another user's job (FORBIDDEN) and leaves no subscription behind", async () => {
      const job = await api.jobs.createImageJob(api.orm.em.fork(), user.actor, { prompt: 'private' });
      const error = await api.jobs.watchJob(api.orm.em.fork(), stranger.actor, job.id).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('FORBIDDEN');
      expect(await subscribers(channel(job.id))).toBe(0);
    });

    it('watchJobs streams only the caller’s jobs', async () => {
      const stream = await api.jobs.watchJobs(stranger.actor);
      try {
        const notMine = await api.jobs.createImageJob(api.orm.em.fork(), user.actor, { prompt: 'not for stranger' });
        const mine = await api.jobs.createImageJob(api.orm.em.fork(), stranger.actor, { prompt: 'for stranger' });
        const first = await nextWithin(stream);
        expect(first.value!.jobId).toBe(mine.id);
        expect(first.value!.jobId).not.toBe(notMine.id);
        expect(first.value!.ownerId).toBe(stranger.id);
      } finally {
        await stream.return?.();
      }
    });
  });
});
