import type { ProviderType } from '../db/entities/provider.entity.ts';

/**
 * How many images one call to a provider makes, as the image service document gives them: PiAPI batches up to 10,
 * Stable-Diffusion.com up to 4 (a larger request is made in several calls), DALL-E 2 takes n up to 10, DALL-E 3
 * n = 1 (one call per image).
 */
export function batchSizePerCall(type: ProviderType, model: string | null): number {
  if (type === 'PIAPI') return 10;
  if (type === 'STABLE_DIFFUSION') return 4;
  return model === 'dall-e-2' ? 10 : 1;
}

/** The most images one request may ask for, whichever provider makes them (PiAPI's batch). */
export const MAX_IMAGES_PER_REQUEST = 10;

/** A provider's display name as a stable id: "OpenAI Default" → "openai_default". */
export function providerSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 56) || 'provider';
}
