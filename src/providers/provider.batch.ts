import type { ProviderType } from '../db/entities/provider.entity.ts';

/**
 * How many images one request may ask of a provider, as the image service document gives them: PiAPI batches
 * up to 10, Stable-Diffusion.com up to 4. DALL-E 2 takes n up to 10 in one call; DALL-E 3 takes n = 1, so the
 * adapter makes one call per image, and four calls is where we stop billing one request.
 */
export function maxImagesPerRequest(type: ProviderType, model: string | null): number {
  if (type === 'PIAPI') return 10;
  if (type === 'STABLE_DIFFUSION') return 4;
  return model === 'dall-e-2' ? 10 : 4;
}

/** The most any provider allows, which is also the most a request may ask before it is routed. */
export const MAX_IMAGES_ANY_PROVIDER = 10;

/** A provider's display name as a stable id: "OpenAI Default" → "openai_default". */
export function providerSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 56) || 'provider';
}
