import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { Provider } from '../../src/db/entities/provider.entity.ts';
import { bootstrapProviders } from '../../src/services/provider.service.ts';
import { checkQueueDepth } from '../../src/services/queue-monitor.ts';
import { startFakeOpenAi } from '../fakes/openai.fake.ts';
import { startFakePiApi } from '../fakes/piapi.fake.ts';
import type { FakeProvider } from '../fakes/provider-fakes.shared.ts';
import { startFakeStableDiffusion } from '../fakes/stable-diffusion.fake.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testConfig, testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { getJson, pngBytes, postJson, wavBytes } from '../helpers/media.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

/**
 * The twelve points of "REST compatibility, round two", each replayed the way its document's client sends it:
 * Python requests' json=, files= and data=, curl -F, a browser's FormData and preflight. Providers are routed
 * over every active row, so this file has a database of its own.
 */
describe('REST compatibility, round two', () => {
  const env = testEnv({
    CORS_ORIGINS: 'http://front.example',
    PROVIDER_KEY_SECRET: 'round-two-provider-secret-0123456789abcdef',
    PROVIDER_POLL_INTERVAL_MS: '20',
    BATCH_RETRY_DELAY: '0.01',
    BATCH_MAX_RETRIES: '0',
    ALERT_QUEUE_DEPTH: '1',
    // No ComfyUI worker: workflow jobs stay queued, which is what the wait and queue-depth checks need.
    WORKER_ENGINES: 'builtin,provider',
  });
  let scratch: ScratchDatabase;
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let admin: TestUser;
  let openai: FakeProvider;
  let piapi: FakeProvider;
  let sd: FakeProvider;
  const staticKey = `static-admin-key-${Date.now()}`;
  const auth = (who: TestUser) => ({ authorization: `Bearer ${who.token}` });

  beforeAll(async () => {
    scratch = await createScratchDatabase(inject('databaseUrl'), 'round2');
    env.DATABASE_URL = scratch.url;
    [openai, piapi, sd] = await Promise.all([startFakeOpenAi(), startFakePiApi(), startFakeStableDiffusion()]);
    core = await testCore(env);
    user = await createTestUser(core);
    admin = await createTestUser(core, 'admin');
    // The documents' environment: keys and base URLs at first start (OpenAI's SDK convention keeps /v1).
    const keys = {
      OPENAI_API_KEY: openai.apiKey,
      OPENAI_BASE_URL: `${openai.url}/v1`,
      PIAPI_API_KEY: piapi.apiKey,
      PIAPI_BASE_URL: piapi.url,
      STABLE_DIFFUSION_API_KEY: sd.apiKey,
      STABLE_DIFFUSION_BASE_URL: sd.url,
    };
    await bootstrapProviders(core.orm.em.fork(), testConfig({ ...env, ...keys }), env.PROVIDER_KEY_SECRET!);
    Object.assign(env, { API_KEY: staticKey, ADMIN_USERNAME: admin.username });
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    await Promise.all([openai?.close(), piapi?.close(), sd?.close()]);
    await scratch?.drop();
  });

  it('1. takes the document’s provider ids (and uuids, and "openai") everywhere an id goes', async () => {
    const providers = await getJson(`${system.url}/api/v1/images/providers`, auth(user));
    expect(providers.body.map((p: { id: string }) => p.id)).toEqual(['openai_default', 'piapi_default', 'stable_diffusion_default']);
    expect(providers.body[0]).toMatchObject({ id: 'openai_default', name: 'OpenAI Default', type: 'openai', is_default: true, cost_per_image: 0.02 });

    // Example 1 of 001, verbatim: requests.post(json={"prompt": …, "provider_id": "openai_default"}).
    const simple = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'A futuristic city at night', provider_id: 'openai_default' }, auth(user));
    expect(simple.status).toBe(200);
    expect(simple.body).toMatchObject({ status: 'completed', provider_id: 'openai_default', image_urls: [expect.stringContaining('/files/')] });
    expect(simple.body.cost).toBeGreaterThan(0);

    const credits = await getJson(`${system.url}/api/v1/images/providers/piapi_default/credits`, auth(user));
    expect(credits.body).toEqual({ provider_id: 'piapi_default', credits: 100, has_credits: true });
    const performance = await getJson(`${system.url}/api/v1/images/providers/openai_default/performance?hours=24`, auth(admin));
    expect(performance.status).toBe(200);
    expect(performance.body).toMatchObject({ provider_id: 'openai_default', hours: 24, successes: 1 });

    const uuid = (await core.orm.em.fork().findOneOrFail(Provider, { slug: 'piapi_default' })).id;
    expect((await getJson(`${system.url}/api/v1/images/providers/${uuid}/credits`, auth(user))).body.provider_id).toBe('piapi_default');

    // GraphQL takes the same ids.
    const viaGraphql = await gql<{ providers: { slug: string }[]; providerCredits: { credits: number } }, unknown>(
      system.url,
      'query { providers { slug } providerCredits(id: "piapi_default") { credits } }',
      undefined,
      user.token,
    );
    expect(viaGraphql.data).toEqual({ providers: [{ slug: 'openai_default' }, { slug: 'piapi_default' }, { slug: 'stable_diffusion_default' }], providerCredits: { credits: 100 } });

    // The batch example's "openai" names the provider by its type.
    const batch = await postJson(
      `${system.url}/api/v1/images/batch`,
      { requests: [{ prompt: 'A beautiful sunset', width: 1024, height: 1024, num_images: 1 }], provider_id: 'openai', priority: 5, metadata: { description: 'Marketing campaign images' } },
      auth(user),
    );
    expect(batch.status).toBe(200);
    expect(batch.body).toMatchObject({ total: 1, metadata: { description: 'Marketing campaign images' } });
  });

  it('2. without provider_id, 001 takes the default provider route, with style and feature routing', async () => {
    const plain = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'A cat playing piano', width: 1024, height: 1024 }, auth(user));
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ status: 'completed', provider_id: 'openai_default' });
    expect(plain.body.cost).toBeGreaterThan(0);
    // estimate-cost for the same request names the same provider.
    const estimate = await postJson(`${system.url}/api/v1/images/estimate-cost`, { prompt: 'A cat playing piano', width: 1024, height: 1024 }, auth(user));
    expect(estimate.body).toMatchObject({ provider_id: 'openai_default', num_images: 1 });

    const art = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'ethereal fantasy landscape', style: 'art' }, auth(user));
    expect(art.body).toMatchObject({ status: 'completed', provider_id: 'piapi_default' });
    const controlnet = await postJson(
      `${system.url}/api/v1/images/generate`,
      { prompt: 'modern house, architectural photography', extra_params: { controlnet: true, controlnet_model: 'canny', init_image: 'base64_encoded_image_here' } },
      auth(user),
    );
    expect(controlnet.body).toMatchObject({ provider_id: 'stable_diffusion_default' });
    // 001's examples verbatim: "Gerar Imagem", PiAPI Midjourney, and GPT-4 Vision analysis + generation.
    const documented = await postJson(
      `${system.url}/api/v1/images/generate`,
      {
        prompt: 'A beautiful sunset over mountains',
        negative_prompt: 'blurry, low quality',
        width: 1024,
        height: 1024,
        num_images: 1,
        provider_id: 'piapi_default',
        style: 'realistic',
        guidance_scale: 7.5,
        steps: 30,
        extra_params: { service: 'midjourney' },
      },
      auth(user),
    );
    expect(documented.body).toMatchObject({ status: 'completed', success: true, provider_id: 'piapi_default', image_urls: expect.arrayContaining([expect.any(String)]) });
    const midjourney = await postJson(
      `${system.url}/api/v1/images/generate`,
      { prompt: 'ethereal fantasy landscape, highly detailed', provider_id: 'piapi_default', extra_params: { service: 'midjourney', chaos: 50, stylize: 1000 } },
      auth(user),
    );
    expect(midjourney.body).toMatchObject({ status: 'completed', provider_id: 'piapi_default' });
    const vision = await postJson(
      `${system.url}/api/v1/images/generate`,
      {
        prompt: 'Create a similar image but in cyberpunk style',
        width: 1024,
        height: 1024,
        provider_id: 'openai_default',
        extra_params: { mode: 'vision', input_images: ['https://example.com/city.jpg'], generate_from_analysis: true, dalle_model: 'dall-e-3' },
      },
      auth(user),
    );
    expect(vision.body).toMatchObject({ status: 'completed', provider_id: 'openai_default', metadata: { vision_analysis: expect.any(String), enhanced_prompt: expect.any(String) } });
    expect(vision.body.image_urls).toHaveLength(1);

    // 003's request (a character, its step name) keeps the configured default engine: no provider, no cost.
    const local = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'a lantern', width: 128, height: 128, num_inference_steps: 3 }, auth(user));
    expect(local.body).toMatchObject({ status: 'completed', cost: 0, provider_id: null });
  });

  it('3. answers 002 and 004 without credentials while listening on loopback only', async () => {
    const tasks = await getJson(`${system.url}/api/v1/tasks`);
    expect(tasks.status).toBe(200);
    expect(tasks.body).toEqual({ tasks: expect.any(Object), count: expect.any(Number) });
    // The 002 document's curl -F example, with no Authorization header.
    const form = new FormData();
    form.append('image_file', new Blob([new Uint8Array(await pngBytes())]), 'person.jpg');
    form.append('audio_file', new Blob([new Uint8Array(wavBytes(0.3))]), 'speech.wav');
    form.append('use_cache', 'True');
    const created = await fetch(`${system.url}/api/v1/inference/hallo2`, { method: 'POST', body: form });
    expect(created.status).toBe(200);
    expect(await created.json()).toEqual({ task_id: expect.any(String), status: 'queued', message: 'Inference task queued successfully' });
    // Other families still need a credential.
    expect((await getJson(`${system.url}/api/v1/images/providers`)).status).toBe(401);
  });

  it('4. answers the browser’s preflight on every REST route and /graphql (CORS_ORIGINS)', async () => {
    for (const path of ['/api/upload', '/api/generate', '/api/v1/tasks/x', '/generate/image', '/graphql']) {
      const preflight = await fetch(`${system.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'http://front.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.status, path).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin'), path).toBe('http://front.example');
      expect(preflight.headers.get('access-control-allow-methods'), path).toContain('POST');
    }
    const other = await fetch(`${system.url}/api/upload`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(`${system.url}/health`, { headers: { origin: 'http://front.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBe('http://front.example');
  });

  it('5. reads application/x-www-form-urlencoded wherever a document shows a form (requests’ data=)', async () => {
    const upload = new FormData();
    upload.append('image', new Blob([new Uint8Array(await pngBytes())]), 'photo.png');
    const { imageUrl } = (await (await fetch(`${system.url}/api/upload`, { method: 'POST', body: upload })).json()) as { imageUrl: string };
    const generated = await fetch(`${system.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ imageUrl, text: 'Описание сцены...' }),
    });
    expect(generated.status).toBe(200);
    expect(await generated.json()).toMatchObject({ video: expect.stringContaining('/files/'), isDemo: false, status: 'completed' });
    // An urlencoded upload cannot carry a file: a 400 in 004's shape that says how, not 415.
    const noFile = await fetch(`${system.url}/api/upload`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'image=photo.png' });
    expect(noFile.status).toBe(400);
    expect(await noFile.json()).toMatchObject({ error: 'Invalid input', details: expect.stringContaining('multipart/form-data') });
    // 002's config posted as a form: its numbers and booleans are read from the text.
    const config = await fetch(`${system.url}/api/v1/inference/hallo2/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'guidance_scale=3.5&inference_steps=25&enable_cache=true',
    });
    expect(config.status).toBe(200);
    expect(await config.json()).toEqual({ status: 'success', message: 'Configuration updated successfully' });
  });

  it('6. takes each provider’s batch size: PiAPI 10 in one call, Stable-Diffusion.com 4 a call (the document’s num_images: 5)', async () => {
    // The document's own estimate-cost example, verbatim.
    const body = { prompt: 'A beautiful landscape', width: 1024, height: 1024, num_images: 5, provider_id: 'stable_diffusion_default' };
    const sdEstimate = await postJson(`${system.url}/api/v1/images/estimate-cost`, body, auth(user));
    expect(sdEstimate.status).toBe(200);
    expect(sdEstimate.body).toEqual({ estimated_cost: expect.any(Number), provider_id: 'stable_diffusion_default', num_images: 5 });
    // SD 1.5, the default model: $0.0067 an image.
    expect(sdEstimate.body.estimated_cost).toBeCloseTo(5 * 0.0067, 6);
    const piapiEstimate = await postJson(`${system.url}/api/v1/images/estimate-cost`, { ...body, num_images: 10, provider_id: 'piapi_default' }, auth(user));
    expect(piapiEstimate.body).toMatchObject({ provider_id: 'piapi_default', num_images: 10 });
    const tooMany = await postJson(`${system.url}/api/v1/images/estimate-cost`, { ...body, num_images: 11 }, auth(user));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error_code).toBe('BAD_USER_INPUT');

    // Five images on Stable-Diffusion.com: two calls (4 + 1), five images back.
    const before = sd.requests.filter((r) => r.method === 'POST' && !r.path.includes('fetch')).length;
    const made = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'A beautiful landscape', width: 512, height: 512, num_images: 5, provider_id: 'stable_diffusion_default' }, auth(user));
    expect(made.status).toBe(200);
    expect(made.body.image_urls).toHaveLength(5);
    const calls = sd.requests.filter((r) => r.method === 'POST' && !r.path.includes('fetch')).slice(before);
    expect(calls.map((c) => Number((c.body as { samples: string }).samples))).toEqual([4, 1]);
  });

  it('7. ships the documents’ workflow names, lists the library at /workflows, shares what admins save', async () => {
    const login = await postJson(`${system.url}/v2/auth/login`, { username: user.username, password: user.password });
    const headers = { Authorization: `Bearer ${login.body.access_token}`, 'Content-Type': 'application/json' };
    const listed = await getJson(`${system.url}/workflows`, headers);
    expect(listed.status).toBe(200);
    const byName = Object.fromEntries(listed.body.workflows.map((w: { name: string }) => [w.name, w]));
    expect(byName.sdxl_base).toMatchObject({ kind: 'image', shipped: true, bindings: expect.objectContaining({ prompt: expect.any(Array) }) });
    expect(byName.image_to_video).toMatchObject({ kind: 'video' });

    // 000's example body verbatim; no ComfyUI server runs here, so with Prefer: wait=1 the answer says where to poll.
    const run = await fetch(`${system.url}/comfy/execute/file`, {
      method: 'POST',
      headers: { ...headers, prefer: 'wait=1' },
      body: JSON.stringify({ workflow_name: 'sdxl_base', timeout: 300, priority: 1, gpu_preference: 0 }),
    });
    expect(run.status).toBe(200);
    const answer = (await run.json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ workflow_name: 'sdxl_base', status: 'queued', poll_url: `${system.url}/comfy/status/${answer.prompt_id}` });
    expect(run.headers.get('location')).toBe(answer.poll_url);

    const workflow = { '1': { class_type: 'SaveImage', inputs: { images: ['2', 0] } }, '2': { class_type: 'EmptyImage', inputs: { width: 64, height: 64 } } };
    await core.comfy.saveWorkflow(core.orm.em.fork(), admin.actor, { name: `team_${Date.now()}`, workflow });
    await core.comfy.saveWorkflow(core.orm.em.fork(), admin.actor, { name: `private_${Date.now()}`, workflow, shared: false });
    const names = ((await getJson(`${system.url}/workflows`, headers)).body.workflows as { name: string }[]).map((w) => w.name);
    expect(names.some((n) => n.startsWith('team_'))).toBe(true);
    expect(names.some((n) => n.startsWith('private_'))).toBe(false);
  });

  it('8. waits as long as the request’s own timeout allows, and otherwise tells where to poll', async () => {
    // A 003 video answers at once by default; the answer names the task and the route to poll.
    const video = await fetch(`${system.url}/api/v1/videos/generate`, {
      method: 'POST',
      headers: { ...auth(user), 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ scenes: [{ id: 0, prompt: 'xianxia fantasy, immortal realm sky, golden scroll', duration: 1.0 }], timeout: 120 }),
    });
    const body = (await video.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: expect.stringMatching(/^(queued|processing)$/), poll_url: `${system.url}/api/v1/tasks/${body.task_id}`, retry_after: 5 });
    // 000 with its own timeout of 120 s waits for the result (well past nothing: the job ends first).
    const image = await postJson(`${system.url}/generate/image`, { prompt: 'uma paisagem futurista', width: 128, height: 128, num_inference_steps: 3, timeout: 120 }, auth(user));
    expect(image.body).toMatchObject({ status: 'completed', url: expect.stringContaining('/files/') });
    expect(image.body.poll_url).toBeUndefined();
  });

  it('9. takes presets and characters by name, and maps the documents’ engine names', async () => {
    const em = core.orm.em.fork();
    const character = await core.profiles.saveCharacter(em, { name: `hanli-${Date.now()}`, promptFragment: 'Han Li, calm cultivator' });
    const preset = await core.profiles.savePreset(em, { name: `xianxia-proj2-${Date.now()}`, style: 'xianxia', defaultEngine: 'instantid' });
    await expect(core.profiles.savePreset(em, { name: `bad-${Date.now()}`, defaultEngine: 'dreamengine' })).rejects.toThrow(/Unknown engine "dreamengine"/);
    // 003's curl example, with the project named too.
    const response = await fetch(`${system.url}/api/v1/images/generate`, {
      method: 'POST',
      headers: { ...auth(user), 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ prompt: 'xianxia fantasy, Han Li, calm cultivator, medium shot', width: 1536, height: 864, character_id: character.name, project_id: preset.name, num_inference_steps: 40 }),
    });
    expect(response.status).toBe(200);
    const task = (await response.json()) as { task_id: string; status: string; created_at: string };
    expect(task.status).toBe('queued');
    const job = await core.orm.em.fork().findOneOrFail(Job, { id: task.task_id });
    // "instantid" runs on ComfyUI (the SDXL base workflow); the stored input holds the ids, not the names.
    expect(job.engine).toBe('comfyui');
    expect(job.input).toMatchObject({ characterId: character.id, projectId: preset.id, style: 'xianxia' });
    expect(job.prompt).toContain('Han Li, calm cultivator');
  });

  it('10. reads the documents’ env names, alerts on deep queues and provider rate limits, limits the whole server', async () => {
    // API_KEY authenticates as the admin (ADMIN_USERNAME).
    const asStatic = await getJson(`${system.url}/api/v1/images/cache/stats`, { authorization: `Bearer ${staticKey}` });
    expect(asStatic.status).toBe(200);
    expect(testConfig({ ...env, SECRET_KEY: 's'.repeat(40), JWT_SECRET: '' }).JWT_SECRET).toBe('s'.repeat(40));
    expect(testConfig({ ...env, COMFYUI_SERVER_URL: 'http://comfy.local:8188' }).COMFYUI_SERVER_URLS).toBe('http://comfy.local:8188');
    expect(testConfig({ ...env, BATCH_MONITOR_INTERVAL: '30' }).BATCH_MONITOR_INTERVAL).toBe(30);

    // Queued ComfyUI jobs (no server here) over ALERT_QUEUE_DEPTH=1: one check raises QUEUE_BACKLOG.
    const deep = await checkQueueDepth(core);
    expect(deep).toEqual(expect.arrayContaining([{ family: 'comfyui', waiting: expect.any(Number) }]));
    // PiAPI answers 429; the request falls back to the next provider, and the alert is raised.
    piapi.faults.push('429');
    const limited = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'rate limited', provider_id: 'piapi_default' }, auth(user));
    expect(limited.status).toBe(200);
    const alerts = await getJson(`${system.url}/api/v1/images/monitor/alerts`, auth(admin));
    const kinds = alerts.body.alerts.map((a: { kind: string }) => a.kind);
    expect(kinds).toEqual(expect.arrayContaining(['queue_backlog', 'rate_limited']));
  });

  it('11. answers the documents’ details: models, cancel errors, history map, thumbnails, timestamps', async () => {
    const health = await getJson(`${system.url}/api/v1/health`);
    expect(health.body.models_loaded).toEqual(['hallo2']);
    expect(health.body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);

    const unknown = await getJson(`${system.url}/api/v1/tasks/550e8400-e29b-41d4-a716-446655440000`, {}, 'DELETE');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ status: 'error', detail: expect.any(String), error_code: 'NOT_FOUND' });

    const history = await getJson(`${system.url}/comfy/history`, auth(user));
    expect(history.body).not.toHaveProperty('history');
    for (const entry of Object.values(history.body as Record<string, { status: object; outputs: unknown }>)) {
      expect(entry).toMatchObject({ status: { status_str: expect.any(String), completed: expect.any(Boolean) }, outputs: expect.anything() });
    }

    const image = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'a lantern', width: 512, height: 512, num_inference_steps: 2 }, auth(user));
    const task = await getJson(`${system.url}/api/v1/tasks/${image.body.task_id}`, auth(user));
    expect(task.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    const { output_path, thumbnail } = task.body.result;
    expect(thumbnail).not.toBe(output_path);
    const full = await fetch(output_path, { headers: auth(user) });
    const thumb = await fetch(thumbnail, { headers: auth(user) });
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    expect((await thumb.arrayBuffer()).byteLength).toBeLessThan((await full.arrayBuffer()).byteLength);
  });

  it('12. validates with each request’s contract: 000’s batch size of 4, in 000’s shape', async () => {
    const tooMany = await postJson(`${system.url}/generate/image`, { prompt: 'uma paisagem futurista', num_images: 5 }, auth(user));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toEqual({ detail: expect.stringContaining('num_images'), type: 'validation_error' });
  });
});
