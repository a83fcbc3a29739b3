import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UnrecoverableError, type Job as QueueJob } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Asset } from '../../src/db/entities/asset.entity.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { JobLog } from '../../src/db/entities/job-log.entity.ts';
import { GENERATION_JOB_NAMES, type GenerationPayload } from '../../src/queue/queue.names.ts';
import { handlersByJobName } from '../../workers/engine.registry.ts';
import type { Engine } from '../../workers/engine.types.ts';
import { createBuiltinVideoEngine } from '../../workers/engines/builtin/video.engine.ts';
import { createProcessor } from '../../workers/job.processor.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

/**
 * The TIMEOUT path with the real processor, engine, Postgres and Redis. The API accepts 30 s at least,
 * so the row's timeout is lowered to 2 s directly, and the queue job is handed to the processor by hand.
 */
describe('builtin video engine under the job processor', () => {
  const env = testEnv();
  const scratch = path.join(env.DATA_DIR!, 'tmp');
  const originalTmp = process.env.TMPDIR;
  let core: Core;
  let user: TestUser;
  let engine: Engine;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    engine = createBuiltinVideoEngine({ threads: 2 });
    mkdirSync(scratch, { recursive: true });
    process.env.TMPDIR = scratch;
  });


  afterAll(async () => {
    if (originalTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = originalTmp;
    await engine?.close?.();
    await core?.close();
  });

  it('fails a video that runs past its timeout with TIMEOUT, promptly, keeping no asset or temp file', async () => {
    const em = core.orm.em.fork();
    const created = await core.jobs.createVideoJob(em, user.actor, { prompt: 'an endless road', numFrames: 1440, fps: 24, videoConfig: { resolution: '512x512' } });
    await core.orm.em.fork().nativeUpdate(Job, { id: created.id }, { timeoutSeconds: 2 });

    const processJob = createProcessor(core, handlersByJobName([engine]), pino({ level: 'silent' }));
    const queueJob = { id: `manual-${created.id}`, name: GENERATION_JOB_NAMES.VIDEO, data: { jobId: created.id } } as unknown as QueueJob<GenerationPayload>;
    const started = Date.now();
    const outcome = await processJob(queueJob).then(
      () => null,
      (error: unknown) => error,
    );
    const elapsed = Date.now() - started;

    expect(outcome).toBeInstanceOf(UnrecoverableError);
    expect((outcome as Error).message).toMatch(/exceeded its 2 s timeout/);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(5000);

    const row = await core.orm.em.fork().findOneOrFail(Job, { id: created.id });
    expect(row.status).toBe('FAILED');
    expect(row.errorCode).toBe('TIMEOUT');
    // It got going (frames were reported) and was stopped well short of the end.
    expect(row.stepDurationsMs!.length).toBeGreaterThan(0);
    expect(row.progress).toBeLessThan(100);
    expect(row.stepDurationsMs!.length).toBeLessThan(1440);
    expect(await core.orm.em.fork().count(Asset, { job: created.id })).toBe(0);
    const logs = await core.orm.em.fork().find(JobLog, { job: created.id }, { orderBy: { at: 'asc' } });
    expect(logs.map((l) => l.message)).toContain('Failed: Job exceeded its 2 s timeout');
    expect(readdirSync(scratch)).toEqual([]);
  });
});
