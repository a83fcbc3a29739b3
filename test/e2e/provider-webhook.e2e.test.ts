import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { startFakePiApi } from '../fakes/piapi.fake.ts';
import type { FakeProvider } from '../fakes/provider-fakes.shared.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const SECRET = 'webhook-secret-for-tests';

// Routing reads every active provider, so this file has a database of its own.
describe('PiAPI webhooks', () => {
  let scratch: ScratchDatabase;
  // Polls 30 s apart: a job that finishes in seconds was finished by the webhook.
  const env = testEnv({ WORKER_ENGINES: 'provider', PROVIDER_POLL_INTERVAL_MS: '30000', PROVIDER_REQUEST_TIMEOUT_MS: '60000' });
  let system: RunningSystem;
  let core: Core;
  let admin: TestUser;
  let user: TestUser;
  let piapi: FakeProvider;

  const hook = (body: unknown, secret = SECRET) =>
    fetch(`${system.url}/webhooks/piapi`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secret },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    piapi = await startFakePiApi();
    scratch = await createScratchDatabase(env.DATABASE_URL!, 'provider_webhook');
    env.DATABASE_URL = scratch.url;
    core = await testCore(env);
    [admin, user] = await Promise.all([createTestUser(core, 'admin'), createTestUser(core)]);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    await scratch?.drop();
    await piapi?.close();
  });

  it('finishes a task as soon as PiAPI calls back, and refuses callbacks without the secret', async () => {
    const configured = await gql<{ configureProvider: { id: string } }, unknown>(
      system.url,
      `mutation ($input: ConfigureProviderInput!) { configureProvider(input: $input) { id } }`,
      {
        input: {
          type: 'PIAPI',
          name: 'webhook-piapi',
          apiKey: piapi.apiKey,
          baseUrl: piapi.url,
          isDefault: true,
          config: { webhook_url: `${system.url}/webhooks/piapi`, webhook_secret: SECRET },
        },
      },
      admin.token,
    );
    expect(configured.errors).toBeUndefined();
    const started = Date.now();
    const submitted = await gql<{ generateImage: { id: string } }, unknown>(
      system.url,
      `mutation ($input: GenerateImageInput!) { generateImage(input: $input) { id } }`,
      { input: { prompt: 'a harbour at night', width: 512, height: 512, providerId: configured.data!.configureProvider.id } },
      user.token,
    );
    expect(submitted.errors).toBeUndefined();

    // The worker submitted the task (asking PiAPI to call back) and polled it once.
    let taskId: string | undefined;
    for (let i = 0; i < 200 && !taskId; i++) {
      taskId = piapi.requests.map((r) => /^\/api\/v1\/task\/([\w-]+)$/.exec(r.path)?.[1]).find(Boolean);
      if (!taskId) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(taskId).toBeDefined();
    const submission = piapi.requests.find((r) => r.method === 'POST' && r.path === '/api/v1/task')!;
    expect(submission.body).toMatchObject({ config: { webhook_config: { endpoint: `${system.url}/webhooks/piapi`, secret: SECRET } } });

    const completed = { task_id: taskId, status: 'completed', output: { image_urls: [`${piapi.url}/files/${taskId}-0.png`] } };
    const refused = await hook({ timestamp: 1, data: completed }, 'wrong-secret');
    expect(refused.status).toBe(401);
    const malformed = await hook({ timestamp: 1, data: { status: 'completed' } });
    expect(malformed.status).toBe(400);

    const accepted = await hook({ timestamp: Date.now(), data: completed });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ ok: true, task_id: taskId });
    const job = await waitForJob(system.url, user.token, submitted.data!.generateImage.id, undefined, 20_000);
    expect(job.status).toBe('COMPLETED');
    expect(job.result!.urls).toHaveLength(1);
    // Well before the second poll, 30 s after the first: the webhook finished it.
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(piapi.requests.filter((r) => r.method === 'GET' && r.path === `/api/v1/task/${taskId}`)).toHaveLength(1);
  });
});
