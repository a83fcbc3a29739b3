import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { getJson, pngBytes, postJson, wavBytes } from '../helpers/media.ts';
import { type RunningProcess, startApi } from '../helpers/processes.ts';
import { createTestUser } from '../helpers/users.ts';

/**
 * Rate limits shared by two API processes through Redis, quotas on REST and GraphQL alike, and anonymous access
 * off by default. No worker runs: every answer here is given before a job would run.
 */
describe('REST limits, quotas and anonymous access', () => {
  // A 30 s window: each burst below must land in one window, however slow the machine is.
  // REST_ANONYMOUS_FAMILIES=none: on loopback the two families would otherwise be anonymous (see rest-round-two).
  const env = testEnv({ REST_ANONYMOUS_FAMILIES: 'none', RATE_LIMIT_GLOBAL: '10', RATE_LIMIT_GENERATE_IMAGE: '3', RATE_LIMIT_WINDOW_SECONDS: '30', UPLOAD_MAX_BYTES: '8192' });
  let core: Core;
  let apis: RunningProcess[] = [];
  let urls: string[] = [];

  beforeAll(async () => {
    core = await testCore(env);
    const started = await Promise.all([startApi(env), startApi(env)]);
    apis = started.map((s) => s.api);
    urls = started.map((s) => `http://127.0.0.1:${s.port}`);
    // Warm both processes (another client's budget) before the bursts.
    const warm = await createTestUser(core);
    await Promise.all(urls.map((url) => getJson(`${url}/api/v1/tasks`, { authorization: `Bearer ${warm.token}` })));
  });

  afterAll(async () => {
    await Promise.all(apis.map((api) => api.stop()));
    await core?.close();
  });

  it('applies the global limit to one client across both API processes, with Retry-After', async () => {
    const user = await createTestUser(core);
    const headers = { authorization: `Bearer ${user.token}` };
    // 6 requests to the first process, then 6 to the second: the second has only the 4 left of the shared 10.
    const burst = (url: string) => Promise.all(Array.from({ length: 6 }, () => getJson(`${url}/api/v1/tasks`, headers)));
    const first = await burst(urls[0]!);
    const second = await burst(urls[1]!);
    expect(first.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(second.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 429, 429]);
    const answers = [...first, ...second];
    const limited = answers.filter((a) => a.status === 429);
    for (const answer of limited) {
      expect(answer.body).toEqual({ detail: expect.stringContaining('Too many requests'), error_code: 'RATE_LIMITED' });
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });

  it('limits /generate/image per route in the media API shape, and GraphQL mutations spend the same budget', async () => {
    const user = await createTestUser(core);
    const headers = { authorization: `Bearer ${user.token}`, prefer: 'respond-async' };
    const body = { prompt: 'uma paisagem futurista', width: 64, height: 64 };
    const rest = await Promise.all([0, 1].map((i) => postJson(`${urls[i]}/generate/image`, body, headers)));
    expect(rest.map((r) => r.status)).toEqual([200, 200]);
    const mutation = `mutation { generateImage(input: {prompt: "x", width: 64, height: 64}) { id } }`;
    const viaGraphql = await gql<{ generateImage: { id: string } }, unknown>(urls[1]!, mutation, undefined, user.token);
    expect(viaGraphql.errors).toBeUndefined();
    // The route's 3 a window are spent (2 REST + 1 GraphQL): both faces now refuse.
    const refused = await postJson(`${urls[0]}/generate/image`, body, headers);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ detail: 'Muitas requisições. Tente novamente em alguns segundos.', type: 'rate_limit_exceeded' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const response = await fetch(`${urls[1]}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ query: mutation }),
    });
    expect(response.status).toBe(429);
    const json = (await response.json()) as any;
    expect(json.errors[0].extensions.code).toBe('RATE_LIMITED');
    // The process counts the GraphQL operations it ran (the refused one included).
    const metrics = await (await fetch(`${urls[1]}/metrics`)).text();
    expect(metrics).toMatch(/atelier_graphql_operations_total\{type="mutation",name="generateImage"\} [2-9]/);
    // Other routes still answer: only the global budget counts there.
    expect((await getJson(`${urls[0]}/api/v1/tasks`, { authorization: `Bearer ${user.token}` })).status).toBe(200);
  });

  it('enforces quotas set by an admin on REST and GraphQL, naming the limit and when it resets', async () => {
    const admin = await createTestUser(core, 'admin');
    const user = await createTestUser(core);
    const setQuota = `mutation ($id: ID!, $input: UserQuotaInput!) { setUserQuota(userId: $id, input: $input) { imagesPerDay maxResolution maxFrames videosPerDay } }`;
    const forbidden = await gql(urls[0]!, setQuota, { id: user.id, input: { imagesPerDay: 100 } }, user.token);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const set = await gql<any, unknown>(urls[0]!, setQuota, { id: user.id, input: { imagesPerDay: 2, maxResolution: '512x512', maxFrames: 24 } }, admin.token);
    expect(set.data.setUserQuota).toEqual({ imagesPerDay: 2, maxResolution: '512x512', maxFrames: 24, videosPerDay: null });
    const own = await gql<any, unknown>(urls[1]!, `{ userQuota { imagesPerDay maxResolution maxDurationSeconds } }`, undefined, user.token);
    expect(own.data.userQuota).toEqual({ imagesPerDay: 2, maxResolution: '512x512', maxDurationSeconds: 60 });

    const headers = { authorization: `Bearer ${user.token}`, prefer: 'respond-async' };
    const tooLarge = await postJson(`${urls[0]}/api/v1/images/generate`, { prompt: 'x', width: 1024, height: 1024 }, headers);
    expect(tooLarge.status).toBe(429);
    expect(tooLarge.body).toEqual({ detail: expect.stringContaining('max_resolution 512x512'), error_code: 'QUOTA_EXCEEDED' });

    const two = await postJson(`${urls[1]}/api/v1/images/generate`, { prompt: 'x', width: 64, height: 64, num_images: 2 }, headers);
    expect(two.status).toBe(200);
    const third = await gql(urls[0]!, `mutation { generateImage(input: {prompt: "x", width: 64, height: 64}) { id } }`, undefined, user.token);
    expect(third.errors?.[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 'imagesPerDay', resetsAt: expect.stringMatching(/T00:00:00\.000Z$/) });
    expect(third.errors?.[0]?.message).toMatch(/images_per_day \(2\).*resets at/);

    const video = await postJson(`${urls[1]}/generate/video`, { prompt: 'x', num_frames: 30 }, headers);
    expect(video.status).toBe(429);
    expect(video.body).toEqual({ detail: expect.stringContaining('max_frames 24'), type: 'quota_exceeded' });
  });

  it('refuses anonymous callers of the talking-head and video-generator families by default, in their shapes', async () => {
    const form = new FormData();
    form.append('image_file', new Blob([new Uint8Array(await pngBytes())]), 'person.jpg');
    form.append('audio_file', new Blob([new Uint8Array(wavBytes(0.2))]), 'speech.wav');
    const hallo = await fetch(`${urls[0]}/api/v1/inference/hallo2`, { method: 'POST', body: form });
    expect(hallo.status).toBe(401);
    expect(await hallo.json()).toEqual({ detail: expect.stringContaining('Not authenticated'), error_code: 'UNAUTHENTICATED' });

    const upload = new FormData();
    upload.append('image', new Blob([new Uint8Array(await pngBytes())]), 'a.png');
    const answer = await fetch(`${urls[1]}/api/upload`, { method: 'POST', body: upload });
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ error: 'Unauthorized', details: expect.stringContaining('Not authenticated') });
  });

  it('applies UPLOAD_MAX_BYTES to REST multipart uploads, in each family’s shape', async () => {
    const user = await createTestUser(core);
    const big = wavBytes(1);
    const upload = new FormData();
    upload.append('image', new Blob([new Uint8Array(big)]), 'a.png');
    const answer = await fetch(`${urls[0]}/api/upload`, { method: 'POST', body: upload, headers: { authorization: `Bearer ${user.token}` } });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: 'Invalid input', details: expect.stringContaining('File too large: limit is 8 KB') });

    const form = new FormData();
    form.append('image_file', new Blob([new Uint8Array(await pngBytes())]), 'person.jpg');
    form.append('audio_file', new Blob([new Uint8Array(big)]), 'speech.wav');
    const hallo = await fetch(`${urls[1]}/api/v1/inference/hallo2`, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.token}` } });
    expect(hallo.status).toBe(400);
    expect(await hallo.json()).toEqual({ detail: 'Invalid audio file format: File too large: limit is 8 KB', error_code: 'BAD_USER_INPUT' });
  });

  it('is not ready without a worker', async () => {
    const ready = await getJson(`${urls[0]}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ postgres: { ok: true }, redis: { ok: true }, workers: { total: 0 } });
  });
});
