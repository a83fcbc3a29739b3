import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const GENERATE = `mutation ($input: GenerateImageInput!) { generateImage(input: $input) { id status priority } }`;
const STATE = `engine paused waiting running`;

interface QueueState {
  engine: string;
  paused: boolean;
  waiting: number;
  running: number;
}

describe('queue control', () => {
  // One job at a time, so the order jobs start in is the queue's order.
  const env = testEnv({ WORKER_CONCURRENCY: '1' });
  let system: RunningSystem;
  let core: Core;
  let admin: TestUser;
  let user: TestUser;
  let other: TestUser;

  const call = async <T>(query: string, variables: Record<string, unknown>, token: string) => gql<T, unknown>(system.url, query, variables, token);
  const submit = async (token: string, prompt: string) => {
    const response = await call<{ generateImage: { id: string } }>(GENERATE, { input: { prompt, width: 64, height: 64, steps: 2 } }, token);
    expect(response.errors).toBeUndefined();
    return response.data!.generateImage.id;
  };
  const pause = async (engine = 'builtin') => (await call<{ pauseQueue: QueueState }>(`mutation ($e: String!) { pauseQueue(engine: $e) { ${STATE} } }`, { e: engine }, admin.token)).data!.pauseQueue;
  const resume = async () => (await call<{ resumeQueue: QueueState }>(`mutation { resumeQueue(engine: "builtin") { ${STATE} } }`, {}, admin.token)).data!.resumeQueue;
  const startedAt = async (id: string) =>
    new Date((await call<{ job: { startedAt: string } }>(`query ($id: ID!) { job(id: $id) { startedAt } }`, { id }, admin.token)).data!.job.startedAt).getTime();

  beforeAll(async () => {
    core = await testCore(env);
    [admin, user, other] = await Promise.all([createTestUser(core, 'admin'), createTestUser(core), createTestUser(core)]);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  it('pauses and resumes an engine family (admins only), and reprioritises a queued job', async () => {
    const refused = await call(`mutation { pauseQueue(engine: "builtin") { paused } }`, {}, user.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const unknown = await call(`mutation { pauseQueue(engine: "warp") { paused } }`, {}, admin.token);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    expect(await pause()).toEqual({ engine: 'builtin', paused: true, waiting: 0, running: 0 });
    const first = await submit(user.token, 'first');
    const second = await submit(user.token, 'second');
    const third = await submit(user.token, 'third');
    const queues = (await call<{ queues: QueueState[] }>(`{ queues { ${STATE} } }`, {}, user.token)).data!.queues;
    expect(queues.map((q) => q.engine)).toEqual(['builtin', 'onnx', 'comfyui', 'provider']);
    expect(queues[0]).toEqual({ engine: 'builtin', paused: true, waiting: 3, running: 0 });

    const moved = await call<{ setJobPriority: { id: string; priority: number; status: string } }>(
      `mutation ($id: ID!) { setJobPriority(id: $id, priority: 1) { id priority status } }`,
      { id: third },
      user.token,
    );
    expect(moved.data!.setJobPriority).toEqual({ id: third, priority: 1, status: 'QUEUED' });
    const othersJob = await call(`mutation ($id: ID!) { setJobPriority(id: $id, priority: 1) { id } }`, { id: first }, other.token);
    expect(othersJob.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const resumed = await resume();
    expect(resumed.paused).toBe(false);
    for (const id of [first, second, third]) await waitForJob(system.url, user.token, id);
    // The job moved to priority 1 ran first, then the other two in the order they came.
    const [a, b, c] = await Promise.all([first, second, third].map(startedAt));
    expect(c!).toBeLessThanOrEqual(a!);
    expect(a!).toBeLessThanOrEqual(b!);

    const finished = await call(`mutation ($id: ID!) { setJobPriority(id: $id, priority: 2) { id } }`, { id: first }, user.token);
    expect(finished.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const outOfRange = await call(`mutation ($id: ID!) { setJobPriority(id: $id, priority: 11) { id } }`, { id: first }, user.token);
    expect(outOfRange.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("cancels one's own queued jobs in bulk; an admin cancels anyone's", async () => {
    await pause();
    const mine = [await submit(user.token, 'm1'), await submit(user.token, 'm2'), await submit(user.token, 'm3')];
    const theirs = await submit(other.token, 'o1');
    const cancelled = await call<{ cancelJobs: { id: string; status: string }[] }>(`mutation { cancelJobs { id status } }`, {}, user.token);
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelJobs.map((j) => j.id).sort()).toEqual([...mine].sort());
    expect(cancelled.data!.cancelJobs.every((j) => j.status === 'CANCELLED')).toBe(true);
    const untouched = await call<{ job: { status: string } }>(`query ($id: ID!) { job(id: $id) { status } }`, { id: theirs }, other.token);
    expect(untouched.data!.job.status).toBe('QUEUED');

    const notAllowed = await call(`mutation ($u: ID!) { cancelJobs(filter: { userId: $u }) { id } }`, { u: other.id }, user.token);
    expect(notAllowed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const byAdmin = await call<{ cancelJobs: { id: string }[] }>(`mutation ($u: ID!) { cancelJobs(filter: { userId: $u }) { id } }`, { u: other.id }, admin.token);
    expect(byAdmin.data!.cancelJobs.map((j) => j.id)).toEqual([theirs]);
    expect((await call<{ queues: QueueState[] }>(`{ queues { ${STATE} } }`, {}, admin.token)).data!.queues[0]!.waiting).toBe(0);
    await resume();
  });
});
