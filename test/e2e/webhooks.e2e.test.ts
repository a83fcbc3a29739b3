import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Core } from '../../src/core.ts';
import { startWebhookReceiver, type ReceivedWebhook } from '../fakes/webhook-receiver.fake.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const GENERATE = `mutation ($input: GenerateImageInput!) { generateImage(input: $input) { id status } }`;
const DELIVERIES = `query ($jobId: ID) { webhookDeliveries(jobId: $jobId) { id event status attempts lastStatusCode latencyMs lastError nextRetryAt url payload endpoint { id enabled disabledReason } } }`;

interface Delivery {
  id: string;
  event: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  latencyMs: number | null;
  lastError: string | null;
  nextRetryAt: string | null;
  url: string;
  payload: { type: string; timestamp: string; data: { id: string; status: string } };
  endpoint: { id: string; enabled: boolean; disabledReason: string | null };
}

const headersOf = (hook: ReceivedWebhook) => ({
  'webhook-id': String(hook.headers['webhook-id']),
  'webhook-timestamp': String(hook.headers['webhook-timestamp']),
  'webhook-signature': String(hook.headers['webhook-signature']),
});

describe('signed webhooks', () => {
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let env: Record<string, string>;
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let secret: string;

  const generate = async (token: string, input: Record<string, unknown>) => {
    const response = await gql<{ generateImage: { id: string } }, unknown>(system.url, GENERATE, { input: { prompt: 'a hook', width: 64, height: 64, steps: 2, ...input } }, token);
    return response;
  };
  const deliveries = async (token: string, jobId?: string) => {
    const response = await gql<{ webhookDeliveries: Delivery[] }, unknown>(system.url, DELIVERIES, { jobId }, token);
    expect(response.errors).toBeUndefined();
    return response.data!.webhookDeliveries;
  };
  const hooksOf = (jobId: string) => receiver.received.filter((r) => JSON.parse(r.body).data.id === jobId);
  const until = <T>(check: () => T | Promise<T>) => vi.waitFor(check, { timeout: 30_000, interval: 50 });

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    // Only the receiver's own host:port is let through; retries come after ~50 ms instead of seconds.
    env = testEnv({ WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`, WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_MAX_ATTEMPTS: '3' });
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
    const response = await gql<{ webhookSecret: string }, unknown>(system.url, `{ webhookSecret }`, {}, user.token);
    secret = response.data!.webhookSecret;
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    await receiver?.close();
  });

  it('gives each user a whsec_ secret, the same on every ask until rotated', async () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const again = await gql<{ webhookSecret: string }, unknown>(system.url, `{ webhookSecret }`, {}, user.token);
    expect(again.data!.webhookSecret).toBe(secret);
  });

  it("sends a job's events signed per Standard Webhooks; the standardwebhooks library verifies them, and refuses a tampered body", async () => {
    const created = await generate(user.token, { webhook: { url: `${receiver.url}/ok` } });
    expect(created.errors).toBeUndefined();
    const jobId = created.data!.generateImage.id;
    await waitForJob(system.url, user.token, jobId);
    const hooks = await until(() => {
      const got = hooksOf(jobId);
      expect(got.map((h) => JSON.parse(h.body).type)).toContain('job.completed');
      return got;
    });
    const verifier = new Webhook(secret);
    for (const hook of hooks) {
      const payload = verifier.verify(hook.body, headersOf(hook)) as { type: string; timestamp: string; data: { id: string } };
      expect(payload.data.id).toBe(jobId);
      expect(hook.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    }
    // Deliveries run concurrently, so they may arrive in any order; each says when its event happened.
    const events = hooks.map((h) => JSON.parse(h.body) as { type: string; timestamp: string });
    const at = (type: string) => Date.parse(events.find((e) => e.type === type)!.timestamp);
    for (const event of events) expect(Date.parse(event.timestamp)).toBeGreaterThanOrEqual(at('job.started'));
    for (const event of events) expect(Date.parse(event.timestamp)).toBeLessThanOrEqual(at('job.completed'));
    expect(events.map((e) => e.type)).toContain('job.progress');
    const completed = JSON.parse(hooks.find((h) => JSON.parse(h.body).type === 'job.completed')!.body);
    expect(completed.data).toMatchObject({ id: jobId, kind: 'IMAGE', status: 'COMPLETED', progress: 100, error: null });
    expect(completed.data.result.assetIds).toHaveLength(1);
    expect(new Date(completed.timestamp).getTime()).toBeGreaterThan(0);

    const last = hooks.find((h) => JSON.parse(h.body).type === 'job.completed')!;
    const tampered = last.body.replace('"status":"COMPLETED"', '"status":"FAILED"');
    expect(tampered).not.toBe(last.body);
    expect(() => verifier.verify(tampered, headersOf(last))).toThrow(/signature/i);
    expect(() => new Webhook('whsec_' + Buffer.from('not the secret, 24 bytes').toString('base64')).verify(last.body, headersOf(last))).toThrow();
  });

  it('retries a receiver that failed, with the same webhook-id and body, and logs both attempts', async () => {
    const created = await generate(user.token, { webhook: { url: `${receiver.url}/fail-first`, events: ['COMPLETED'] } });
    const jobId = created.data!.generateImage.id;
    const hooks = await until(() => {
      const got = hooksOf(jobId);
      expect(got).toHaveLength(2);
      return got;
    });
    expect(hooks.map((h) => h.answered)).toEqual([500, 200]);
    expect(hooks[1]!.headers['webhook-id']).toBe(hooks[0]!.headers['webhook-id']);
    expect(hooks[1]!.body).toBe(hooks[0]!.body);
    expect(JSON.parse(hooks[0]!.body).type).toBe('job.completed');
    new Webhook(secret).verify(hooks[1]!.body, headersOf(hooks[1]!));
    const [logged] = await until(async () => {
      const list = await deliveries(user.token, jobId);
      expect(list[0]?.status).toBe('SUCCEEDED');
      return list;
    });
    expect(logged).toMatchObject({ id: hooks[0]!.headers['webhook-id'], event: 'COMPLETED', attempts: 2, lastStatusCode: 200, lastError: null, nextRetryAt: null });
    expect(logged!.latencyMs).toBeGreaterThanOrEqual(0);

    // Redelivery sends the same message once more.
    const redelivered = await gql<{ redeliverWebhook: { id: string; status: string } }, unknown>(
      system.url,
      `mutation ($id: ID!) { redeliverWebhook(id: $id) { id status } }`,
      { id: logged!.id },
      user.token,
    );
    expect(redelivered.errors).toBeUndefined();
    const again = await until(() => {
      const got = hooksOf(jobId);
      expect(got).toHaveLength(3);
      return got[2]!;
    });
    expect(again.headers['webhook-id']).toBe(logged!.id);
    expect(again.body).toBe(hooks[0]!.body);
  });

  it('does not follow a redirect, and gives up after WEBHOOK_MAX_ATTEMPTS', async () => {
    const created = await generate(user.token, { webhook: { url: `${receiver.url}/redirect`, events: ['COMPLETED'] } });
    const jobId = created.data!.generateImage.id;
    const [failed] = await until(async () => {
      const list = await deliveries(user.token, jobId);
      expect(list[0]?.status).toBe('FAILED');
      return list;
    });
    expect(failed).toMatchObject({ attempts: 3, lastStatusCode: 302 });
    expect(failed!.lastError).toMatch(/gave up after 3 attempts/);
    // Only the redirecting path was called: /ok (its target) never saw this job.
    expect(hooksOf(jobId).map((h) => h.path)).toEqual(['/redirect', '/redirect', '/redirect']);
  });

  it('sends the events of all of a user\'s jobs to an account endpoint; a 410 disables it', async () => {
    const other = await createTestUser(core);
    const endpoint = await gql<{ createWebhookEndpoint: { id: string; events: string[]; enabled: boolean } }, unknown>(
      system.url,
      `mutation ($url: String!) { createWebhookEndpoint(url: $url, events: [COMPLETED, FAILED]) { id events enabled } }`,
      { url: `${receiver.url}/gone` },
      other.token,
    );
    expect(endpoint.errors).toBeUndefined();
    expect(endpoint.data!.createWebhookEndpoint).toMatchObject({ events: ['COMPLETED', 'FAILED'], enabled: true });
    const first = (await generate(other.token, {})).data!.generateImage.id;
    const [gone] = await until(async () => {
      const list = await deliveries(other.token, first);
      expect(list[0]?.status).toBe('FAILED');
      return list;
    });
    expect(gone).toMatchObject({ attempts: 1, lastStatusCode: 410, event: 'COMPLETED', endpoint: { enabled: false } });
    expect(gone!.endpoint.disabledReason).toMatch(/410/);
    // Disabled: the next job sends nothing.
    const second = (await generate(other.token, {})).data!.generateImage.id;
    await waitForJob(system.url, other.token, second);
    expect(await deliveries(other.token, second)).toEqual([]);
  });

  it('refuses loopback and private targets not listed in WEBHOOK_ALLOWED_HOSTS', async () => {
    for (const url of ['http://127.0.0.1:1/hook', 'http://localhost/hook', 'http://10.1.2.3/hook', 'http://169.254.169.254/latest', 'http://[::1]/x', 'ftp://example.com/x']) {
      const response = await generate(user.token, { webhook: { url } });
      expect(response.errors?.[0]?.extensions?.code, url).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.extensions?.field).toBe('webhook.url');
    }
    const endpoint = await gql(system.url, `mutation { createWebhookEndpoint(url: "http://192.168.1.10/x") { id } }`, {}, user.token);
    expect(endpoint.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('takes webhook and webhook_events_filter on a REST create route', async () => {
    const response = await fetch(`${system.url}/generate/image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}`, prefer: 'respond-async' },
      body: JSON.stringify({ prompt: 'rest hook', width: 64, height: 64, num_inference_steps: 2, webhook: `${receiver.url}/ok`, webhook_events_filter: ['completed'] }),
    });
    expect(response.status).toBe(200);
    const { task_id: jobId } = (await response.json()) as { task_id: string };
    const [hook] = await until(() => {
      const got = hooksOf(jobId);
      expect(got).toHaveLength(1);
      return got;
    });
    expect(JSON.parse(hook!.body).type).toBe('job.completed');
    const bad = await fetch(`${system.url}/generate/image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ prompt: 'x', webhook: `${receiver.url}/ok`, webhook_events_filter: ['sometimes'] }),
    });
    expect(bad.status).toBe(400);
  });

  it('signs with the new secret after a rotation', async () => {
    const rotated = await gql<{ rotateWebhookSecret: string }, unknown>(system.url, `mutation { rotateWebhookSecret }`, {}, user.token);
    const fresh = rotated.data!.rotateWebhookSecret;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(secret);
    const jobId = (await generate(user.token, { webhook: { url: `${receiver.url}/ok`, events: ['COMPLETED'] } })).data!.generateImage.id;
    const [hook] = await until(() => {
      const got = hooksOf(jobId);
      expect(got).toHaveLength(1);
      return got;
    });
    new Webhook(fresh).verify(hook!.body, headersOf(hook!));
    expect(() => new Webhook(secret).verify(hook!.body, headersOf(hook!))).toThrow();
  });
});
