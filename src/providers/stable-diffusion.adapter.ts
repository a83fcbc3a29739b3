import { callJson, fetchImage, isCreditMessage, pollUntil } from './provider.http.ts';
import { batchSizePerCall } from './provider.batch.ts';
import { type AdapterContext, type ProviderAdapter, type ProviderOutput, type ProviderPlan, type ProviderRequest, ProviderCallError } from './provider.types.ts';

/** The service document: $0.0067–0.010 an image, SD 1.5 cheapest and SDXL dearest. */
export const STABLE_DIFFUSION_PRICES: Record<string, number> = {
  'sd-1.5': 0.0067,
  'realistic-vision-v51': 0.0085,
  'anything-v5': 0.0085,
  'dreamshaper-8': 0.0085,
  sdxl: 0.01,
  upscale: 0.01,
  controlnet: 0.01,
};

/** Friendly model names people pass, mapped to the model ids the API knows. */
const MODEL_IDS: Record<string, string> = {
  'sd-1.5': 'sd-1.5',
  sd15: 'sd-1.5',
  sdxl: 'sdxl',
  'realistic-vision': 'realistic-vision-v51',
  'realistic-vision-v51': 'realistic-vision-v51',
  anime: 'anything-v5',
  'anything-v5': 'anything-v5',
  dreamshaper: 'dreamshaper-8',
  'dreamshaper-8': 'dreamshaper-8',
};

interface SdResponse {
  status?: string;
  id?: number | string;
  output?: string[];
  message?: string;
  messege?: string;
  eta?: number;
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : null);

/** Stable-Diffusion.com (ModelsLab): the key travels in the JSON body; queued work is fetched by id. */
export const stableDiffusionAdapter: ProviderAdapter = {
  type: 'STABLE_DIFFUSION',
  defaultBaseUrl: 'https://stablediffusionapi.com',
  features: ['txt2img', 'img2img', 'controlnet', 'upscale', 'inpaint'],
  defaultModel: 'sd-1.5',

  plan(request) {
    const asked = str(request.extraParams.model_id) ?? request.model ?? 'sd-1.5';
    const model = request.feature === 'upscale' ? 'upscale' : MODEL_IDS[asked] ?? asked;
    const dropped: ProviderPlan['dropped'] = [];
    // At most 1024 a side, multiples of 8.
    const scale = Math.min(1, 1024 / Math.max(request.width, request.height));
    const width = Math.floor((request.width * scale) / 8) * 8;
    const height = Math.floor((request.height * scale) / 8) * 8;
    if (request.extraParams.chaos !== undefined) dropped.push({ param: 'extraParams.chaos', reason: 'Midjourney only' });
    // More than a call's 4 are made in several calls (generate).
    return { model, width, height, numImages: request.numImages, dropped, resized: width !== request.width || height !== request.height };
  },

  pricePerImage(plan, prices) {
    return prices[plan.model] ?? STABLE_DIFFUSION_PRICES[plan.model] ?? STABLE_DIFFUSION_PRICES.sdxl!;
  },

  /** Stable-Diffusion.com makes at most 4 images a call: a larger request is made in calls of up to 4. */
  async generate(request, plan, ctx) {
    const perCall = batchSizePerCall('STABLE_DIFFUSION', plan.model);
    if (plan.numImages <= perCall) return generateCall(request, plan, ctx);
    const outputs = [];
    for (let left = plan.numImages; left > 0; left -= perCall) outputs.push(await generateCall(request, { ...plan, numImages: Math.min(perCall, left) }, ctx));
    const images = outputs.flatMap((o) => o.images);
    return { images, billedImages: images.length, extraCost: 0, metadata: { ...outputs[0]!.metadata, calls: outputs.length } };
  },

  async credits() {
    // No documented balance endpoint; an exhausted account shows as an "insufficient" error instead.
    return null;
  },
};

async function generateCall(request: ProviderRequest, plan: ProviderPlan, ctx: AdapterContext): Promise<ProviderOutput> {
    const x = request.extraParams;
    const common = {
      key: ctx.apiKey,
      prompt: request.prompt,
      negative_prompt: request.negativePrompt ?? '',
      width: String(plan.width),
      height: String(plan.height),
      samples: String(plan.numImages),
      num_inference_steps: String(request.steps),
      guidance_scale: request.guidance,
      seed: request.seed,
      safety_checker: 'no',
      face_enhance: x.face_fix === true || x.face_enhance === true,
      webhook: str(ctx.config.webhook_url),
      track_id: null,
    };
    let path: string;
    let body: Record<string, unknown>;
    if (request.feature === 'upscale') {
      path = 'api/v3/super_resolution';
      body = { key: ctx.apiKey, url: str(x.image) ?? str(x.init_image), scale: 4, face_enhance: common.face_enhance };
    } else if (request.feature === 'controlnet') {
      path = 'api/v5/controlnet';
      body = { ...common, model_id: plan.model, controlnet_model: str(x.controlnet_model) ?? 'canny', init_image: str(x.init_image), auto_hint: 'yes' };
    } else if (request.feature === 'inpaint') {
      path = 'api/v3/inpaint';
      body = { ...common, init_image: str(x.init_image), mask_image: str(x.mask) ?? str(x.mask_image) };
    } else if (request.feature === 'img2img') {
      path = 'api/v3/img2img';
      body = { ...common, init_image: str(x.init_image), strength: typeof x.strength === 'number' ? x.strength : 0.7 };
    } else if (plan.model === 'sd-1.5') {
      path = 'api/v3/text2img';
      body = common;
    } else {
      path = 'api/v4/dreambooth';
      body = { ...common, model_id: plan.model };
    }
    let answer = await callJson<SdResponse>(ctx, 'POST', path, body);
    const failed = (a: SdResponse) => {
      const message = a.message ?? a.messege ?? 'generation failed';
      return new ProviderCallError(isCreditMessage(message) ? 'NO_CREDITS' : 'SERVER_ERROR', `Stable-Diffusion.com: ${message}`);
    };
    if (answer.status === 'error' || answer.status === 'failed') throw failed(answer);
    if (answer.status === 'processing') {
      const id = answer.id;
      if (id === undefined) throw new ProviderCallError('EMPTY_RESULT', 'Stable-Diffusion.com queued the work without an id');
      answer = await pollUntil(ctx, async () => {
        const polled = await callJson<SdResponse>(ctx, 'POST', `api/v3/fetch/${encodeURIComponent(String(id))}`, { key: ctx.apiKey });
        if (polled.status === 'error' || polled.status === 'failed') throw failed(polled);
        return polled.status === 'success' ? polled : null;
      });
    }
    const urls = answer.output ?? [];
    if (!urls.length) throw new ProviderCallError('EMPTY_RESULT', 'Stable-Diffusion.com answered without an image', 200);
    const images = await Promise.all(urls.map(async (url) => ({ data: await fetchImage(ctx, { url }) })));
    return { images, billedImages: images.length, extraCost: 0, metadata: { generationId: answer.id ?? null, modelId: plan.model } };
}
