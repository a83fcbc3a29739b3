import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAiAdapter } from '../../src/providers/openai.adapter.ts';
import { piApiAdapter } from '../../src/providers/piapi.adapter.ts';
import { type AdapterContext, type ProviderAdapter, ProviderCallError, type ProviderRequest } from '../../src/providers/provider.types.ts';
import { stableDiffusionAdapter } from '../../src/providers/stable-diffusion.adapter.ts';
import { startFakeOpenAi } from '../fakes/openai.fake.ts';
import { startFakePiApi } from '../fakes/piapi.fake.ts';
import type { FakeProvider } from '../fakes/provider-fakes.shared.ts';
import { startFakeStableDiffusion } from '../fakes/stable-diffusion.fake.ts';

const request = (over: Partial<ProviderRequest> = {}): ProviderRequest => ({
  prompt: 'a cat',
  negativePrompt: null,
  width: 512,
  height: 512,
  steps: 20,
  guidance: 7,
  seed: 3,
  numImages: 1,
  style: null,
  feature: 'txt2img',
  model: null,
  extraParams: {},
  ...over,
});

const ctx = (fake: FakeProvider): AdapterContext => ({ baseUrl: fake.url, apiKey: fake.apiKey, config: {}, signal: new AbortController().signal, timeoutMs: 2000, pollIntervalMs: 5 });
const generate = (adapter: ProviderAdapter, fake: FakeProvider, req: ProviderRequest) => adapter.generate(req, adapter.plan(req), ctx(fake));

