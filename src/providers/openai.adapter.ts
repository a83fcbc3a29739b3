import { callJson, fetchImage } from './provider.http.ts';
import { type ProviderAdapter, type ProviderImage, type ProviderPlan, type ProviderRequest, ProviderCallError } from './provider.types.ts';

const DALLE2_SIZES = [256, 512, 1024];
const DALLE3_SIZES: [number, number][] = [
  [1024, 1024],
  [1024, 1792],
  [1792, 1024],
];

/** Defaults from the service document: DALL-E 2 $0.016–0.020, DALL-E 3 $0.040–0.080, vision $0.01 + $0.005 an image. */
export const OPENAI_PRICES: Record<string, number> = {
  'dall-e-2:256x256': 0.016,
  'dall-e-2:512x512': 0.018,
  'dall-e-2:1024x1024': 0.02,
  'dall-e-3:standard:1024x1024': 0.04,
  'dall-e-3:standard:1024x1792': 0.08,
  'dall-e-3:standard:1792x1024': 0.08,
  'dall-e-3:hd:1024x1024': 0.08,
  'dall-e-3:hd:1024x1792': 0.08,
  'dall-e-3:hd:1792x1024': 0.08,
  'vision:base': 0.01,
  'vision:image': 0.005,
};

const str = (v: unknown) => (typeof v === 'string' && v ? v : null);

interface ImagesResponse {
  data?: { b64_json?: string; url?: string; revised_prompt?: string }[];
}
interface ChatResponse {
  choices?: { message?: { content?: string } }[];
}

function dalleModel(request: ProviderRequest): 'dall-e-2' | 'dall-e-3' {
  const asked = str(request.extraParams.dalle_model) ?? str(request.extraParams.model) ?? request.model;
  return asked === 'dall-e-2' ? 'dall-e-2' : 'dall-e-3';
}

/** Images and chat completions as OpenAI documents them (Bearer key, JSON in, JSON out). */
export const openAiAdapter: ProviderAdapter = {
  type: 'OPENAI',
  defaultBaseUrl: 'https://api.openai.com',
  features: ['txt2img', 'vision'],
  defaultModel: 'dall-e-3',

  plan(request) {
    const model = dalleModel(request);
    const dropped: ProviderPlan['dropped'] = [];
    if (request.negativePrompt) dropped.push({ param: 'negativePrompt', reason: 'OpenAI images take no negative prompt' });
    dropped.push({ param: 'steps', reason: 'not supported by DALL-E' }, { param: 'guidance', reason: 'not supported by DALL-E' }, { param: 'seed', reason: 'DALL-E has no seed' });
    let width: number;
    let height: number;
    let quality: string | undefined;
    if (model === 'dall-e-2') {
      const side = Math.max(request.width, request.height);
      width = height = DALLE2_SIZES.reduce((best, s) => (Math.abs(s - side) < Math.abs(best - side) ? s : best));
      if (request.extraParams.quality !== undefined) dropped.push({ param: 'extraParams.quality', reason: 'DALL-E 2 has one quality' });
    } else {
      const ratio = request.width / request.height;
      [width, height] = DALLE3_SIZES.reduce((best, s) => (Math.abs(Math.log(s[0] / s[1] / ratio)) < Math.abs(Math.log(best[0] / best[1] / ratio)) ? s : best));
      quality = request.extraParams.quality === 'hd' ? 'hd' : 'standard';
    }
    return { model, width, height, numImages: request.numImages, quality, dropped, resized: width !== request.width || height !== request.height };
  },

  pricePerImage(plan, prices) {
    const key = plan.model === 'dall-e-2' ? `dall-e-2:${plan.width}x${plan.height}` : `dall-e-3:${plan.quality}:${plan.width}x${plan.height}`;
    return prices[key] ?? OPENAI_PRICES[key] ?? 0;
  },

  async generate(request, plan, ctx) {
    const headers = { authorization: `Bearer ${ctx.apiKey}` };
    const metadata: Record<string, unknown> = {};
    let extraCost = 0;
    let prompt = request.prompt;
    if (request.feature === 'vision') {
      const inputs = Array.isArray(request.extraParams.input_images) ? request.extraParams.input_images.filter((i): i is string => typeof i === 'string') : [];
      if (!inputs.length) throw new ProviderCallError('REJECTED', 'Vision mode needs extraParams.input_images (URLs or base64)');
      const chat = await callJson<ChatResponse>(
        ctx,
        'POST',
        'v1/chat/completions',
        {
          model: str(ctx.config.visionModel) ?? 'gpt-4o',
          max_tokens: 1000,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: request.prompt },
                ...inputs.map((image) => ({ type: 'image_url', image_url: { url: /^(https?:|data:)/.test(image) ? image : `data:image/png;base64,${image}` } })),
              ],
            },
          ],
        },
        headers,
      );
      const analysis = chat.choices?.[0]?.message?.content;
      if (!analysis) throw new ProviderCallError('EMPTY_RESULT', 'The vision model answered without an analysis');
      extraCost = (OPENAI_PRICES['vision:base'] ?? 0) + (OPENAI_PRICES['vision:image'] ?? 0) * inputs.length;
      metadata.analysis = analysis;
      if (request.extraParams.generate_from_analysis !== true) return { images: [], billedImages: 0, extraCost, metadata };
      prompt = `${request.prompt}\n\nReference analysis: ${analysis}`.slice(0, plan.model === 'dall-e-2' ? 1000 : 4000);
      metadata.vision_analysis = analysis;
      metadata.enhanced_prompt = prompt;
    }
    // DALL-E 3 makes one image a call.
    const calls = plan.model === 'dall-e-3' ? plan.numImages : 1;
    const images: ProviderImage[] = [];
    const revised: string[] = [];
    try {
      for (let i = 0; i < calls; i++) {
        const response = await callJson<ImagesResponse>(
          ctx,
          'POST',
          'v1/images/generations',
          {
            model: plan.model,
            prompt,
            n: plan.model === 'dall-e-3' ? 1 : plan.numImages,
            size: `${plan.width}x${plan.height}`,
            ...(plan.quality ? { quality: plan.quality } : {}),
            response_format: 'b64_json',
          },
          headers,
        );
        if (!response.data?.length) throw new ProviderCallError('EMPTY_RESULT', 'OpenAI answered 200 without an image', 200);
        for (const item of response.data) {
          images.push({ data: await fetchImage(ctx, { b64: item.b64_json, url: item.url }) });
          if (item.revised_prompt) revised.push(item.revised_prompt);
        }
      }
    } catch (error) {
      // What earlier calls produced was paid for, even though the request as a whole failed.
      if (error instanceof ProviderCallError) Object.assign(error, { billedImages: images.length, billedExtra: extraCost });
      throw error;
    }
    if (revised.length) metadata.revised_prompts = revised;
    return { images, billedImages: images.length, extraCost, metadata };
  },

  async credits() {
    // OpenAI offers no balance API for API keys.
    return null;
  },
};
