import { levelOf } from '../../src/jobs/jobs.fairness.ts';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job, type JobKind } from '../../src/db/entities/job.entity.ts';
import { User } from '../../src/db/entities/user.entity.ts';
import { GENERATION_JOB_NAMES } from '../../src/queue/queue.names.ts';
import { AppError } from '../../src/services/errors.ts';
import { MAX_SEED } from '../../src/services/generation.inputs.ts';
import { encodeCursor } from '../../src/services/pagination.ts';
import type { JobFilter } from '../../src/jobs/jobs.read.ts';
import type { Actor } from '../../src/services/actor.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an AppError, but the promise resolved');
}

const queuedCount = async (core: Core) => {
  const counts = await core.queues.get('builtin').getJobCounts('waiting', 'prioritized', 'delayed', 'active');
  return Object.values(counts).reduce((a, b) => a + b, 0);
};

describe('JobService (real Postgres and BullMQ)', () => {
  let core: Core;
  let user: TestUser;
  let other: TestUser;
  let admin: TestUser;

  const em = () => core.orm.em.fork();
  const readJob = (id: string) => em().findOneOrFail(Job, { id });

  /** Walks every page of listJobs for `actor`, checking each page's shape; returns the ids in order. */
  async function walk(actor: Actor, filter: Omit<JobFilter, 'after'>, stopWhen?: (ids: string[]) => boolean) {
    const ids: string[] = [];
    const pageSizes: number[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 1000; guard++) {
      const page = await core.jobs.listJobs(em(), actor, { ...filter, after });
      pageSizes.push(page.edges.length);
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      ids.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage || stopWhen?.(ids)) return { ids, pageSizes };
      after = page.pageInfo.endCursor;
    }
    throw new Error('listJobs never reached the last page');
  }

  beforeAll(async () => {
    core = await testCore();
    [user, other, admin] = await Promise.all([createTestUser(core), createTestUser(core), createTestUser(core, 'admin')]);
  });

  afterAll(async () => {
    await core?.close();
  });

  describe('createImageJob', () => {
    it('stores a QUEUED row with defaults applied and a fixed seed, and queues exactly one BullMQ job of {jobId}', async () => {
      const before = await queuedCount(core);
      const job = await core.jobs.createImageJob(em(), user.actor, { prompt: '  a red fox  ' });

      const row = await readJob(job.id);
      expect(row.status).toBe('QUEUED');
      expect(row.kind).toBe('IMAGE');
      expect(row.progress).toBe(0);
      expect(row.priority).toBe(5);
      expect(row.owner.id).toBe(user.id);
      expect(row.startedAt ?? null).toBeNull();
      expect(row.finishedAt ?? null).toBeNull();
      expect(row.errorCode ?? null).toBeNull();
      const { seed, ...rest } = row.input as Record<string, unknown>;
      expect(rest).toMatchObject({ prompt: 'a red fox', negativePrompt: null, width: 512, height: 512, steps: 30, guidance: 7.5, numImages: 1 });
      expect(row.input).not.toHaveProperty('priority');
      expect(Number.isInteger(seed)).toBe(true);
      expect(seed as number).toBeGreaterThanOrEqual(0);
      expect(seed as number).toBeLessThanOrEqual(MAX_SEED);

      const queued = await core.queues.get('builtin').getJob(job.id);
      expect(queued).toBeDefined();
      expect(queued!.id).toBe(job.id);
      expect(queued!.name).toBe(GENERATION_JOB_NAMES.IMAGE);
      expect(queued!.data).toEqual({ jobId: job.id });
      // Fair queues place it within priority 5's band of BullMQ priorities.
      expect(levelOf(queued!.opts.priority!)).toBe(5);
      expect(await queuedCount(core)).toBe(before + 1);
    });

    it('keeps an explicit seed and negative prompt, and never stores the priority in the input', async () => {
      const job = await core.jobs.createImageJob(em(), user.actor, {
        prompt: 'p',
        negativePrompt: 'blurry',
        seed: 77,
        width: 64,
        height: 128,
        steps: 3,
        guidance: 0,
        numImages: 2,
        priority: 9,
      });
      const row = await readJob(job.id);
      expect(row.input).toMatchObject({ prompt: 'p', negativePrompt: 'blurry', width: 64, height: 128, steps: 3, guidance: 0, seed: 77, numImages: 2 });
      expect(row.input).not.toHaveProperty('priority');
      expect(row.priority).toBe(9);
    });

    it('draws a seed per job when none is given', async () => {
      const seeds = new Set<unknown>();
      for (let i = 0; i < 4; i++) seeds.add((await core.jobs.createImageJob(em(), user.actor, { prompt: 'seedless' })).input.seed);
      expect(seeds.size).toBeGreaterThan(1);
    });

    it.each([1, 10])('passes priority %i to BullMQ (as its band)', async (priority) => {
      const job = await core.jobs.createImageJob(em(), user.actor, { prompt: 'urgent', priority });
      expect((await readJob(job.id)).priority).toBe(priority);
      const queued = await core.queues.get('builtin').getJob(job.id);
      expect(levelOf(queued!.opts.priority!)).toBe(priority);
    });

    it('refuses invalid input before storing or queueing anything', async () => {
      const before = await queuedCount(core);
      const prompt = `invalid-${randomUUID()}`;
      const error = await rejection(core.jobs.createImageJob(em(), user.actor, { prompt, width: 100 }));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect((error.details!.fields as { field: string }[]).map((f) => f.field)).toContain('width');
      const rows = await em().getConnection().execute(`select id from jobs where input->>'prompt' = ?`, [prompt]);
      expect(rows).toHaveLength(0);
      expect(await queuedCount(core)).toBe(before);
    });

    it('publishes the new job on the jobs stream', async () => {
      const events = await core.pubsub.subscribe('jobs');
      try {
        const job = await core.jobs.createImageJob(em(), user.actor, { prompt: 'announce me' });
        for (;;) {
          const step = await events.next();
          expect(step.done).toBe(false);
          if (step.value.jobId !== job.id) continue;
          expect(step.value).toMatchObject({ jobId: job.id, ownerId: user.id, kind: 'IMAGE', status: 'QUEUED', progress: 0 });
          break;
        }
      } finally {
        await events.return?.();
      }
    });
  });

  describe('getJob', () => {
    it('returns the owner’s job', async () => {
      const job = await core.jobs.createImageJob(em(), user.actor, { prompt: 'mine' });
      expect((await core.jobs.getJob(em(), user.actor, job.id)).id).toBe(job.id);
    });

    it("refuses another user's job with FORBIDDEN, and lets an admin read it", async () => {
      const job = await core.jobs.createImageJob(em(), user.actor, { prompt: 'private' });
      expect((await rejection(core.jobs.getJob(em(), other.actor, job.id))).code).toBe('FORBIDDEN');
      expect((await core.jobs.getJob(em(), admin.actor, job.id)).id).toBe(job.id);
    });

    it('treats an admin without the admin scope as a plain user', async () => {
      const job = await core.jobs.createImageJob(em(), user.actor, { prompt: 'private' });
      const scoped: Actor = { ...admin.actor, scopes: ['read', 'generate'], via: 'apiKey' };
      expect((await rejection(core.jobs.getJob(em(), scoped, job.id))).code).toBe('FORBIDDEN');
    });

    it('answers NOT_FOUND for a non-UUID id and for an unknown UUID', async () => {
      expect((await rejection(core.jobs.getJob(em(), user.actor, 'not-a-uuid'))).code).toBe('NOT_FOUND');
      expect((await rejection(core.jobs.getJob(em(), user.actor, "1' or '1'='1"))).code).toBe('NOT_FOUND');
      expect((await rejection(core.jobs.getJob(em(), admin.actor, randomUUID()))).code).toBe('NOT_FOUND');
    });
  });

  describe('listJobs', () => {
    let walker: TestUser;
    let created: string[];

    beforeAll(async () => {
      walker = await createTestUser(core);
      created = [];
      for (let i = 0; i < 25; i++) created.push((await core.jobs.createImageJob(em(), walker.actor, { prompt: `walk ${i}` })).id);
    });

    it('walks 25 jobs in pages of 10, newest first, with no duplicates or gaps', async () => {
      const { ids, pageSizes } = await walk(walker.actor, { first: 10 });
      expect(pageSizes).toEqual([10, 10, 5]);
      expect(ids).toHaveLength(25);
      expect(new Set(ids).size).toBe(25);
      expect([...ids].sort()).toEqual([...created].sort());

      const rows = await em().find(Job, { owner: walker.id });
      const expected = [...rows]
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
        .map((r) => r.id);
      expect(ids).toEqual(expected);
      // Created one after another, so newest first is the reverse of creation order, give or take equal timestamps.
      const times = ids.map((id) => rows.find((r) => r.id === id)!.createdAt.getTime());
      for (let i = 1; i < times.length; i++) expect(times[i]!).toBeLessThanOrEqual(times[i - 1]!);
      expect(ids[0]).not.toBe(created[0]);
    });

    it('does not skip a job that shares its timestamp with the page boundary', async () => {
      const tied = await createTestUser(core);
      const at = new Date();
      const fork = em();
      const jobs = Array.from({ length: 7 }, () =>
        fork.create(Job, { kind: 'IMAGE', input: { prompt: 'tie' }, owner: fork.getReference(User, tied.id), createdAt: at }),
      );
      await fork.flush();
      const { ids, pageSizes } = await walk(tied.actor, { first: 3 });
      expect(pageSizes).toEqual([3, 3, 1]);
      expect(ids).toEqual(jobs.map((j) => j.id).sort().reverse());
    });

    it('defaults to 20 per page and reports whether more exist', async () => {
      const page = await core.jobs.listJobs(em(), walker.actor, {});
      expect(page.edges).toHaveLength(20);
      expect(page.pageInfo.hasNextPage).toBe(true);
      const all = await core.jobs.listJobs(em(), walker.actor, { first: 25 });
      expect(all.edges).toHaveLength(25);
      expect(all.pageInfo.hasNextPage).toBe(false);
    });

    it('refuses first out of range and invalid cursors with BAD_USER_INPUT', async () => {
      expect((await rejection(core.jobs.listJobs(em(), walker.actor, { first: 0 }))).code).toBe('BAD_USER_INPUT');
      expect((await rejection(core.jobs.listJobs(em(), walker.actor, { first: 101 }))).code).toBe('BAD_USER_INPUT');
      expect((await rejection(core.jobs.listJobs(em(), walker.actor, { after: 'garbage' }))).code).toBe('BAD_USER_INPUT');
    });

    it('refuses a well-formed cursor whose id is not a UUID with BAD_USER_INPUT, not a database error', async () => {
      const forged = encodeCursor({ createdAt: new Date(), id: 'not-a-uuid' });
      const error = await rejection(core.jobs.listJobs(em(), walker.actor, { first: 5, after: forged }));
      expect(error.code).toBe('BAD_USER_INPUT');
    });

    it('shows a user only their own jobs', async () => {
      const otherJob = await core.jobs.createImageJob(em(), other.actor, { prompt: 'not yours' });
      const { ids } = await walk(walker.actor, { first: 100 });
      expect([...ids].sort()).toEqual([...created].sort());
      expect(ids).not.toContain(otherJob.id);
      const rows = await em().find(Job, { id: { $in: ids } });
      for (const row of rows) expect(row.owner.id).toBe(walker.id);
    });

    it('shows an admin every user’s jobs', async () => {
      const mine = await core.jobs.createImageJob(em(), admin.actor, { prompt: 'admin job' });
      const theirs = await core.jobs.createImageJob(em(), other.actor, { prompt: 'their job' });
      const wanted = [mine.id, theirs.id, created[0]!, created[24]!];
      const { ids } = await walk(admin.actor, { first: 100 }, (seen) => wanted.every((id) => seen.includes(id)));
      for (const id of wanted) expect(ids).toContain(id);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('filters by status', async () => {
      const target = await createTestUser(core);
      const jobs: string[] = [];
      for (let i = 0; i < 5; i++) jobs.push((await core.jobs.createImageJob(em(), target.actor, { prompt: `status ${i}` })).id);
      await em().nativeUpdate(Job, { id: { $in: [jobs[1]!, jobs[3]!] } }, { status: 'FAILED' });

      const failed = await walk(target.actor, { first: 10, status: 'FAILED' });
      expect([...failed.ids].sort()).toEqual([jobs[1]!, jobs[3]!].sort());
      const queued = await walk(target.actor, { first: 10, status: 'QUEUED' });
      expect([...queued.ids].sort()).toEqual([jobs[0]!, jobs[2]!, jobs[4]!].sort());
      const completed = await walk(target.actor, { first: 10, status: 'COMPLETED' });
      expect(completed.ids).toEqual([]);
    });

    it('filters by kind', async () => {
      const target = await createTestUser(core);
      const image = await core.jobs.createImageJob(em(), target.actor, { prompt: 'an image' });
      const fork = em();
      const make = (kind: JobKind) => fork.create(Job, { kind, input: { text: 'x' }, owner: fork.getReference(User, target.id) });
      const video = make('VIDEO');
      const speech = make('SPEECH');
      await fork.flush();

      expect((await walk(target.actor, { kind: 'IMAGE' })).ids).toEqual([image.id]);
      expect((await walk(target.actor, { kind: 'VIDEO' })).ids).toEqual([video.id]);
      expect((await walk(target.actor, { kind: 'SPEECH' })).ids).toEqual([speech.id]);
      expect((await walk(target.actor, { kind: 'TALKING_HEAD' })).ids).toEqual([]);
      expect((await walk(target.actor, { kind: 'VIDEO', status: 'QUEUED' })).ids).toEqual([video.id]);
      expect((await walk(target.actor, { kind: 'VIDEO', status: 'FAILED' })).ids).toEqual([]);
    });

    it('refuses an unknown status or kind with BAD_USER_INPUT', async () => {
      const badStatus = { status: 'DONE' } as unknown as JobFilter;
      const badKind = { kind: 'GIF' } as unknown as JobFilter;
      expect((await rejection(core.jobs.listJobs(em(), walker.actor, badStatus))).code).toBe('BAD_USER_INPUT');
      expect((await rejection(core.jobs.listJobs(em(), walker.actor, badKind))).code).toBe('BAD_USER_INPUT');
    });
  });

  describe('createVideoJob with upscale', () => {
    const upscaled = { prompt: 'a pier', numFrames: 2, videoConfig: { resolution: '128x96', upscale: true } };

    it('without a live upscale pack, still queues the video on the default engine with no upscale model', async () => {
      const job = await core.jobs.createVideoJob(em(), user.actor, upscaled);
      expect(job.engine).toBe('builtin');
      expect(job.input).toMatchObject({ upscale: true, width: 128, height: 96 });
      expect(job.input.upscaleModel ?? null).toBeNull();
    });

    it('refuses the onnx engine by name when no live worker can upscale, saying why', async () => {
      const error = await rejection(core.jobs.createVideoJob(em(), user.actor, { ...upscaled, engine: 'onnx' }));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.message).toBe(
        'No ×2 or ×4 upscale model can upscale to 128x96 (both sides must divide by the scale). Available: none (no worker with an upscale pack is online)',
      );
      expect(error.details).toMatchObject({ field: 'videoConfig.upscale' });
    });
  });

  describe('with a project preset naming an engine alias', () => {
    it('refuses a preset whose alias makes another kind of job (hallo2 for an image), naming the workflow', async () => {
      const preset = await core.profiles.savePreset(core.orm.em.fork(), { name: `talking-${randomUUID()}`, defaultEngine: 'Hallo2' });
      const refused = await rejection(core.jobs.createImageJob(core.orm.em.fork(), user.actor, { prompt: 'a face', projectId: preset.name }));
      expect(refused).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'projectId' } });
      expect(refused.message).toBe("The preset's default engine runs the hallo2_talking_head workflow, which makes TALKING_HEAD jobs, not IMAGE");
    });

    it('hands the alias’s model pack to an onnx image job (checked against live workers), and nothing to a job sent elsewhere', async () => {
      const aliased = await testCore(testEnv({ ENGINE_ALIASES: JSON.stringify({ 'Dream Engine': { engine: 'onnx', modelPack: 'dreamshaper-8' } }) }));
      try {
        const owner = await createTestUser(aliased);
        const preset = await aliased.profiles.savePreset(aliased.orm.em.fork(), { name: `dream-${randomUUID()}`, defaultEngine: 'dream engine' });
        const request = { prompt: 'a koi pond', projectId: preset.name };
        const refused = await rejection(aliased.jobs.createImageJob(aliased.orm.em.fork(), owner.actor, request));
        expect(refused.message).toBe('Unknown model "dreamshaper-8". Available: none (no worker with MODELS_DIR is online)');

        const now = new Date().toISOString();
        await aliased.workers.publish({
          id: 'onnx:1',
          host: 'box',
          pid: 1,
          engines: ['onnx'],
          executionProvider: 'cpu',
          executionProviderNote: null,
          gpus: [],
          system: { totalRam: 16e9, usedRam: 4e9, cpuPercent: 20 },
          models: [{ name: 'dreamshaper-8', kind: 'STABLE_DIFFUSION', sizeBytes: 1, vramBytes: 1, details: {} }],
          runningJobs: [],
          allocations: [],
          modelLoads: [],
          startedAt: now,
          lastHeartbeat: now,
        });
        const job = await aliased.jobs.createImageJob(aliased.orm.em.fork(), owner.actor, request);
        expect(job).toMatchObject({ engine: 'onnx', input: { model: 'dreamshaper-8' } });
        expect(job.input.workflowName).toBeUndefined();
        const elsewhere = await aliased.jobs.createImageJob(aliased.orm.em.fork(), owner.actor, { ...request, engine: 'builtin' });
        expect(elsewhere).toMatchObject({ engine: 'builtin', input: { model: null } });
      } finally {
        await aliased.close();
      }
    });
  });

  describe('when the queue is unavailable', () => {
    it('throws SERVICE_UNAVAILABLE after the Redis connection is gone, and the row says FAILED / QUEUE_UNAVAILABLE', async () => {
      const broken = await testCore();
      try {
        const owner = await createTestUser(broken);
        broken.redis.disconnect();
        const prompt = `no redis ${randomUUID()}`;
        const error = await rejection(broken.jobs.createImageJob(broken.orm.em.fork(), owner.actor, { prompt }));
        expect(error.code).toBe('SERVICE_UNAVAILABLE');
        const jobId = error.details?.jobId as string;
        expect(typeof jobId).toBe('string');

        const row = await readJob(jobId);
        expect(row.status).toBe('FAILED');
        expect(row.errorCode).toBe('QUEUE_UNAVAILABLE');
        expect(row.errorMessage).toMatch(/not queued/);
        expect(row.finishedAt).toBeInstanceOf(Date);
        expect(row.owner.id).toBe(owner.id);
        expect((row.input as { prompt: string }).prompt).toBe(prompt);
        // Nothing lost silently: the owner sees the failed job in their list.
        const listed = await core.jobs.listJobs(em(), owner.actor, {});
        expect(listed.edges.map((e) => e.node.id)).toEqual([jobId]);
      } finally {
        await broken.close();
      }
    });

    it('fails fast during a Redis outage, and queues again once Redis is back', async () => {
      const flaky = await testCore();
      try {
        const owner = await createTestUser(flaky);
        const clientId = await flaky.redis.client('ID');
        const closed = once(flaky.redis, 'close');
        // Another connection drops this one, as a Redis restart or a network cut would.
        await core.redis.client('KILL', 'ID', String(clientId));
        await closed;
        const error = await rejection(flaky.jobs.createImageJob(flaky.orm.em.fork(), owner.actor, { prompt: 'during outage' }));
        expect(error.code).toBe('SERVICE_UNAVAILABLE');
        const failed = await readJob(error.details?.jobId as string);
        expect(failed.status).toBe('FAILED');
        expect(failed.errorCode).toBe('QUEUE_UNAVAILABLE');

        if (flaky.redis.status !== 'ready') await once(flaky.redis, 'ready');
        const job = await flaky.jobs.createImageJob(flaky.orm.em.fork(), owner.actor, { prompt: 'after outage' });
        expect((await readJob(job.id)).status).toBe('QUEUED');
        expect((await flaky.queues.get('builtin').getJob(job.id))?.data).toEqual({ jobId: job.id });
        expect(await flaky.queues.get('builtin').getJob(failed.id)).toBeUndefined();
      } finally {
        await flaky.close();
      }
    });
  });
});
