import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { JobLog } from '../../src/db/entities/job-log.entity.ts';
import { JobSweeper } from '../../src/jobs/jobs.sweeper.ts';
import { dequeueGeneration, queueJobId } from '../../src/queue/queue.producer.ts';
import type { WorkerState } from '../../src/services/worker-registry.service.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const workerState = (id: string, runningJobs: string[]): WorkerState => ({
  id,
  host: id.split(':')[0]!,
  pid: Number(id.split(':')[1]),
  engines: ['builtin'],
  executionProvider: null,
  executionProviderNote: null,
  gpus: [],
  system: { totalRam: 1, usedRam: 1, cpuPercent: 0 },
  models: [],
  runningJobs,
  allocations: [],
  modelLoads: [],
  startedAt: new Date().toISOString(),
  lastHeartbeat: new Date().toISOString(),
});

/** The sweeper on a database of its own: it looks at every QUEUED row, so other test files' rows must not be there. */
describe('job sweeper (real PostgreSQL, Redis and BullMQ)', () => {
  let db: ScratchDatabase;
  let core: Core;
  let user: TestUser;
  let sweeper: JobSweeper;
  const lines: { msg: string; worker?: string }[] = [];
  const em = () => core.orm.em.fork();

  beforeAll(async () => {
    db = await createScratchDatabase(inject('databaseUrl'), 'sweeper');
    core = await testCore(testEnv({ DATABASE_URL: db.url }));
    user = await createTestUser(core);
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    sweeper = new JobSweeper({
      orm: core.orm,
      redis: core.redis,
      queues: core.queues,
      workers: core.workers,
      pubsub: core.pubsub,
      prefix: core.config.QUEUE_PREFIX,
      log,
      orphanAfterMs: 0,
    });
  });
  afterAll(async () => {
    await core?.close();
    await db?.drop();
  });

  it('queues a QUEUED row whose API died before queueing it, once, and leaves queued ones alone', async () => {
    const orphan = await core.jobs.createImageJob(em(), user.actor, { prompt: 'orphan' });
    const queued = await core.jobs.createImageJob(em(), user.actor, { prompt: 'queued' });
    // What an API killed between saving the row and adding the queue entry leaves.
    expect(await dequeueGeneration(core.queues, orphan)).toBe(true);
    expect(await core.queues.of(orphan).getJob(queueJobId(orphan))).toBeUndefined();

    const first = await sweeper.sweep();
    expect(first.requeued).toEqual([orphan.id]);
    const entry = await core.queues.of(orphan).getJob(queueJobId(orphan));
    expect(entry?.data).toEqual({ jobId: orphan.id });
    expect((await sweeper.sweep()).requeued).toEqual([]);
    // Two entries in all (jobs with a priority wait in BullMQ's prioritized set): the orphan's and the untouched one's.
    const counts = await core.queues.get('builtin').getJobCounts('waiting', 'prioritized');
    expect(counts.waiting + counts.prioritized).toBe(2);
    expect(await core.queues.of(queued).getJob(queueJobId(queued))).toBeDefined();
  });

  it('marks and logs the running jobs of a worker as soon as its heartbeat is lost, once', async () => {
    const byRow = await core.jobs.createImageJob(em(), user.actor, { prompt: 'ran on the lost worker' });
    const byBeat = await core.jobs.createImageJob(em(), user.actor, { prompt: 'listed in its last beat' });
    const elsewhere = await core.jobs.createImageJob(em(), user.actor, { prompt: 'runs on a live worker' });
    const takenOver = await core.jobs.createImageJob(em(), user.actor, { prompt: 'in its last beat, since run by another worker' });
    const ranOn = new Map([
      [byRow.id, 'box-a:41'],
      [elsewhere.id, 'box-b:42'],
      [takenOver.id, 'box-b:42'],
    ]);
    for (const job of [byRow, byBeat, elsewhere, takenOver]) {
      await core.lifecycle.start(em(), job.id, 'builtin', ranOn.get(job.id));
      await core.lifecycle.progress(em(), (await em().findOneOrFail(Job, { id: job.id }))!, 60, 'Step 3/5');
    }
    const now = await core.workers.now();
    await core.workers.publish(workerState('box-a:41', [byBeat.id, takenOver.id]), now - 6_000);
    await core.workers.publish(workerState('box-b:42', [elsewhere.id]), now);

    const report = await sweeper.sweep();
    expect(report.lost).toEqual([{ worker: 'box-a:41', jobs: expect.arrayContaining([byRow.id, byBeat.id]) }]);
    expect(report.lost[0]!.jobs).toHaveLength(2);
    for (const id of [byRow.id, byBeat.id]) {
      const row = await em().findOneOrFail(Job, { id });
      expect([row.status, row.progress, row.statusMessage]).toEqual(['PROCESSING', 0, 'Worker box-a:41 lost; re-queued']);
      const logs = await em().find(JobLog, { job: id, level: 'warn' });
      expect(logs.map((l) => l.message)).toEqual(['Worker box-a:41 lost; re-queued']);
    }
    for (const id of [elsewhere.id, takenOver.id]) {
      const untouched = await em().findOneOrFail(Job, { id });
      expect([untouched.progress, untouched.statusMessage, untouched.workerId]).toEqual([60, 'Step 3/5', 'box-b:42']);
    }
    expect(lines.filter((l) => l.msg === 'worker box-a:41 lost; re-queued')).toHaveLength(1);

    // Declared once: the next sweep (on any machine) does not mark it again.
    expect((await sweeper.sweep()).lost).toEqual([]);
  });

  it('records the worker of every run of every attempt', async () => {
    const job = await core.jobs.createImageJob(em(), user.actor, { prompt: 'attempts' });
    await core.lifecycle.start(em(), job.id, 'builtin', 'box-a:41');
    // The first worker was lost: the run that replaces it is the next attempt.
    await core.lifecycle.start(em(), job.id, 'builtin', 'box-b:42');
    // A retry queued as attempt 3 (its own queue entry), then run.
    await em().nativeUpdate(Job, { id: job.id }, { status: 'QUEUED', attempt: 3 });
    await core.lifecycle.start(em(), job.id, 'builtin', 'box-c:43');
    const row = await em().findOneOrFail(Job, { id: job.id });
    expect(row.workerId).toBe('box-c:43');
    expect(row.attemptWorkers!.map(({ attempt, worker }) => ({ attempt, worker }))).toEqual([
      { attempt: 0, worker: 'box-a:41' },
      { attempt: 1, worker: 'box-b:42' },
      { attempt: 3, worker: 'box-c:43' },
    ]);
    expect(Date.parse(row.attemptWorkers![0]!.at)).not.toBeNaN();
  });
});
