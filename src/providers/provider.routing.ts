import { z } from 'zod';
import { ConfigError } from '../config/config.ts';
import { PROVIDER_TYPES, type ProviderType } from '../db/entities/provider.entity.ts';
import { openAiAdapter } from './openai.adapter.ts';
import { piApiAdapter } from './piapi.adapter.ts';
import { stableDiffusionAdapter } from './stable-diffusion.adapter.ts';
import { type ProviderAdapter, type ProviderFeature, PROVIDER_FEATURES } from './provider.types.ts';

export const ADAPTERS: Record<ProviderType, ProviderAdapter> = {
  OPENAI: openAiAdapter,
  PIAPI: piApiAdapter,
  STABLE_DIFFUSION: stableDiffusionAdapter,
};

const routingRule = z.object({
  feature: z.enum(PROVIDER_FEATURES).optional(),
  styles: z.array(z.string().toLowerCase()).optional(),
  /** Provider types (with a model) tried in order, or "cheapest" for the lowest costPerImage first. */
  prefer: z.union([z.literal('cheapest'), z.array(z.object({ type: z.enum(PROVIDER_TYPES), model: z.string().nullish() }))]),
});
export type RoutingRule = z.infer<typeof routingRule>;

/** The service document's strategy, as data; PROVIDER_ROUTING_RULES (JSON, same shape) replaces it. */
export const DEFAULT_ROUTING_RULES: RoutingRule[] = [
  { feature: 'vision', prefer: [{ type: 'OPENAI', model: 'dall-e-3' }] },
  { feature: 'controlnet', prefer: [{ type: 'STABLE_DIFFUSION', model: 'sdxl' }] },
  { feature: 'inpaint', prefer: [{ type: 'PIAPI', model: 'flux' }, { type: 'STABLE_DIFFUSION' }] },
  { feature: 'faceswap', prefer: [{ type: 'PIAPI', model: 'faceswap' }] },
  { feature: 'upscale', prefer: [{ type: 'STABLE_DIFFUSION', model: 'upscale' }, { type: 'PIAPI', model: 'upscale' }] },
  {
    styles: ['realistic', 'realism', 'photo', 'photorealistic', 'high_quality', 'high-quality', 'hq'],
    prefer: [
      { type: 'OPENAI', model: 'dall-e-3' },
      { type: 'STABLE_DIFFUSION', model: 'sdxl' },
    ],
  },
  { styles: ['art', 'artistic', 'creative', 'fantasy'], prefer: [{ type: 'PIAPI', model: 'midjourney' }] },
  { styles: ['anime', 'manga'], prefer: [{ type: 'STABLE_DIFFUSION', model: 'anything-v5' }] },
  { styles: ['volume', 'cheap', 'low_cost', 'low-cost', 'draft'], prefer: 'cheapest' },
];

export function parseRoutingRules(json: string | undefined): RoutingRule[] {
  if (!json) return DEFAULT_ROUTING_RULES;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`PROVIDER_ROUTING_RULES is not JSON: ${(error as Error).message}`);
  }
  const parsed = z.array(routingRule).safeParse(raw);
  if (!parsed.success) throw new ConfigError(`PROVIDER_ROUTING_RULES is not a valid rule table: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const str = (v: unknown) => (typeof v === 'string' && v ? v.toLowerCase() : null);

/** What an image request asks a provider to do, read from its extraParams. */
export function featureOf(extra: Record<string, unknown>): ProviderFeature {
  const mode = str(extra.mode) ?? str(extra.task);
  if (mode === 'vision') return 'vision';
  if (mode === 'faceswap' || mode === 'face-swap' || extra.faceswap === true || extra.swap_image) return 'faceswap';
  if (mode === 'upscale' || extra.upscale === true) return 'upscale';
  if (extra.controlnet === true || extra.controlnet_model) return 'controlnet';
  if (mode === 'inpaint' || mode === 'edit' || extra.mask || extra.mask_image) return 'inpaint';
  if (mode === 'img2img' || extra.init_image) return 'img2img';
  return 'txt2img';
}

const REQUIRED: Partial<Record<ProviderFeature, [string[], string][]>> = {
  vision: [[['input_images'], 'extraParams.input_images (image URLs or base64)']],
  faceswap: [
    [['swap_image'], 'extraParams.swap_image (the face)'],
    [['target_image', 'init_image'], 'extraParams.target_image (the picture to put it on)'],
  ],
  upscale: [[['image', 'init_image'], 'extraParams.image (the picture to upscale)']],
  controlnet: [[['init_image'], 'extraParams.init_image (the control image)']],
  inpaint: [[['init_image', 'image'], 'extraParams.init_image (the picture to edit)']],
};

/** What a feature cannot do without; a request missing it is refused at submission, not sent to be billed. */
export function missingParams(feature: ProviderFeature, extra: Record<string, unknown>): string[] {
  const present = (key: string) => {
    const value = extra[key];
    return Array.isArray(value) ? value.length > 0 : typeof value === 'string' && value.length > 0;
  };
  return (REQUIRED[feature] ?? []).filter(([keys]) => !keys.some(present)).map(([, label]) => label);
}

export interface RoutableProvider {
  id: string;
  name: string;
  type: ProviderType;
  isDefault: boolean;
  priority: number;
  costPerImage: number;
}

export interface RouteStep {
  providerId: string;
  providerName: string;
  type: ProviderType;
  model: string | null;
}

export interface Route {
  feature: ProviderFeature;
  /** Why the first provider was chosen: "providerId", "rule:<n>" or "default". */
  reason: string;
  chain: RouteStep[];
}

const byPreference = (a: RoutableProvider, b: RoutableProvider) =>
  Number(b.isDefault) - Number(a.isDefault) || a.priority - b.priority || a.costPerImage - b.costPerImage || a.name.localeCompare(b.name);

/**
 * Orders the active providers for one request: the asked provider or the first matching rule's choice
 * first, then every other provider that can do the feature, as fallbacks.
 */
export function route(
  request: { feature: ProviderFeature; style: string | null; providerId: string | null; model: string | null },
  active: RoutableProvider[],
  rules: RoutingRule[],
): Route {
  const capable = active.filter((p) => ADAPTERS[p.type].features.includes(request.feature)).sort(byPreference);
  const chain: RouteStep[] = [];
  const add = (p: RoutableProvider, model: string | null) => {
    if (!chain.some((s) => s.providerId === p.id)) chain.push({ providerId: p.id, providerName: p.name, type: p.type, model });
  };
  let reason = 'default';
  if (request.providerId) {
    const asked = active.find((p) => p.id === request.providerId || p.name === request.providerId);
    if (asked && capable.includes(asked)) {
      add(asked, request.model);
      reason = 'providerId';
    }
  } else {
    const style = request.style?.toLowerCase() ?? null;
    const index = rules.findIndex((r) => (r.feature ? r.feature === request.feature : request.feature === 'txt2img' || !r.styles) && (!r.styles || (style !== null && r.styles.includes(style))));
    const rule = rules[index];
    if (rule) {
      reason = `rule:${index}`;
      if (rule.prefer === 'cheapest') {
        for (const p of [...capable].sort((a, b) => a.costPerImage - b.costPerImage || byPreference(a, b))) add(p, null);
      } else {
        for (const want of rule.prefer) for (const p of capable.filter((c) => c.type === want.type)) add(p, request.model ?? want.model ?? null);
      }
    }
  }
  for (const p of capable) add(p, null);
  return { feature: request.feature, reason, chain };
}
