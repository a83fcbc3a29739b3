import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Provider } from '../../src/db/entities/provider.entity.ts';
import { startFakeOpenAi } from '../fakes/openai.fake.ts';
import { startFakePiApi } from '../fakes/piapi.fake.ts';
import type { FakeProvider } from '../fakes/provider-fakes.shared.ts';
import { startFakeStableDiffusion } from '../fakes/stable-diffusion.fake.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { collect, gql, wsClient } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

interface Attempt {
  attemptNo: number;
  providerName: string;
  outcome: string;
  httpStatus: number | null;
  cost: number;
  error: string | null;
}
interface JobView {
  id: string;
  status: string;
  engine: string;
  cost: number;
  result: Record<string, any> | null;
  error: { code: string; message: string } | null;
  attempts: Attempt[];
}

const CONFIGURE = `mutation Configure($input: ConfigureProviderInput!) { configureProvider(input: $input) { id name apiKeyHint isActive } }`;
const GENERATE = `mutation Generate($input: GenerateImageInput!) { generateImage(input: $input) { id engine } }`;
const JOB = `query Job($id: ID!) { job(id: $id) { id status engine cost result error { code message } attempts { attemptNo providerName outcome httpStatus cost error } } }`;

// Routing and fallback read every active provider, so this file has a database of its own.
describe('paid providers end to end', () => {
  let scratch: ScratchDatabase;
  const env = testEnv({
    BATCH_RETRY_DELAY: '0.01',
    BATCH_MAX_RETRIES: '1',
    PROVIDER_REQUEST_TIMEOUT_MS: '1500',
    PROVIDER_POLL_INTERVAL_MS: '20',
    PROVIDER_BREAKER_THRESHOLD: '3',
    PROVIDER_BREAKER_COOLDOWN_SECONDS: '3',
    PROVIDER_CREDITS_TTL_SECONDS: '0',
    LOG_LEVEL: 'debug',
  });
  let system: RunningSystem;
  let core: Core;
  let admin: TestUser;
  let user: TestUser;
  let openai: FakeProvider;
  let piapi: FakeProvider;
  let sd: FakeProvider;
  const responses: string[] = [];
  const names: string[] = [];
  const jobIds: string[] = [];
  let run = 0;

  const call = async <T>(query: string, variables: Record<string, unknown>, token: string) => {
    const response = await gql<T, Record<string, unknown>>(system.url, query, variables, token);
    responses.push(JSON.stringify(response));
    return response;
  };

  /** A fresh provider row (fresh breaker and limits) on a fake; every earlier one is switched off. */
  const useProviders = async (...specs: [type: string, fake: FakeProvider, extra?: Record<string, unknown>][]) => {
    await core.orm.em.fork().nativeUpdate(Provider, { name: { $in: names } }, { isActive: false });
    run++;
    const ids: string[] = [];
    for (const [i, [type, fake, extra]] of specs.entries()) {
      const name = `e2e-${env.QUEUE_PREFIX}-${run}-${type.toLowerCase()}`;
      names.push(name);
      const r = await call<{ configureProvider: { id: string; apiKeyHint: string } }>(
        CONFIGURE,
        { input: { type, name, apiKey: fake.apiKey, baseUrl: fake.url, priority: i * 10, isDefault: i === 0, ...extra } },
        admin.token,
      );
      expect(r.errors).toBeUndefined();
      expect(r.data!.configureProvider.apiKeyHint).toBe(`••••${fake.apiKey.slice(-4)}`);
      ids.push(r.data!.configureProvider.id);
    }
    return ids;
  };

  const generate = async (input: Record<string, unknown>): Promise<JobView> => {
    const submitted = await call<{ generateImage: { id: string; engine: string } }>(GENERATE, { input: { prompt: 'a lighthouse', width: 512, height: 512, ...input } }, user.token);
    expect(submitted.errors).toBeUndefined();
    const id = submitted.data!.generateImage.id;
    jobIds.push(id);
    await waitForJob(system.url, user.token, id, undefined, 20_000);
    return (await call<{ job: JobView }>(JOB, { id }, user.token)).data!.job;
  };

  beforeAll(async () => {
    [openai, piapi, sd] = await Promise.all([startFakeOpenAi(), startFakePiApi(), startFakeStableDiffusion()]);
    scratch = await createScratchDatabase(env.DATABASE_URL!, 'providers');
    env.DATABASE_URL = scratch.url;
    core = await testCore(env);
    admin = await createTestUser(core, 'admin');
    user = await createTestUser(core);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    await scratch?.drop();
    await Promise.all([openai?.close(), piapi?.close(), sd?.close()]);
  });

  it('lets only admins configure providers, seals the key and never returns it', async () => {
    const refused = await call(CONFIGURE, { input: { type: 'OPENAI', name: 'not-mine', apiKey: 'sk-nope-123456' } }, user.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const [id] = await useProviders(['OPENAI', openai]);
    const row = await core.orm.em.fork().findOneOrFail(Provider, { id: id! });
    expect(row.apiKeyEncrypted).not.toContain(openai.apiKey);
    expect(core.providers.adapterContext(row, new AbortController().signal).apiKey).toBe(openai.apiKey);
    const listed = await call<{ providers: { id: string; config: unknown; health: string }[] }>(`{ providers { id name config health apiKeyHint } }`, {}, user.token);
    const mine = listed.data!.providers.find((p) => p.id === id)!;
    expect(mine).toMatchObject({ config: null, health: 'OK' });
    const estimate = await call<{ estimateCost: { estimatedCost: number; providerId: string } }>(
      `query E($input: GenerateImageInput!) { estimateCost(input: $input) { estimatedCost providerId numImages } }`,
      { input: { prompt: 'x', width: 1024, height: 1024, numImages: 3, providerId: id } },
      user.token,
    );
    expect(estimate.data!.estimateCost).toEqual({ estimatedCost: 0.12, providerId: id, numImages: 3 });

    const newKey = `${openai.apiKey}-rotated`;
    const updated = await call<{ updateProvider: { costPerImage: number; apiKeyHint: string } }>(
      `mutation U($id: ID!, $input: UpdateProviderInput!) { updateProvider(id: $id, input: $input) { costPerImage apiKeyHint } }`,
      { id, input: { costPerImage: 0.03, apiKey: newKey } },
      admin.token,
    );
    expect(updated.data!.updateProvider).toEqual({ costPerImage: 0.03, apiKeyHint: `••••${newKey.slice(-4)}` });
    const refusedUpdate = await call(`mutation U($id: ID!) { deactivateProvider(id: $id) { id } }`, { id }, user.token);
    expect(refusedUpdate.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const off = await call<{ deactivateProvider: { isActive: boolean; health: string } }>(`mutation D($id: ID!) { deactivateProvider(id: $id) { isActive health } }`, { id }, admin.token);
    expect(off.data!.deactivateProvider).toEqual({ isActive: false, health: 'INACTIVE' });
    const toInactive = await call(GENERATE, { input: { prompt: 'x', providerId: id } }, user.token);
    expect(toInactive.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const deleted = await call<{ deleteProvider: boolean }>(`mutation X($id: ID!) { deleteProvider(id: $id) }`, { id }, admin.token);
    expect(deleted.data!.deleteProvider).toBe(true);
    const after = await call<{ providers: { id: string }[] }>(`{ providers { id } }`, {}, user.token);
    expect(after.data!.providers.some((p) => p.id === id)).toBe(false);
  });

  it('falls back from a failing provider to the next, recording every attempt and charging only the success', async () => {
    const [openaiId] = await useProviders(['OPENAI', openai], ['PIAPI', piapi]);
    openai.faults = ['500', '429'];
    const before = { openai: openai.generations, piapi: piapi.generations };
    const job = await generate({ providerId: openaiId, width: 640, height: 480 });
    expect(job.status).toBe('COMPLETED');
    expect(job.engine).toBe('provider');
    expect(job.attempts.map((a) => [a.outcome, a.httpStatus])).toEqual([
      ['SERVER_ERROR', 500],
      ['RATE_LIMITED', 429],
      ['SUCCESS', 200],
    ]);
    expect(job.attempts.map((a) => a.cost)).toEqual([0, 0, 0.009]);
    expect(job.cost).toBe(0.009);
    expect(job.result!.provider).toMatchObject({ type: 'PIAPI', model: 'midjourney', reason: 'fallback' });
    expect(job.result!.used).toMatchObject({ width: 640, height: 480 });
    expect(job.result!.dropped.map((d: { param: string }) => d.param)).toEqual(['steps', 'guidance']);
    expect(job.result!.urls.length).toBeGreaterThan(0);
    expect([openai.generations - before.openai, piapi.generations - before.piapi]).toEqual([2, 1]);

    const incomplete = await call(GENERATE, { input: { prompt: 'x', engine: 'provider', extraParams: { mode: 'faceswap', swap_image: 'https://x/f.png' } } }, user.token);
    expect(incomplete.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(incomplete.errors?.[0]?.message).toMatch(/target_image/);

    // Routed by style with no providerId: "art" goes to Midjourney first.
    const art = await generate({ engine: 'provider', style: 'art' });
    expect(art.attempts.map((a) => [a.providerName.endsWith('piapi'), a.outcome])).toEqual([[true, 'SUCCESS']]);
  });

  it('fails a job whose providers all time out, answer empty or lack credits, at no cost, and raises an alert', async () => {
    await useProviders(['OPENAI', openai], ['PIAPI', piapi]);
    openai.faults = ['timeout', 'empty'];
    piapi.faults = ['no-credits'];
    const job = await generate({ engine: 'provider' });
    expect(job.status).toBe('FAILED');
    expect(job.error!.message).toMatch(/Insufficient credits/);
    expect(job.attempts.map((a) => a.outcome)).toEqual(['TIMEOUT', 'EMPTY_RESULT', 'NO_CREDITS']);
    expect(job.cost).toBe(0);
    const alerts = await call<{ alerts: { kind: string; providerName: string }[] }>(`{ alerts { kind providerName message } }`, {}, admin.token);
    expect(alerts.data!.alerts.some((a) => a.kind === 'CREDITS_EXHAUSTED' && a.providerName === names.at(-1))).toBe(true);
  });

  it('skips a provider without credits, reports its credits, and alerts when credits drop below 10%', async () => {
    const [piapiId] = await useProviders(['PIAPI', piapi], ['STABLE_DIFFUSION', sd]);
    const client = wsClient(system.wsUrl, admin.token);
    const low = new Promise<{ alerts: { kind: string } }>((resolve, reject) => {
      const { done } = collect<{ alerts: { kind: string } }>(client, `subscription { alerts { kind providerName } }`, {}, (event) => {
        if (event.alerts.kind === 'LOW_CREDITS') resolve(event);
      });
      done.catch(reject);
    });
    await new Promise((r) => setTimeout(r, 200));
    piapi.credits = 100;
    const full = await call<{ providerCredits: { credits: number; hasCredits: boolean } }>(`query C($id: ID!) { providerCredits(id: $id) { credits hasCredits checkedAt } }`, { id: piapiId }, user.token);
    expect(full.data!.providerCredits).toMatchObject({ credits: 100, hasCredits: true });
    piapi.credits = 5;
    await call(`query C($id: ID!) { providerCredits(id: $id) { credits } }`, { id: piapiId }, user.token);
    expect((await low).alerts.kind).toBe('LOW_CREDITS');
    await client.dispose();

    piapi.credits = 0;
    const job = await generate({ providerId: piapiId });
    expect(job.status).toBe('COMPLETED');
    expect(job.attempts.map((a) => a.outcome)).toEqual(['SKIPPED_NO_CREDITS', 'SUCCESS']);
    expect(job.cost).toBe(0.0067);
    piapi.credits = 100;
  });

  it('opens the circuit breaker after repeated failures and closes it after the cooldown', async () => {
    const [sdId] = await useProviders(['STABLE_DIFFUSION', sd], ['PIAPI', piapi]);
    sd.faults = ['500', '500', '500'];
    const first = await generate({ providerId: sdId });
    expect(first.attempts.map((a) => a.outcome)).toEqual(['SERVER_ERROR', 'SERVER_ERROR', 'SUCCESS']);
    const health = async () =>
      (await call<{ providers: { id: string; health: string }[] }>(`{ providers { id health } }`, {}, user.token)).data!.providers.find((p) => p.id === sdId)!.health;
    const second = await generate({ providerId: sdId });
    expect(second.attempts.map((a) => a.outcome)).toEqual(['SERVER_ERROR', 'SUCCESS']);
    expect(await health()).toBe('COOLING_DOWN');
    const third = await generate({ providerId: sdId });
    expect(third.attempts.map((a) => a.outcome)).toEqual(['SKIPPED_CIRCUIT_OPEN', 'SUCCESS']);
    const deadline = Date.now() + 8000;
    while ((await health()) !== 'OK' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const fourth = await generate({ providerId: sdId });
    expect(fourth.attempts.map((a) => [a.providerName.endsWith('stable_diffusion'), a.outcome])).toEqual([[true, 'SUCCESS']]);
    const alerts = await call<{ alerts: { kind: string; providerName: string }[] }>(`{ alerts { kind providerName } }`, {}, admin.token);
    expect(alerts.data!.alerts.some((a) => a.kind === 'PROVIDER_UNAVAILABLE' && a.providerName === names.at(-2))).toBe(true);
    const perf = await call<{ providerPerformance: { attempts: number; successes: number; jobs: number } }>(
      `query P($id: ID!) { providerPerformance(id: $id, hours: 1) { attempts successes successRate p50LatencyMs p95LatencyMs cost jobs volume } }`,
      { id: sdId },
      admin.token,
    );
    expect(perf.data!.providerPerformance).toMatchObject({ attempts: 4, successes: 1, jobs: 3, volume: 3 });
  });

  it('serves identical requests from the cache, and makes two identical in-flight requests once', async () => {
    const [sdId] = await useProviders(['STABLE_DIFFUSION', sd]);
    sd.delayMs = 300;
    const before = sd.generations;
    const input = { providerId: sdId, prompt: 'the  same   cat', seed: 42 };
    const [a, b] = await Promise.all([generate(input), generate({ ...input, prompt: 'the same cat' })]);
    sd.delayMs = 0;
    expect(sd.generations - before).toBe(1);
    expect([a.status, b.status]).toEqual(['COMPLETED', 'COMPLETED']);
    expect([a.cost, b.cost].sort()).toEqual([0, 0.0067]);
    expect([a.result!.cached, b.result!.cached].sort()).toEqual([false, true]);
    const third = await generate(input);
    expect(third.result!.cached).toBe(true);
    expect(third.cost).toBe(0);
    expect(third.attempts.map((x) => x.outcome)).toEqual(['CACHED']);
    expect(sd.generations - before).toBe(1);
    const stats = await call<{ cacheStats: { hits: number; misses: number; size: number } }>(`{ cacheStats { hits misses hitRate size } }`, {}, admin.token);
    expect(stats.data!.cacheStats.hits).toBeGreaterThanOrEqual(2);
    expect(stats.data!.cacheStats.misses).toBeGreaterThanOrEqual(1);
    expect(stats.data!.cacheStats.size).toBeGreaterThanOrEqual(1);
  });

  it('analyses images with the vision mode and generates from the analysis, charging both', async () => {
    const [openaiId] = await useProviders(['OPENAI', openai]);
    const extraParams = { mode: 'vision', input_images: ['https://example.com/city.jpg'], generate_from_analysis: true };
    const job = await generate({ providerId: openaiId, prompt: 'the same in cyberpunk style', extraParams });
    expect(job.status).toBe('COMPLETED');
    expect(job.result!.analysis).toMatch(/red square/);
    expect(job.result!.vision_analysis).toBe(job.result!.analysis);
    expect(job.result!.enhanced_prompt).toContain('cyberpunk');
    expect(job.result!.urls).toHaveLength(1);
    expect(job.cost).toBeCloseTo(0.01 + 0.005 + 0.04, 6);
    const analysisOnly = await generate({ providerId: openaiId, prompt: 'describe it', extraParams: { ...extraParams, generate_from_analysis: false } });
    expect(analysisOnly.status).toBe('COMPLETED');
    expect(analysisOnly.result!.urls).toHaveLength(0);
    expect(analysisOnly.cost).toBeCloseTo(0.015, 6);
  });

  it('charges a failed job what its provider billed before failing, and nothing more', async () => {
    const [openaiId] = await useProviders(['OPENAI', openai]);
    // Two DALL-E 3 images are two calls; each run's second call fails after the first was billed.
    openai.faults = ['ok', '500', 'ok', '500'];
    const job = await generate({ providerId: openaiId, numImages: 2, width: 1024, height: 1024 });
    expect(job.status).toBe('FAILED');
    expect(job.attempts.map((a) => [a.outcome, a.cost])).toEqual([
      ['SERVER_ERROR', 0.04],
      ['SERVER_ERROR', 0.04],
    ]);
    expect(job.cost).toBeCloseTo(0.08, 6);
  });

  it('runs a batch through the providers, its cost the sum of its jobs', async () => {
    const [sdId] = await useProviders(['STABLE_DIFFUSION', sd]);
    const created = await call<{ generateBatch: { id: string; jobs: { id: string; engine: string }[] } }>(
      `mutation B($requests: [GenerateImageInput!]!) { generateBatch(requests: $requests) { id jobs { id engine } } }`,
      { requests: [{ prompt: 'one', providerId: sdId }, { prompt: 'two', providerId: sdId, numImages: 2 }] },
      user.token,
    );
    expect(created.errors).toBeUndefined();
    const batch = created.data!.generateBatch;
    expect(batch.jobs.map((j) => j.engine)).toEqual(['provider', 'provider']);
    jobIds.push(...batch.jobs.map((j) => j.id));
    for (const job of batch.jobs) await waitForJob(system.url, user.token, job.id, undefined, 20_000);
    const progress = await call<{ batch: { progress: { status: string; cost: number } } }>(`query B($id: ID!) { batch(id: $id) { progress { status cost } } }`, { id: batch.id }, user.token);
    expect(progress.data!.batch.progress.status).toBe('COMPLETED');
    expect(progress.data!.batch.progress.cost).toBeCloseTo(0.0067 * 3, 6);
  });

  it('moves on to the next provider when one is over its requests per minute', async () => {
    const [sdId] = await useProviders(['STABLE_DIFFUSION', sd, { rateLimitRpm: 1 }], ['PIAPI', piapi]);
    const first = await generate({ providerId: sdId });
    expect(first.attempts.map((a) => a.outcome)).toEqual(['SUCCESS']);
    const second = await generate({ providerId: sdId });
    expect(second.attempts.map((a) => [a.providerName.split('-').at(-1), a.outcome])).toEqual([
      ['stable_diffusion', 'SKIPPED_RATE_LIMIT'],
      ['piapi', 'SUCCESS'],
    ]);
  });

  it('reports costs that add up to the jobs, and never shows a provider key in any response or log line', async () => {
    const jobs = await Promise.all(jobIds.map(async (id) => (await call<{ job: JobView }>(JOB, { id }, user.token)).data!.job));
    const total = jobs.reduce((sum, j) => sum + j.cost, 0);
    expect(total).toBeGreaterThan(0);
    const byUser = await call<{ costs: { key: string; count: number; totalCost: number }[] }>(`{ costs(groupBy: USER) { key count totalCost averageGenerationMs } }`, {}, user.token);
    expect(byUser.data!.costs).toHaveLength(1);
    expect(byUser.data!.costs[0]!.key).toBe(user.username);
    expect(byUser.data!.costs[0]!.count).toBe(jobIds.length);
    expect(byUser.data!.costs[0]!.totalCost).toBeCloseTo(total, 6);
    const byDay = await call<{ costs: { key: string; count: number; totalCost: number }[] }>(`{ costs(groupBy: DAY) { key count totalCost } }`, {}, user.token);
    expect(byDay.data!.costs.reduce((sum, r) => sum + r.totalCost, 0)).toBeCloseTo(total, 6);
    expect(byDay.data!.costs[0]!.key).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const byKind = await call<{ costs: { key: string; count: number }[] }>(`{ costs(groupBy: KIND) { key count } }`, {}, user.token);
    expect(byKind.data!.costs).toEqual([{ key: 'IMAGE', count: jobIds.length }]);
    const byProvider = await call<{ costs: { key: string; totalCost: number }[] }>(`{ costs(groupBy: PROVIDER) { key count totalCost } }`, {}, admin.token);
    const providerTotal = byProvider.data!.costs.filter((r) => names.includes(r.key)).reduce((s, r) => s + r.totalCost, 0);
    expect(providerTotal).toBeCloseTo(total, 6);

    const output = system.api.output() + system.worker.output();
    expect(output.length).toBeGreaterThan(0);
    for (const key of [openai.apiKey, piapi.apiKey, sd.apiKey]) {
      for (const text of [...responses, output]) expect(text.includes(key)).toBe(false);
    }
  });
});
