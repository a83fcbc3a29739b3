import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startProcess, startSystem, type RunningProcess, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const GENERATE = `mutation Gen($input: GenerateImageInput!) { generateImage(input: $input) { id } }`;
const DETAILS = `query D($id: ID!) { job(id: $id) { status progress assets { id } logs { message } } }`;

describe('a worker killed mid-job', () => {
  // A short lock so a dead worker's job is handed on in seconds rather than a minute.
  const env = testEnv({ WORKER_CONCURRENCY: '1', WORKER_LOCK_MS: '2000', WORKER_ENGINES: 'builtin' });
  let system: RunningSystem;
  let rescuer: RunningProcess | undefined;
  let core: Core;
  let user: TestUser;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await rescuer?.stop();
    await system?.stop();
    await core?.close();
  });

  it('loses nothing: another worker picks the job up, runs it from the start and completes it once', async () => {
    const submitted = await gql<{ generateImage: { id: string } }, unknown>(
      system.url,
      GENERATE,
      { input: { prompt: 'survives a crash', width: 1024, height: 1024, steps: 150, numImages: 2 } },
      user.token,
    );
    const id = submitted.data!.generateImage.id;
    await waitForJob(system.url, user.token, id, (job) => job.status === 'PROCESSING' && job.progress > 0);

    // No graceful shutdown: the process is gone, its lock simply stops being renewed.
    system.worker.child.kill('SIGKILL');
    await new Promise((resolve) => system.worker.child.once('exit', resolve));
    rescuer = await startProcess('workers/main.ts', { ...env, PORT: '0' });

    const done = await waitForJob(system.url, user.token, id, undefined, 60_000);
    expect(done.status).toBe('COMPLETED');
    const details = (await gql<{ job: { assets: unknown[]; logs: { message: string }[] } }, unknown>(system.url, DETAILS, { id }, user.token)).data!.job;
    expect(details.assets).toHaveLength(2);
    // Two starts (the dead worker's and the rescuer's), one completion.
    expect(details.logs.filter((l) => l.message.startsWith('Started on builtin'))).toHaveLength(2);
    expect(details.logs.filter((l) => l.message.startsWith('Completed in'))).toHaveLength(1);
  });
});
