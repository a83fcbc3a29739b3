import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Provider } from '../../src/db/entities/provider.entity.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { startFakePiApi } from '../fakes/piapi.fake.ts';
import { getJson, postJson } from '../helpers/media.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

/** Document 001 (image service): batch, providers admin, costs and monitoring routes under /api/v1/images. */
describe('REST image service API (001)', () => {
  // Credits are trusted for PROVIDER_CREDITS_TTL_SECONDS; 0 here so each call below asks the (fake) provider.
  const env = testEnv({ PROVIDER_CREDITS_TTL_SECONDS: '0' });
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let admin: TestUser;
  const auth = (who: TestUser) => ({ authorization: `Bearer ${who.token}` });
  const providerName = `piapi-${Date.now()}`;
  let scratch: ScratchDatabase;

  beforeAll(async () => {
    // Requests without provider_id go to whichever provider is active: a database of its own keeps other test
    // files' providers out of this one's routes.
    scratch = await createScratchDatabase(inject('databaseUrl'), 'rest001');
    env.DATABASE_URL = scratch.url;
    core = await testCore(env);
    user = await createTestUser(core);
    admin = await createTestUser(core, 'admin');
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    // The database is shared with other test files: leave no active provider behind for them to route to.
    const em = core?.orm.em.fork();
    if (em) await em.nativeDelete(Provider, { name: providerName });
    await core?.close();
    await scratch?.drop();
  });

  it('runs the "batch with fallback" Python example and reports the batch by its job_id', async () => {
    const response = await postJson(
      `${system.url}/api/v1/images/batch-generate`,
      { requests: Array.from({ length: 5 }, (_, i) => ({ prompt: `Product photo ${i}`, width: 128, height: 128, steps: 3 })) },
      auth(user),
    );
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ job_id: expect.any(String), total: 5, status: expect.any(String) });
    let batch: any;
    for (let i = 0; i < 400; i++) {
      batch = (await getJson(`${system.url}/api/v1/images/batch/${response.body.job_id}`, auth(user))).body;
      if (batch.status !== 'queued' && batch.status !== 'processing') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(batch).toMatchObject({ job_id: response.body.job_id, status: 'completed', completed: 5, progress: 100 });
    expect(batch.results).toHaveLength(5);
    for (const result of batch.results) expect(result.image_urls).toEqual([expect.stringContaining('/files/')]);

    // The documented batch body names a provider that does not exist here: refused whole, FastAPI-style.
    const documented = await postJson(
      `${system.url}/api/v1/images/batch`,
      { requests: [{ prompt: 'A beautiful sunset', width: 1024, height: 1024, num_images: 1 }], provider_id: 'openai', priority: 5, metadata: { description: 'Marketing campaign images' } },
      auth(user),
    );
    expect(documented.status).toBe(400);
    expect(documented.body).toEqual({ detail: expect.stringContaining('openai'), error_code: 'BAD_USER_INPUT' });
  });

  it('configures a provider (admins only), lists it with the documented fields and estimates a cost', async () => {
    // A loopback address that refuses connections: this provider must never send a request off this machine.
    const body = { provider_type: 'piapi', name: providerName, api_key: 'YOUR_PIAPI_KEY', base_url: 'http://127.0.0.1:9', config: { default_service: 'midjourney', use_websocket: true }, is_default: false };
    const refused = await postJson(`${system.url}/api/v1/images/providers`, body, auth(user));
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ detail: 'Admins only', error_code: 'FORBIDDEN' });

    const configured = await postJson(`${system.url}/api/v1/images/providers`, { ...body, cost_per_image: 0.009 }, auth(admin));
    expect(configured.status).toBe(200);
    const list = await getJson(`${system.url}/api/v1/images/providers`, auth(user));
    expect(list.body).toContainEqual({
      id: configured.body.id,
      name: providerName,
      type: 'piapi',
      is_active: true,
      is_default: false,
      cost_per_image: 0.009,
      credits_remaining: null,
    });

    const estimate = await postJson(
      `${system.url}/api/v1/images/estimate-cost`,
      { prompt: 'A beautiful landscape', width: 1024, height: 1024, num_images: 4, provider_id: providerName },
      auth(user),
    );
    expect(estimate.status).toBe(200);
    expect(estimate.body).toEqual({ estimated_cost: expect.any(Number), provider_id: providerName, num_images: 4 });
    expect(estimate.body.estimated_cost).toBeGreaterThan(0);
  });

  it('reports a provider\'s credits from its own credit API (the documented GET …/credits)', async () => {
    const piapi = await startFakePiApi();
    piapi.credits = 1250.5;
    const name = `piapi-credits-${Date.now()}`;
    try {
      const configured = await postJson(
        `${system.url}/api/v1/images/providers`,
        { provider_type: 'piapi', name, api_key: piapi.apiKey, base_url: piapi.url, is_default: false },
        auth(admin),
      );
      expect(configured.status).toBe(200);
      const credits = await getJson(`${system.url}/api/v1/images/providers/${configured.body.id}/credits`, auth(admin));
      expect(credits.status).toBe(200);
      expect(credits.body).toMatchObject({ credits: 1250.5, has_credits: true });
      expect(piapi.requests.some((r) => r.method === 'GET' && r.path === '/account/info')).toBe(true);

      piapi.credits = 0;
      const empty = await getJson(`${system.url}/api/v1/images/providers/${configured.body.id}/credits`, auth(admin));
      expect(empty.body).toMatchObject({ credits: 0, has_credits: false });
      const unknown = await getJson(`${system.url}/api/v1/images/providers/00000000-0000-4000-8000-000000000000/credits`, auth(admin));
      expect(unknown.status).toBe(404);
    } finally {
      await core.orm.em.fork().nativeDelete(Provider, { name });
      await piapi.close();
    }
  });

  it('serves metrics, cache stats, provider performance and alerts (the last three to admins)', async () => {
    const metrics = await getJson(`${system.url}/api/v1/images/metrics`, auth(user));
    expect(metrics.body).toMatchObject({ providers: expect.any(Array), total_cost: expect.any(Number), cache_hit_rate: expect.any(Number) });

    expect((await getJson(`${system.url}/api/v1/images/cache/stats`, auth(user))).status).toBe(403);
    const cache = await getJson(`${system.url}/api/v1/images/cache/stats`, auth(admin));
    expect(cache.body).toEqual({ hits: expect.any(Number), misses: expect.any(Number), hit_rate: expect.any(Number), size: expect.any(Number) });

    const perf = await getJson(`${system.url}/api/v1/images/providers/${providerName}/performance?hours=24`, auth(admin));
    expect(perf.status).toBe(200);
    expect(perf.body).toMatchObject({ hours: 24, attempts: 0, success_rate: expect.any(Number), cost: 0 });
    const badHours = await getJson(`${system.url}/api/v1/images/providers/${providerName}/performance?hours=0`, auth(admin));
    expect(badHours.status).toBe(400);
    expect(badHours.body.error_code).toBe('BAD_USER_INPUT');

    const alerts = await getJson(`${system.url}/api/v1/images/monitor/alerts`, auth(admin));
    expect(alerts.body).toEqual({ alerts: expect.any(Array), count: alerts.body.alerts.length });
  });
});
