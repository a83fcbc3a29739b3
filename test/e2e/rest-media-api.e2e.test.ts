import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { postJson } from '../helpers/media.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

/** Document 000 (media API): its curl and Python examples replayed as HTTP requests. */
describe('REST media API (000)', () => {
  const env = testEnv();
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let token: string;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  it('logs in with the documented body and answers access_token, token_type and expires_in', async () => {
    const login = await postJson(`${system.url}/v2/auth/login`, { username: user.username, password: user.password });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 3600 });
    token = login.body.access_token;

    const wrong = await postJson(`${system.url}/v2/auth/login`, { username: user.username, password: 'senha errada' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ detail: 'Invalid username or password', type: 'authentication_error' });
  });

  it('generates an image as the Python and cURL examples do, waiting for the result', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const response = await postJson(`${system.url}/generate/image`, { prompt: 'uma paisagem futurista', width: 256, height: 256 }, headers);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ task_id: expect.any(String), status: 'completed', image_urls: [expect.stringMatching(/\/files\/[0-9a-f-]{36}\?exp=\d+&sig=[\w-]+$/)] });
    const file = await fetch(response.body.image_urls[0], { headers });
    expect(file.headers.get('content-type')).toBe('image/png');

    // The document's full example body (1024², 30 steps) is accepted; answered at once with Prefer: respond-async.
    const full = await postJson(
      `${system.url}/generate/image`,
      { prompt: 'uma paisagem futurista', negative_prompt: 'baixa qualidade', width: 1024, height: 1024, num_inference_steps: 30, guidance_scale: 7.5 },
      { ...headers, prefer: 'respond-async' },
    );
    expect(full.status).toBe(200);
    expect(full.body).toMatchObject({ task_id: expect.any(String), status: expect.stringMatching(/^(queued|processing)$/), image_urls: [] });
  });

  it('generates a video and synthesizes speech with the documented bodies', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const video = await postJson(`${system.url}/generate/video`, { prompt: 'uma cidade futurista à noite', num_frames: 30, fps: 24, motion_scale: 1.0 }, headers);
    expect(video.status).toBe(200);
    expect(video.body).toMatchObject({ status: 'completed', video_url: expect.stringContaining('/files/'), thumbnail_url: expect.stringContaining('/files/') });
    expect(video.body.metadata).toMatchObject({ frames: 30, fps: 24 });

    const speech = await postJson(`${system.url}/synthesize/speech`, { text: 'Olá, como você está?', voice_id: 'pt_br_female', emotion: 'happy', speed: 1.0 }, headers);
    expect(speech.status).toBe(200);
    expect(speech.body).toMatchObject({ status: 'completed', audio_url: expect.stringContaining('/files/') });
  });

  it('answers errors as {detail, type}: 401 without a token, validation errors, quota', async () => {
    const anonymous = await postJson(`${system.url}/generate/image`, { prompt: 'x' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ detail: expect.stringContaining('Not authenticated'), type: 'authentication_error' });

    const headers = { authorization: `Bearer ${token}` };
    const missing = await postJson(`${system.url}/generate/image`, { width: 1024 }, headers);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ detail: expect.stringContaining('prompt'), type: 'validation_error' });

    const badVoice = await postJson(`${system.url}/synthesize/speech`, { text: 'Olá', voice_id: 'nope' }, headers);
    expect(badVoice.status).toBe(400);
    expect(badVoice.body).toEqual({ detail: expect.stringContaining('Unknown voiceId "nope"'), type: 'validation_error' });
  });
});
