import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { AppError } from '../../src/services/errors.ts';
import { testCore } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

describe('daily quotas under concurrent submissions (real Postgres)', () => {
  let core: Core;
  let user: TestUser;

  beforeAll(async () => {
    core = await testCore();
    user = await createTestUser(core);
  });

  afterAll(async () => {
    await core?.close();
  });

  it('lets exactly the quota through when requests race at the limit, for single jobs and batches', async () => {
    await core.quotas.setUserQuota(core.orm.em.fork(), user.id, { imagesPerDay: 5 });
    const attempts = [
      ...Array.from({ length: 8 }, () => () => core.jobs.createImageJob(core.orm.em.fork(), user.actor, { prompt: 'race', width: 64, height: 64 })),
      ...Array.from({ length: 4 }, () => () => core.jobs.createBatch(core.orm.em.fork(), user.actor, { requests: [{ prompt: 'a' }, { prompt: 'b' }] })),
    ];
    const outcomes = await Promise.allSettled(attempts.map((attempt) => attempt()));
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
    for (const reason of refused) {
      expect(reason).toBeInstanceOf(AppError);
      expect((reason as AppError).code).toBe('QUOTA_EXCEEDED');
    }
    const stored = await core.orm.em.fork().count(Job, { owner: user.id, kind: 'IMAGE' });
    // Whatever the order, single images fill whatever room batches of 2 leave, so exactly the limit is stored.
    expect(stored).toBe(5);
    expect(refused.length).toBeGreaterThan(0);
  });
});
