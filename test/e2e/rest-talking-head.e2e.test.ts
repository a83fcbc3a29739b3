import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/config/logger.ts';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { startLocalRedis, type LocalRedis } from '../../src/system/redis.local.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { getJson, pngBytes, postJson, wavBytes } from '../helpers/media.ts';
import { startApi, startSystem, type RunningProcess, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser } from '../helpers/users.ts';

/** Document 002 (Hallo2 talking head): its cURL and Python examples replayed, with anonymous access on as they send no credential. */
describe('REST talking-head API (002)', () => {
  const env = testEnv({ REST_ANONYMOUS_FAMILIES: 'talking-head' });
  let system: RunningSystem;
  let core: Core;

  beforeAll(async () => {
    core = await testCore(env);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  const form = async (image: Buffer, audio: Buffer, useCache?: string) => {
    const body = new FormData();
    body.append('image_file', new Blob([new Uint8Array(image)]), 'person.jpg');
    body.append('audio_file', new Blob([new Uint8Array(audio)]), 'speech.wav');
    if (useCache !== undefined) body.append('use_cache', useCache);
    const response = await fetch(`${system.url}/api/v1/inference/hallo2`, { method: 'POST', body });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('answers both health checks in the documented shapes', async () => {
    const simple = await getJson(`${system.url}/health`);
    expect(simple.status).toBe(200);
    expect(simple.body).toEqual({ status: 'healthy', gpu_available: false, gpu_count: 0, gpu_name: null });

    const detailed = await getJson(`${system.url}/api/v1/health`);
    expect(detailed.status).toBe(200);
    expect(detailed.body).toMatchObject({
      status: 'healthy',
      timestamp: expect.any(String),
      uptime: expect.any(Number),
      models_loaded: ['hallo2'],
      gpu: { available: false, count: 0, devices: [] },
      tasks: { queued: expect.any(Number), running: expect.any(Number), completed: expect.any(Number), failed: expect.any(Number) },
    });
  });

  it('runs the complete workflow: config, inference, polling, video download, logs, task list', async () => {
    const config = await postJson(`${system.url}/api/v1/inference/hallo2/config`, { guidance_scale: 3.5, inference_steps: 25, enable_cache: true });
    expect(config.status).toBe(200);
    expect(config.body).toEqual({ status: 'success', message: 'Configuration updated successfully' });

    const created = await form(await pngBytes(), wavBytes(0.6), 'true');
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ task_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'queued', message: 'Inference task queued successfully' });
    const taskId = created.body.task_id as string;
    // The configuration just posted (not the defaults: those are 40 steps) shapes the task.
    const job = await core.orm.em.fork().findOneOrFail(Job, { id: taskId });
    expect(job.input).toMatchObject({ inferenceSteps: 25, guidanceScale: 3.5, useCache: true });

    let status: any;
    for (let i = 0; i < 400; i++) {
      status = (await getJson(`${system.url}/api/v1/tasks/${taskId}`)).body;
      expect(status).toMatchObject({ task_id: taskId, progress: expect.any(Number), created_at: expect.any(String), updated_at: expect.any(String) });
      expect(status).toHaveProperty('status_message');
      if (status.status === 'completed' || status.status === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toMatchObject({ status: 'completed', progress: 100, error: null, result: { output_path: expect.stringContaining('/files/') } });

    const video = await fetch(`${system.url}/api/v1/tasks/${taskId}/video`);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await video.arrayBuffer());
    expect(bytes.subarray(4, 8).toString()).toBe('ftyp');

    const logs = await getJson(`${system.url}/api/v1/tasks/${taskId}/logs`, {}, 'POST');
    expect(logs.body).toEqual({ task_id: taskId, logs: expect.stringMatching(/^\[INFO\] Started on builtin/) });

    const list = await getJson(`${system.url}/api/v1/tasks`);
    expect(list.body.count).toBeGreaterThanOrEqual(1);
    expect(list.body.tasks[taskId]).toMatchObject({ task_id: taskId, status: 'completed', progress: 100 });

    // A finished task can no longer be cancelled: the document's error body.
    const cancel = await getJson(`${system.url}/api/v1/tasks/${taskId}`, {}, 'DELETE');
    expect(cancel.status).toBe(400);
    expect(cancel.body).toMatchObject({ status: 'error', detail: expect.stringContaining('COMPLETED') });
  });

  it('cancels a queued task, and answers errors as {detail, error_code}', async () => {
    const created = await form(await pngBytes(), wavBytes(3));
    const cancel = await getJson(`${system.url}/api/v1/tasks/${created.body.task_id}`, {}, 'DELETE');
    expect(cancel.status).toBe(200);
    expect(cancel.body).toEqual({ status: 'cancelled', task_id: created.body.task_id, message: 'Task cancelled successfully' });

    const notCompleted = await getJson(`${system.url}/api/v1/tasks/${created.body.task_id}/video`);
    expect(notCompleted.status).toBe(400);
    expect(notCompleted.body).toEqual({ detail: expect.stringContaining('not completed'), error_code: 'TASK_NOT_COMPLETED' });

    const missing = await getJson(`${system.url}/api/v1/tasks/00000000-0000-4000-8000-000000000000/video`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ detail: expect.stringContaining('not found'), error_code: 'NOT_FOUND' });

    const badImage = await form(Buffer.from('this is not an image'), wavBytes(0.5));
    expect(badImage.status).toBe(400);
    expect(badImage.body).toEqual({ detail: expect.stringMatching(/^Invalid image file format/), error_code: 'BAD_USER_INPUT' });

    const swapped = await form(wavBytes(0.5), await pngBytes());
    expect(swapped.status).toBe(400);
    expect(swapped.body.detail).toMatch(/^Invalid image file format/);
  });
});

/**
 * The document's 500 "Failed to submit task: {error_message}" when the queue cannot take the task. The API runs on
 * a Redis of this block's own, stopped once the API is up; PostgreSQL stays up, so the task's row is written first.
 */
describe('REST talking-head API (002) with its queue down', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'atelier-002-queue-down-'));
  let redis: LocalRedis;
  let api: RunningProcess;
  let url: string;
  // On the shared Redis: only reads the rows the API wrote.
  let core: Core;

  beforeAll(async () => {
    redis = await startLocalRedis(path.join(root, 'redis'), createLogger('002-queue-down', { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }));
    const env = testEnv({ REDIS_URL: redis.url });
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
    // The API's secrets, so the user's token is good there.
    core = await testCore({ ...env, REDIS_URL: inject('redisUrl') });
  });

  afterAll(async () => {
    // A graceful stop would wait out its deadline on the Redis this block stopped; nothing here needs one.
    await api?.stop('SIGKILL');
    await core?.close();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('answers 503 {detail: "Failed to submit task: …"} (an outage, never a 500), and the task is recorded as failed', async () => {
    const user = await createTestUser(core);
    await redis.stop();
    const body = new FormData();
    body.append('image_file', new Blob([new Uint8Array(await pngBytes())]), 'person.jpg');
    body.append('audio_file', new Blob([new Uint8Array(wavBytes(0.6))]), 'speech.wav');
    body.append('use_cache', 'true');
    const response = await fetch(`${url}/api/v1/inference/hallo2`, { method: 'POST', body, headers: { authorization: `Bearer ${user.token}` } });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      detail: 'Failed to submit task: The job queue is unavailable; the job was not queued. Retry later.',
      error_code: 'SERVICE_UNAVAILABLE',
    });
    const rows = await core.orm.em.fork().find(Job, { owner: user.id });
    expect(rows.map((row) => [row.kind, row.status, row.errorCode])).toEqual([['TALKING_HEAD', 'FAILED', 'QUEUE_UNAVAILABLE']]);
  });
});
