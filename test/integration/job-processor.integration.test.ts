import type { Job as QueueJob } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { JobLog } from '../../src/db/entities/job-log.entity.ts';
import { GENERATION_JOB_NAMES, type GenerationPayload } from '../../src/queue/queue.names.ts';
import type { JobEvent } from '../../src/pubsub/pubsub.ts';
import { handlersByJobName } from '../../workers/engine.registry.ts';
import type { Engine } from '../../workers/engine.types.ts';
import { createProcessor } from '../../workers/job.processor.ts';
import { testCore } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const STEPS = 60;

/** Reports STEPS steps in one burst, far faster than the database takes updates, with a log line halfway. */
const burstEngine: Engine = {
  name: 'builtin',
  jobNames: [GENERATION_JOB_NAMES.IMAGE],
  async run(run) {
    for (let step = 1; step <= STEPS; step++) {
      run.progress(step / STEPS, `Step ${step}/${STEPS}`);
      if (step === STEPS / 2) run.note('halfway');
    }
    return { assets: [] };
  },
};

describe('job processor progress under a burst of steps (real Postgres and Redis)', () => {
  let core: Core;
  let user: TestUser;

  beforeAll(async () => {
    core = await testCore();
    user = await createTestUser(core);
  });

  afterAll(async () => {
    await core?.close();
  });

  it('writes and publishes every step, in order, all before the job completes, however fast the steps come', async () => {
    const created = await core.jobs.createImageJob(core.orm.em.fork(), user.actor, { prompt: 'a burst' });
    const events = await core.pubsub.subscribe('job', created.id);
    const seen: JobEvent[] = [];
    const reading = (async () => {
      for await (const event of events) {
        seen.push(event);
        if (event.status === 'COMPLETED' || event.status === 'FAILED') return;
      }
    })();

    const processJob = createProcessor(core, handlersByJobName([burstEngine]), pino({ level: 'silent' }));
    await processJob({ id: `manual-${created.id}`, name: GENERATION_JOB_NAMES.IMAGE, data: { jobId: created.id } } as unknown as QueueJob<GenerationPayload>);
    await reading;

    const steps = seen.filter((e) => e.status === 'PROCESSING' && e.message?.startsWith('Step')).map((e) => e.message);
    expect(steps).toEqual(Array.from({ length: STEPS }, (_, i) => `Step ${i + 1}/${STEPS}`));
    expect(seen.at(-1)!.status).toBe('COMPLETED');

    const row = await core.orm.em.fork().findOneOrFail(Job, { id: created.id });
    expect(row.stepDurationsMs).toHaveLength(STEPS);
    const logs = await core.orm.em.fork().find(JobLog, { job: created.id }, { orderBy: { at: 'asc', id: 'asc' } });
    expect(logs.map((l) => l.message)).toEqual(['Started on builtin (attempt 1)', 'halfway', expect.stringMatching(/^Completed in \d+ ms$/)]);
  });
});
