import { callJson, fetchImage, isCreditMessage, pollUntil } from './provider.http.ts';
import { type ProviderAdapter, type ProviderPlan, type ProviderRequest, ProviderCallError } from './provider.types.ts';

/** The service document: about $0.009 an image on PiAPI. */
export const PIAPI_PRICES: Record<string, number> = { default: 0.009 };

interface TaskEnvelope {
  code?: number;
  message?: string;
  data?: {
    task_id?: string;
    status?: string;
    output?: { image_url?: string | null; image_urls?: string[] | null } | null;
    error?: { code?: number; message?: string } | null;
  };
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

function service(request: ProviderRequest, config: Record<string, unknown> = {}): string {
  if (request.feature === 'faceswap') return 'faceswap';
  if (request.feature === 'upscale') return 'upscale';
  if (request.feature === 'inpaint') return 'flux';
  return str(request.extraParams.service) ?? request.model ?? str(config.default_service) ?? 'midjourney';
}

/** The task body for each PiAPI service, as its unified task API documents it. */
function taskBody(request: ProviderRequest, plan: ProviderPlan) {
  const x = request.extraParams;
  switch (plan.model) {
    case 'faceswap':
      return { model: 'Qubico/image-toolkit', task_type: 'face-swap', input: { target_image: str(x.target_image) ?? str(x.init_image), swap_image: str(x.swap_image) } };
    case 'upscale':
      return { model: 'Qubico/image-toolkit', task_type: 'upscale', input: { image: str(x.image) ?? str(x.init_image), scale: num(x.scale) ?? 2 } };
    case 'flux': {
      const taskType = request.feature === 'inpaint' ? 'fill-inpaint' : request.feature === 'img2img' ? 'img2img' : 'txt2img';
      return {
        model: request.feature === 'inpaint' ? 'Qubico/flux1-dev-advanced' : 'Qubico/flux1-dev',
        task_type: taskType,
        input: {
          prompt: request.prompt,
          negative_prompt: request.negativePrompt ?? undefined,
          width: plan.width,
          height: plan.height,
          steps: request.steps,
          guidance_scale: request.guidance,
          seed: request.seed,
          batch_size: plan.numImages,
          image: str(x.init_image) ?? str(x.image) ?? undefined,
          mask: str(x.mask) ?? str(x.mask_image) ?? undefined,
        },
      };
    }
    default: {
      // Midjourney takes its options in the prompt, as Discord does.
      const g = gcd(plan.width, plan.height);
      const flags = [`--seed ${request.seed % 4294967295}`];
      if (request.negativePrompt) flags.push(`--no ${request.negativePrompt.replace(/\s+/g, ' ')}`);
      if (num(x.chaos) !== null) flags.push(`--chaos ${num(x.chaos)}`);
      if (num(x.stylize) !== null) flags.push(`--stylize ${num(x.stylize)}`);
      return {
        model: 'midjourney',
        task_type: 'imagine',
        input: { prompt: `${request.prompt} ${flags.join(' ')}`, aspect_ratio: `${plan.width / g}:${plan.height / g}`, process_mode: str(x.process_mode) ?? 'fast', skip_prompt_check: false },
      };
    }
  }
}

/** PiAPI's unified task API: POST /api/v1/task, then GET /api/v1/task/{id} until it completes or fails. */
export const piApiAdapter: ProviderAdapter = {
  type: 'PIAPI',
  defaultBaseUrl: 'https://api.piapi.ai',
  features: ['txt2img', 'img2img', 'inpaint', 'upscale', 'faceswap'],
  defaultModel: 'midjourney',

  plan(request) {
    const model = service(request);
    const dropped: ProviderPlan['dropped'] = [];
    let { width, height } = request;
    if (model === 'midjourney') {
      dropped.push({ param: 'steps', reason: 'Midjourney has no step count' }, { param: 'guidance', reason: 'Midjourney has no guidance scale' });
      if (request.numImages > 1) dropped.push({ param: 'numImages', reason: 'Midjourney always makes one grid of four; the grid images are returned' });
    } else if (model === 'flux') {
      // Flux takes at most about one megapixel.
      const scale = Math.min(1, Math.sqrt((1024 * 1024) / (width * height)));
      width = Math.max(64, Math.floor((width * scale) / 16) * 16);
      height = Math.max(64, Math.floor((height * scale) / 16) * 16);
    }
    if (request.extraParams.chaos !== undefined && model !== 'midjourney') dropped.push({ param: 'extraParams.chaos', reason: 'Midjourney only' });
    if (request.extraParams.stylize !== undefined && model !== 'midjourney') dropped.push({ param: 'extraParams.stylize', reason: 'Midjourney only' });
    return { model, width, height, numImages: model === 'midjourney' ? 4 : request.numImages, dropped, resized: width !== request.width || height !== request.height };
  },

  pricePerImage(plan, prices) {
    return prices[plan.model] ?? prices.default ?? PIAPI_PRICES.default!;
  },

  async generate(request, plan, ctx) {
    const headers = { 'x-api-key': ctx.apiKey };
    const body: Record<string, unknown> = taskBody(request, plan);
    const webhook = str(ctx.config.webhook_url);
    if (webhook) body.config = { webhook_config: { endpoint: webhook, secret: str(ctx.config.webhook_secret) ?? '' } };
    const submitted = await callJson<TaskEnvelope | null>(ctx, 'POST', 'api/v1/task', body, headers);
    const taskId = submitted?.data?.task_id;
    if (!taskId) throw new ProviderCallError('EMPTY_RESULT', `PiAPI accepted no task: ${submitted?.message ?? 'no task id'}`);
    const finalTask = (task: NonNullable<TaskEnvelope['data']>) => {
      const status = (task.status ?? '').toLowerCase();
      return status === 'completed' || status === 'failed' ? task : null;
    };
    const finished = await pollUntil(
      ctx,
      async () => {
        const polled = await callJson<TaskEnvelope>(ctx, 'GET', `api/v1/task/${encodeURIComponent(taskId)}`, undefined, headers);
        return polled.data ? finalTask(polled.data) : null;
      },
      { taskId, read: (task) => finalTask(task as NonNullable<TaskEnvelope['data']>) },
    );
    if ((finished.status ?? '').toLowerCase() === 'failed') {
      const message = finished.error?.message ?? 'task failed';
      throw new ProviderCallError(isCreditMessage(message) ? 'NO_CREDITS' : 'SERVER_ERROR', `PiAPI task ${taskId} failed: ${message}`);
    }
    const urls = finished.output?.image_urls?.length ? finished.output.image_urls : finished.output?.image_url ? [finished.output.image_url] : [];
    if (!urls.length) throw new ProviderCallError('EMPTY_RESULT', `PiAPI task ${taskId} completed without an image`, 200);
    const images = await Promise.all(urls.map(async (url) => ({ data: await fetchImage(ctx, { url }) })));
    // A Midjourney job is billed once for its grid, whatever the number of images in it.
    return { images, billedImages: plan.model === 'midjourney' ? 1 : images.length, extraCost: 0, metadata: { taskId, service: plan.model } };
  },

  async credits(ctx) {
    const info = await callJson<{ data?: { credits?: number; equivalent_in_usd?: number } }>(ctx, 'GET', 'account/info', undefined, { 'x-api-key': ctx.apiKey });
    return num(info.data?.credits) ?? null;
  },
};
