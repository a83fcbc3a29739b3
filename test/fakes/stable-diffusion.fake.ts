import { applyFault, type FakeProvider, sendJson, startFake } from './provider-fakes.shared.ts';

const GENERATE = new Set(['/api/v3/text2img', '/api/v4/dreambooth', '/api/v5/controlnet', '/api/v3/img2img', '/api/v3/inpaint', '/api/v3/super_resolution']);

/** Stable-Diffusion.com (ModelsLab): key in the JSON body; `processing` answers are fetched by id. */
export function startFakeStableDiffusion(apiKey = `sd-test-${Math.random().toString(36).slice(2)}`): Promise<FakeProvider & { queued: boolean }> {
  let next = 1;
  const done = new Map<number, number>();
  const state = { queued: false };
  return startFake(apiKey, async (fake, req, body, res, path) => {
    const request = (body ?? {}) as Record<string, unknown>;
    if (req.method !== 'POST') return sendJson(res, 405, { status: 'error', message: 'POST only' });
    if (request.key !== fake.apiKey) return sendJson(res, 200, { status: 'error', message: 'Invalid API key' });
    if (GENERATE.has(path)) {
      const fault = await applyFault(fake, res, {
        rateLimited: { status: 'error', message: 'Rate limit exceeded' },
        serverError: { status: 'error', message: 'Server error' },
        noCredits: [200, { status: 'error', message: 'Insufficient balance, please recharge your wallet' }],
      });
      if (fault !== 'ok' && fault !== 'delay') {
        if (fault === 'empty') sendJson(res, 200, { status: 'success', generationTime: 1, id: next++, output: [] });
        return;
      }
      const id = next++;
      const samples = Number(request.samples ?? 1);
      done.set(id, samples);
      const output = Array.from({ length: samples }, (_, i) => `${fake.url}/files/${id}-${i}.png`);
      if ((fake as FakeProvider & { queued?: boolean }).queued) return sendJson(res, 200, { status: 'processing', id, eta: 1, fetch_result: `${fake.url}/api/v3/fetch/${id}`, output: [] });
      return sendJson(res, 200, { status: 'success', generationTime: 1.2, id, output, meta: { W: request.width, H: request.height, seed: request.seed } });
    }
    const match = /^\/api\/v3\/fetch\/(\d+)$/.exec(path);
    if (match) {
      const id = Number(match[1]);
      const samples = done.get(id);
      if (!samples) return sendJson(res, 200, { status: 'error', message: 'Request not found' });
      return sendJson(res, 200, { status: 'success', id, output: Array.from({ length: samples }, (_, i) => `${fake.url}/files/${id}-${i}.png`) });
    }
    sendJson(res, 404, { status: 'error', message: 'not found' });
  }).then((fake) => Object.assign(fake, state));
}