describe('provider adapters against fake servers', () => {
  let openai: FakeProvider;
  let piapi: FakeProvider;
  let sd: FakeProvider & { queued: boolean };
  beforeAll(async () => {
    [openai, piapi, sd] = await Promise.all([startFakeOpenAi(), startFakePiApi(), startFakeStableDiffusion()]);
  });
  afterAll(async () => {
    await Promise.all([openai.close(), piapi.close(), sd.close()]);
  });

  it('OpenAI: DALL-E 3 makes one call per image; DALL-E 2 asks for n at once', async () => {
    const before = openai.requests.length;
    const three = await generate(openAiAdapter, openai, request({ numImages: 2, width: 1024, height: 1800 }));
    expect(three.images).toHaveLength(2);
    const calls = openai.requests.slice(before).map((r) => r.body as Record<string, unknown>);
    expect(calls.map((c) => [c.model, c.n, c.size, c.quality])).toEqual([
      ['dall-e-3', 1, '1024x1792', 'standard'],
      ['dall-e-3', 1, '1024x1792', 'standard'],
    ]);
    const two = await generate(openAiAdapter, openai, request({ numImages: 3, model: 'dall-e-2', width: 300, height: 300 }));
    expect(two.images).toHaveLength(3);
    expect(openai.requests.at(-1)!.body).toMatchObject({ model: 'dall-e-2', n: 3, size: '256x256' });
  });

  it('OpenAI vision: analysis only, or analysis fed to DALL-E as an enhanced prompt', async () => {
    const vision = request({ feature: 'vision', prompt: 'describe', extraParams: { mode: 'vision', input_images: ['https://example.com/a.jpg', 'aGVsbG8='] } });
    const only = await generate(openAiAdapter, openai, vision);
    expect(only.images).toHaveLength(0);
    expect(only.metadata.analysis).toMatch(/red square/);
    expect(only.extraCost).toBeCloseTo(0.02, 6);
    const chat = openai.requests.at(-1)!.body as { messages: { content: { type: string; image_url?: { url: string } }[] }[] };
    expect(chat.messages[0]!.content.map((c) => c.image_url?.url ?? c.type)).toEqual(['text', 'https://example.com/a.jpg', 'data:image/png;base64,aGVsbG8=']);
    const both = await generate(openAiAdapter, openai, { ...vision, extraParams: { ...vision.extraParams, generate_from_analysis: true } });
    expect(both.images).toHaveLength(1);
    expect(both.metadata.vision_analysis).toBe(only.metadata.analysis);
    expect(String(both.metadata.enhanced_prompt)).toContain('red square');
  });

  it('PiAPI: submits a task and polls it; Midjourney options travel in the prompt; faceswap uses the image toolkit', async () => {
    const mj = await generate(piApiAdapter, piapi, request({ negativePrompt: 'blur', extraParams: { chaos: 50, stylize: 1000 } }));
    expect(mj.images.length).toBeGreaterThan(0);
    const submit = piapi.requests.find((r) => r.method === 'POST' && (r.body as { model: string }).model === 'midjourney')!.body as { input: { prompt: string; aspect_ratio: string } };
    expect(submit.input.prompt).toBe('a cat --seed 3 --no blur --chaos 50 --stylize 1000');
    expect(submit.input.aspect_ratio).toBe('1:1');
    await generate(piApiAdapter, piapi, request({ feature: 'faceswap', extraParams: { target_image: 'https://x/t.png', swap_image: 'https://x/s.png' } }));
    expect(piapi.requests.filter((r) => r.method === 'POST').at(-1)!.body).toMatchObject({ model: 'Qubico/image-toolkit', task_type: 'face-swap' });
    expect(await piApiAdapter.credits(ctx(piapi))).toBe(100);
  });

  it('Stable-Diffusion.com: key in the body, queued work fetched by id, ControlNet on its own endpoint', async () => {
    sd.queued = true;
    const queued = await generate(stableDiffusionAdapter, sd, request({ numImages: 2, model: 'sdxl' }));
    sd.queued = false;
    expect(queued.images).toHaveLength(2);
    expect(sd.requests.map((r) => r.path)).toEqual(expect.arrayContaining(['/api/v4/dreambooth', expect.stringMatching(/^\/api\/v3\/fetch\/\d+$/)]));
    await generate(stableDiffusionAdapter, sd, request({ feature: 'controlnet', extraParams: { controlnet: true, controlnet_model: 'canny', init_image: 'https://x/i.png' } }));
    expect(sd.requests.at(-1)).toMatchObject({ path: '/api/v5/controlnet', body: { key: sd.apiKey, controlnet_model: 'canny', model_id: 'sd-1.5' } });
  });

  it('classifies failures: 200 without an image, credits exhausted, 429, 5xx, timeout', async () => {
    const failure = async (adapter: ProviderAdapter, fake: FakeProvider, fault: FakeProvider['faults'][number]) => {
      fake.faults = [fault];
      const error = await generate(adapter, fake, request()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderCallError);
      return (error as ProviderCallError).failure;
    };
    expect(await failure(openAiAdapter, openai, 'empty')).toBe('EMPTY_RESULT');
    expect(await failure(openAiAdapter, openai, 'no-credits')).toBe('NO_CREDITS');
    expect(await failure(piApiAdapter, piapi, 'empty')).toBe('EMPTY_RESULT');
    expect(await failure(piApiAdapter, piapi, 'no-credits')).toBe('NO_CREDITS');
    expect(await failure(piApiAdapter, piapi, '429')).toBe('RATE_LIMITED');
    expect(await failure(stableDiffusionAdapter, sd, 'no-credits')).toBe('NO_CREDITS');
    expect(await failure(stableDiffusionAdapter, sd, '500')).toBe('SERVER_ERROR');
    expect(await failure(stableDiffusionAdapter, sd, 'empty')).toBe('EMPTY_RESULT');
    // The second of two DALL-E 3 calls fails: the first image was already billed.
    openai.faults = ['ok', '500'];
    const partial = (await generate(openAiAdapter, openai, request({ numImages: 2 })).catch((e: unknown) => e)) as ProviderCallError;
    expect([partial.failure, partial.billedImages]).toEqual(['SERVER_ERROR', 1]);
    const slow = { ...ctx(openai), timeoutMs: 150 };
    openai.faults = ['timeout'];
    const timedOut = await openAiAdapter.generate(request(), openAiAdapter.plan(request()), slow).catch((e: ProviderCallError) => e.failure);
    expect(timedOut).toBe('TIMEOUT');
  });
});
