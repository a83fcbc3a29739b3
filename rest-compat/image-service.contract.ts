import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { Core } from '../src/core.ts';
import type { GenerateImageInput } from '../src/services/generation.inputs.ts';
import { imageCoreInput, imageFields, submitFields } from './image.contract.ts';

/** Document 001's requests, one contract each. */
export const providerRef = z.string().min(1).max(128).describe('A provider id ("openai_default"), name, uuid or type ("openai")');

export const imageRequest001 = z.looseObject({
  ...imageFields,
  provider_id: providerRef.optional(),
  style: z.string().optional().describe('Routes by style when no provider_id: realistic, art, anime, volume…'),
  extra_params: z.record(z.string(), z.unknown()).optional().describe('Passed to the provider: service, mode, controlnet, input_images…'),
});
export type ImageRequest001 = z.output<typeof imageRequest001>;

export const batchRequest001 = z.object({
  requests: z.array(imageRequest001).min(1).max(100),
  provider_id: providerRef.optional(),
  priority: z.number().int().min(1).max(10).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  ...submitFields,
});

export const configureProvider001 = z.object({
  provider_type: z.enum(['openai', 'piapi', 'stable_diffusion']),
  name: z.string().min(1).max(128),
  id: z.string().optional().describe('The slug to use as its id; defaults to the name in snake case'),
  api_key: z.string().min(1),
  config: z.record(z.string(), z.unknown()).optional(),
  is_default: z.boolean().optional(),
  cost_per_image: z.number().min(0).optional(),
  base_url: z.url().optional(),
});

export const performanceQuery001 = z.object({ hours: z.number().int().min(1).max(2160).default(24) });
export const providerParams001 = z.object({ provider_id: providerRef });
export const batchParams001 = z.object({ job_id: z.string().min(1) });

/**
 * 001's mapper: without provider_id, the default provider route (fallback, style and feature routing) whenever
 * a provider is active; with none, the configured default engine, as before any provider was set up.
 */
export async function toImageInput001(core: Core, em: EntityManager, body: ImageRequest001, batchProviderId?: string): Promise<GenerateImageInput> {
  const providerId = body.provider_id ?? batchProviderId;
  const useProviders = providerId !== undefined || (await core.providers.anyActive(em));
  return {
    ...imageCoreInput(body),
    providerId,
    style: body.style,
    extraParams: body.extra_params,
    engine: useProviders ? 'provider' : undefined,
  };
}
