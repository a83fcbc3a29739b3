import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../helpers/env.ts';
import { pngBytes, wavBytes } from '../helpers/media.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';

/** Document 004 (video generator front end): its fetch + FormData examples, anonymous access on. */
describe('REST video generator API (004)', () => {
  const env = testEnv({ REST_ANONYMOUS_FAMILIES: 'video-generator' });
  let system: RunningSystem;

  beforeAll(async () => {
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
  });

  const upload = async (file: Buffer, field = 'image') => {
    const formData = new FormData();
    formData.append(field, new File([new Uint8Array(file)], 'photo.png'));
    const response = await fetch(`${system.url}/api/upload`, { method: 'POST', body: formData });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('uploads an image, then generates a video from it and a text', async () => {
    const uploaded = await upload(await pngBytes(128, 96));
    expect(uploaded.status).toBe(200);
    expect(uploaded.body).toEqual({ imageUrl: expect.stringMatching(/\/files\/[0-9a-f-]{36}\?exp=\d+&sig=[\w-]+$/) });
    const { imageUrl } = uploaded.body;

    // The uploaded file is readable by the page that uploaded it (anonymous, like the upload itself).
    expect((await fetch(imageUrl)).headers.get('content-type')).toBe('image/png');

    const formData = new FormData();
    formData.append('imageUrl', imageUrl);
    formData.append('text', 'Описание сцены...');
    const response = await fetch(`${system.url}/api/generate`, { method: 'POST', body: formData });
    expect(response.status).toBe(200);
    const { image, video, isDemo } = (await response.json()) as any;
    expect(image).toMatch(/\/files\/[0-9a-f-]{36}\?exp=\d+&sig=[\w-]+$/);
    expect(video).toMatch(/\/files\/[0-9a-f-]{36}\?exp=\d+&sig=[\w-]+$/);
    expect(isDemo).toBe(false);
    expect((await fetch(video)).headers.get('content-type')).toBe('video/mp4');
  });

  it('answers bad input as 400 {error, details}', async () => {
    const notImage = await upload(wavBytes(0.3));
    expect(notImage.status).toBe(400);
    expect(notImage.body).toMatchObject({ error: 'Invalid input', details: expect.stringContaining('audio') });

    const noFile = await upload(await pngBytes(), 'picture');
    expect(noFile.status).toBe(400);
    expect(noFile.body).toMatchObject({ error: 'Invalid input', details: 'The form has no "image" file' });

    const formData = new FormData();
    formData.append('imageUrl', 'https://elsewhere.example/cat.png');
    formData.append('text', 'a cat');
    const response = await fetch(`${system.url}/api/generate`, { method: 'POST', body: formData });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'Invalid input', details: 'imageUrl must be a URL returned by /api/upload' });

    // A multipart body without its boundary, and JSON whose text is a number: the client's mistakes, so 400s.
    const noBoundary = await fetch(`${system.url}/api/upload`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' });
    expect(noBoundary.status).toBe(400);
    expect(await noBoundary.json()).toMatchObject({ error: 'Invalid input', details: expect.stringContaining('Invalid multipart body') });
    const numericText = await fetch(`${system.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ imageUrl: `${system.url}/files/00000000-0000-4000-8000-000000000000`, text: 5 }),
    });
    expect(numericText.status).toBe(400);
    expect(await numericText.json()).toMatchObject({ error: 'Invalid input', details: 'text: Invalid input: expected string, received number' });
  });
});
