import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { getJson, postJson } from '../helpers/media.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

/**
 * Document 003 (video platform) replayed with an API key, and the shared POST /api/v1/images/generate and
 * GET /api/v1/tasks/{id} read by both their documents' clients (003 and 001; 002 for tasks).
 */
describe('REST video platform API (003) and shared routes', () => {
  // A database of its own: 001's route goes to a paid provider whenever one is active, and other files add some.
  let scratch: ScratchDatabase;
  let env: Record<string, string>;
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let headers: Record<string, string>;

  beforeAll(async () => {
    scratch = await createScratchDatabase(inject('databaseUrl'), 'videoplatform');
    env = testEnv({ DATABASE_URL: scratch.url });
    core = await testCore(env);
    user = await createTestUser(core);
    const { secret } = await core.auth.createApiKey(core.orm.em.fork(), user.actor, { name: 'video platform client' });
    headers = { authorization: `Bearer ${secret}` };
    await core.profiles.saveCharacter(core.orm.em.fork(), { name: `hanli-${user.id.slice(0, 8)}`, promptFragment: 'Han Li, cultivator robes', seed: 7 });
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    await scratch?.drop();
  });

  const pollTask = async (id: string) => {
    let task: any;
    for (let i = 0; i < 600; i++) {
      task = (await getJson(`${system.url}/api/v1/tasks/${id}`, headers)).body;
      if (['completed', 'failed', 'cancelled'].includes(task.status)) return task;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return task;
  };

  it('003 client: generate an image (async answer), then poll the task to its result', async () => {
    const response = await postJson(
      `${system.url}/api/v1/images/generate`,
      {
        prompt: 'xianxia fantasy, Han Li, calm cultivator, medium shot',
        width: 1536,
        height: 864,
        character_id: `hanli-${user.id.slice(0, 8)}`,
        num_inference_steps: 4,
      },
      { ...headers, prefer: 'respond-async' },
    );
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      task_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: expect.stringMatching(/^(queued|processing)$/),
      estimated_time: expect.any(Number),
      created_at: expect.any(String),
    });
    const task = await pollTask(response.body.task_id);
    expect(task).toMatchObject({
      task_id: response.body.task_id,
      status: 'completed',
      progress: 100,
      result: { output_path: expect.stringContaining('/files/'), thumbnail: expect.stringContaining('/files/') },
      error: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const image = await fetch(task.result.output_path, { headers });
    expect(image.headers.get('content-type')).toBe('image/png');
    // The character named by character_id shaped the job: its prompt fragment and its seed.
    const job = await core.orm.em.fork().findOneOrFail(Job, { id: response.body.task_id });
    expect(job.input).toMatchObject({ prompt: expect.stringContaining('Han Li, cultivator robes'), seed: 7 });
  });

  it('001 client on the same route: the default answer waits and carries image_urls, cost and metadata', async () => {
    const response = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'A futuristic city at night', width: 256, height: 256, steps: 3 }, headers);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      task_id: expect.any(String),
      status: 'completed',
      image_urls: [expect.stringContaining('/files/')],
      cost: 0,
      metadata: { enhanced_prompt: null, analysis: null, vision_analysis: null },
    });
    // The 003 client reads the same answer's task fields.
    expect(response.body).toHaveProperty('estimated_time');
    expect(response.body).toHaveProperty('created_at');
  });

  it('generates a video from scenes and video_config; the task answers with output_path and thumbnail', async () => {
    const response = await postJson(
      `${system.url}/api/v1/videos/generate`,
      {
        scenes: [
          { id: 0, prompt: 'xianxia fantasy, immortal realm sky, golden scroll', duration: 0.5 },
          { id: 1, prompt: 'Han Li lying on sand, calm expression', duration: 0.5 },
        ],
        video_config: { fps: 8, resolution: '128x96', upscale: true },
      },
      headers,
    );
    expect(response.status).toBe(200);
    // The answer is immediate; a free worker may already have started the job.
    expect(response.body).toMatchObject({ task_id: expect.any(String), status: expect.stringMatching(/^(queued|processing)$/), estimated_time: expect.any(Number) });
    const task = await pollTask(response.body.task_id);
    // Prefer: wait=N makes the same request answer with the finished task.
    const waited = await postJson(
      `${system.url}/api/v1/videos/generate`,
      { scenes: [{ id: 0, prompt: 'golden scroll', duration: 0.25 }], video_config: { fps: 8, resolution: '64x64' } },
      { ...headers, prefer: 'wait=30' },
    );
    expect(waited.body).toMatchObject({ status: 'completed', estimated_time: 0, result: { output_path: expect.stringContaining('/files/') } });
    expect(task).toMatchObject({ status: 'completed', result: { output_path: expect.any(String), thumbnail: expect.any(String) } });
    expect(task.result.output_path).not.toBe(task.result.thumbnail);
    // The documented example's own body (1280x768, 9 s at 24 fps) is accepted too; cancelled to spare the CPU.
    const documented = await postJson(
      `${system.url}/api/v1/videos/generate`,
      {
        scenes: [
          { id: 0, prompt: 'xianxia fantasy, immortal realm sky, golden scroll', duration: 5.0 },
          { id: 1, prompt: 'Han Li lying on sand, calm expression', duration: 4.0 },
        ],
        video_config: { fps: 24, resolution: '1280x768', upscale: true },
      },
      headers,
    );
    expect(documented.status).toBe(200);
    expect((await getJson(`${system.url}/api/v1/tasks/${documented.body.task_id}`, headers, 'DELETE')).status).toBe(200);
  });

  it('answers errors as {detail, error_code}; /api/v1/health and /metrics are served', async () => {
    const unauthenticated = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'x' });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body).toEqual({ detail: expect.any(String), error_code: 'UNAUTHENTICATED' });
    const badSize = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'x', width: 1001 }, headers);
    expect(badSize.status).toBe(400);
    expect(badSize.body).toEqual({ detail: expect.stringContaining('width'), error_code: 'BAD_USER_INPUT' });
    const unknownCharacter = await postJson(`${system.url}/api/v1/images/generate`, { prompt: 'x', character_id: 'nobody-here' }, headers);
    expect(unknownCharacter.body).toEqual({ detail: 'Unknown character "nobody-here"', error_code: 'BAD_USER_INPUT' });

    const health = await getJson(`${system.url}/api/v1/health`);
    expect(health.body.status).toBe('healthy');
    const ready = await getJson(`${system.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.workers.total).toBeGreaterThanOrEqual(1);
    const metrics = await fetch(`${system.url}/metrics`);
    const text = await metrics.text();
    expect(text).toMatch(/atelier_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/images\/generate",status="200"\} [1-9]/);
    expect(text).toMatch(/atelier_jobs\{kind="IMAGE",status="COMPLETED"\} [1-9]/);
    expect(text).toMatch(/atelier_workers_alive [1-9]/);
    expect(text).toMatch(/atelier_queue_depth\{engine="builtin",state="waiting"\} \d/);
  });
});
