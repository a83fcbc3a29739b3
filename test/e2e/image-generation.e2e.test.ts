import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { graphql } from '../gql/index.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { collect, gql, wsClient } from '../helpers/graphql.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const Login = graphql(`
  mutation E2ELogin($username: String!, $password: String!) {
    login(username: $username, password: $password) { accessToken tokenType expiresIn }
  }
`);

const GenerateImage = graphql(`
  mutation E2EGenerateImage($input: GenerateImageInput!) {
    generateImage(input: $input) { id status progress kind }
  }
`);

const JobQuery = graphql(`
  query E2EJob($id: ID!) {
    job(id: $id) { id status progress result assets { id url width height mime sha256 } }
  }
`);

const JOB_PROGRESS = /* GraphQL */ `
  subscription E2EJobProgress($id: ID!) {
    jobProgress(id: $id) { jobId status progress message result error { code message } }
  }
`;

interface ProgressEvent {
  jobProgress: { jobId: string; status: string; progress: number; message: string | null; result: { urls: string[] } | null };
}

describe('image generation end to end', () => {
  const env = testEnv();
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  it('logs in, generates, follows progress over graphql-ws and downloads a PNG of the asked size', async () => {
    const login = await gql(system.url, Login, { username: user.username, password: user.password });
    expect(login.errors).toBeUndefined();
    const token = login.data!.login.accessToken;
    expect(login.data!.login.tokenType).toBe('bearer');

    // The queue is held until the subscription has its first event, so the whole run is seen however fast it is.
    const queue = core.queues.get('builtin');
    await queue.pause();
    const submitted = await gql(system.url, GenerateImage, { input: { prompt: 'a lighthouse at dusk', width: 96, height: 64, steps: 12, seed: 7 } }, token);
    expect(submitted.errors).toBeUndefined();
    const job = submitted.data!.generateImage;
    expect(job.status).toBe('QUEUED');

    const client = wsClient(system.wsUrl, token);
    let subscribed: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (subscribed = resolve));
    const { done } = collect<ProgressEvent>(client, JOB_PROGRESS, { id: job.id }, () => subscribed());
    await first;
    await queue.resume();
    const events = (await done).map((e) => e.jobProgress);
    await client.dispose();

    const statuses = events.map((e) => e.status);
    expect(statuses.at(-1)).toBe('COMPLETED');
    expect(statuses).toContain('PROCESSING');
    const progress = events.filter((e) => e.status === 'PROCESSING').map((e) => e.progress);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const final = events.at(-1)!;
    expect(final.progress).toBe(100);
    expect(final.result!.urls).toHaveLength(1);

    const stored = await gql(system.url, JobQuery, { id: job.id }, token);
    expect(stored.data!.job.status).toBe('COMPLETED');
    expect(stored.data!.job.progress).toBe(100);
    const asset = stored.data!.job.assets[0]!;
    expect(asset).toMatchObject({ width: 96, height: 64, mime: 'image/png' });

    const download = await fetch(final.result!.urls[0]!, { headers: { authorization: `Bearer ${token}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await download.arrayBuffer());
    const meta = await sharp(png).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 96, height: 64 });

    // The signed link opens without a header; the same path without its signature needs one.
    expect((await fetch(final.result!.urls[0]!)).status).toBe(200);
    const anonymous = await fetch(final.result!.urls[0]!.split('?')[0]!);
    expect(anonymous.status).toBe(401);
  });
});
