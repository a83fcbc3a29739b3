import { describe, expect, it } from 'vitest';
import { KeySealer, maskKey } from '../../src/providers/provider.crypto.ts';
import { openAiAdapter } from '../../src/providers/openai.adapter.ts';
import { piApiAdapter } from '../../src/providers/piapi.adapter.ts';
import { DEFAULT_ROUTING_RULES, featureOf, missingParams, parseRoutingRules, route, type RoutableProvider } from '../../src/providers/provider.routing.ts';
import type { ProviderRequest } from '../../src/providers/provider.types.ts';
import { stableDiffusionAdapter } from '../../src/providers/stable-diffusion.adapter.ts';

const providers: RoutableProvider[] = [
  { id: 'o', name: 'OpenAI', type: 'OPENAI', isDefault: true, priority: 0, costPerImage: 0.02 },
  { id: 'p', name: 'PiAPI', type: 'PIAPI', isDefault: false, priority: 10, costPerImage: 0.009 },
  { id: 's', name: 'SD', type: 'STABLE_DIFFUSION', isDefault: false, priority: 20, costPerImage: 0.0067 },
];

const pick = (feature: ReturnType<typeof featureOf>, style: string | null, providerId: string | null = null) =>
  route({ feature, style, providerId, model: null }, providers, DEFAULT_ROUTING_RULES).chain.map((s) => `${s.providerId}:${s.model ?? '-'}`);

const request = (over: Partial<ProviderRequest> = {}): ProviderRequest => ({
  prompt: 'a cat',
  negativePrompt: null,
  width: 512,
  height: 512,
  steps: 30,
  guidance: 7.5,
  seed: 1,
  numImages: 1,
  style: null,
  feature: 'txt2img',
  model: null,
  extraParams: {},
  ...over,
});

describe('provider routing table', () => {
  it('routes each style and feature of the document to its provider, then falls back to the others', () => {
    expect(pick('txt2img', 'realistic')).toEqual(['o:dall-e-3', 's:sdxl', 'p:-']);
    expect(pick('txt2img', 'art')).toEqual(['p:midjourney', 'o:-', 's:-']);
    expect(pick('txt2img', 'anime')).toEqual(['s:anything-v5', 'o:-', 'p:-']);
    expect(pick('txt2img', 'volume')).toEqual(['s:-', 'p:-', 'o:-']);
    expect(pick('txt2img', null)).toEqual(['o:-', 'p:-', 's:-']);
    expect(pick('controlnet', null)).toEqual(['s:sdxl']);
    expect(pick('inpaint', null)).toEqual(['p:flux', 's:-']);
    expect(pick('faceswap', null)).toEqual(['p:faceswap']);
    expect(pick('upscale', null)).toEqual(['s:upscale', 'p:upscale']);
    expect(pick('vision', null)).toEqual(['o:dall-e-3']);
  });

  it('puts an asked provider first, by id or name', () => {
    expect(pick('txt2img', 'realistic', 'SD')[0]).toBe('s:-');
    expect(pick('txt2img', null, 'p')[0]).toBe('p:-');
  });

  it('reads features from extraParams', () => {
    expect(featureOf({ mode: 'vision' })).toBe('vision');
    expect(featureOf({ controlnet: true, controlnet_model: 'canny' })).toBe('controlnet');
    expect(featureOf({ mask: 'x' })).toBe('inpaint');
    expect(featureOf({ swap_image: 'x' })).toBe('faceswap');
    expect(featureOf({ upscale: true })).toBe('upscale');
    expect(featureOf({ service: 'midjourney' })).toBe('txt2img');
  });

  it('names what a feature needs and the request lacks', () => {
    expect(missingParams('faceswap', { swap_image: 'https://x/face.png' })).toEqual(['extraParams.target_image (the picture to put it on)']);
    expect(missingParams('faceswap', { swap_image: 'a', init_image: 'b' })).toEqual([]);
    expect(missingParams('vision', { mode: 'vision', input_images: [] })).toHaveLength(1);
    expect(missingParams('txt2img', {})).toEqual([]);
  });

  it('takes a rule table from config and refuses a malformed one', () => {
    const rules = parseRoutingRules(JSON.stringify([{ styles: ['realistic'], prefer: [{ type: 'STABLE_DIFFUSION', model: 'sdxl' }] }]));
    expect(route({ feature: 'txt2img', style: 'realistic', providerId: null, model: null }, providers, rules).chain[0]!.providerId).toBe('s');
    expect(() => parseRoutingRules('[{"prefer": [{"type": "NOPE"}]}]')).toThrow(/PROVIDER_ROUTING_RULES/);
    expect(() => parseRoutingRules('[{')).toThrow(/PROVIDER_ROUTING_RULES is not JSON/);
  });
});

describe('provider size and parameter mapping', () => {
  it('maps DALL-E sizes to the nearest supported one and records dropped parameters', () => {
    const two = openAiAdapter.plan(request({ width: 640, height: 480, model: 'dall-e-2' }));
    expect([two.model, two.width, two.height, two.resized]).toEqual(['dall-e-2', 512, 512, true]);
    const wide = openAiAdapter.plan(request({ width: 1536, height: 768, extraParams: { quality: 'hd' } }));
    expect([wide.model, wide.width, wide.height, wide.quality]).toEqual(['dall-e-3', 1792, 1024, 'hd']);
    expect(wide.dropped.map((d) => d.param)).toEqual(expect.arrayContaining(['steps', 'seed']));
    expect(openAiAdapter.pricePerImage(wide, {})).toBe(0.08);
    expect(openAiAdapter.pricePerImage(two, { 'dall-e-2:512x512': 0.5 })).toBe(0.5);
  });

  it('keeps Stable Diffusion within 1024 and 4 images, and Midjourney options PiAPI-only', () => {
    const sd = stableDiffusionAdapter.plan(request({ width: 2048, height: 1024, numImages: 4, extraParams: { chaos: 5 } }));
    expect([sd.width, sd.height, sd.numImages]).toEqual([1024, 512, 4]);
    expect(sd.dropped.map((d) => d.param)).toContain('extraParams.chaos');
    expect(stableDiffusionAdapter.pricePerImage(sd, {})).toBe(0.0067);
    const mj = piApiAdapter.plan(request({ extraParams: { service: 'midjourney', chaos: 50 } }));
    expect(mj.model).toBe('midjourney');
    expect(mj.dropped.map((d) => d.param)).toEqual(['steps', 'guidance']);
  });
});

describe('provider key sealing', () => {
  it('round-trips with AES-256-GCM, never stores the key in clear, and refuses a tampered value', () => {
    const sealer = new KeySealer('a-secret-of-enough-length-0123456789');
    const sealed = sealer.seal('sk-very-secret-key-1234');
    expect(sealed).not.toContain('sk-very');
    expect(sealer.seal('sk-very-secret-key-1234')).not.toBe(sealed);
    expect(sealer.open(sealed)).toBe('sk-very-secret-key-1234');
    expect(() => new KeySealer('another-secret-of-enough-length-000').open(sealed)).toThrow(/authenticate/);
    // One flipped byte of the ciphertext fails its authentication tag.
    const raw = Buffer.from(sealed, 'base64url');
    raw[raw.length - 1]! ^= 1;
    expect(() => sealer.open(raw.toString('base64url'))).toThrow(/authenticate/);
    expect(maskKey('sk-very-secret-key-1234')).toBe('••••1234');
  });
});
