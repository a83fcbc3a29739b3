import type { ProviderType } from '../db/entities/provider.entity.ts';
import type { ImageJobInput } from '../services/generation.inputs.ts';

export const PROVIDER_FEATURES = ['txt2img', 'img2img', 'inpaint', 'upscale', 'faceswap', 'controlnet', 'vision'] as const;
export type ProviderFeature = (typeof PROVIDER_FEATURES)[number];

/** One image request as a provider adapter sees it: the job's input with the route's model. */
export interface ProviderRequest
  extends Pick<ImageJobInput, 'prompt' | 'negativePrompt' | 'width' | 'height' | 'steps' | 'guidance' | 'seed' | 'numImages' | 'style'> {
  feature: ProviderFeature;
  /** The model the route asked for (dall-e-3, midjourney, sdxl, …); null for the provider's default. */
  model: string | null;
  extraParams: Record<string, unknown>;
}

/** What a provider will actually be asked for, decided before calling it and recorded on the job. */
export interface ProviderPlan {
  model: string;
  width: number;
  height: number;
  numImages: number;
  quality?: string;
  /** Parameters this provider cannot honour, each with why; recorded on the job, never silent. */
  dropped: { param: string; reason: string }[];
  /** Size changed to the nearest one the provider supports. */
  resized: boolean;
}

export interface ProviderImage {
  data: Buffer;
}

export interface ProviderOutput {
  images: ProviderImage[];
  /** Images the provider bills for (a DALL-E 3 request for n images is n calls, each billed). */
  billedImages: number;
  /** Billed on top of images (e.g. a vision analysis). */
  extraCost: number;
  metadata: Record<string, unknown>;
}

export interface AdapterContext {
  baseUrl: string;
  apiKey: string;
  config: Record<string, unknown>;
  signal: AbortSignal;
  timeoutMs: number;
  pollIntervalMs: number;
  /**
   * Waits up to `ms` for the provider to notify us (by webhook) that `taskId` changed; resolves with the task
   * it sent, or null. Without webhooks it simply waits, so a poll loop wakes early only when one arrives.
   */
  waitForTask?(taskId: string, ms: number): Promise<Record<string, unknown> | null>;
}

export type ProviderFailure = 'TIMEOUT' | 'RATE_LIMITED' | 'SERVER_ERROR' | 'NO_CREDITS' | 'EMPTY_RESULT' | 'REJECTED';

/** A failed provider call, classified so the runner knows whether to retry, fall back, or alert. */
export class ProviderCallError extends Error {
  readonly failure: ProviderFailure;
  readonly httpStatus: number | null;
  /** Images the provider already billed before the failure (a later call of several failed). */
  billedImages = 0;
  /** Other charges already made (a vision analysis before its DALL-E call failed). */
  billedExtra = 0;

  constructor(failure: ProviderFailure, message: string, httpStatus: number | null = null) {
    super(message);
    this.name = 'ProviderCallError';
    this.failure = failure;
    this.httpStatus = httpStatus;
  }

  /** Worth trying the same provider again after a pause. */
  get retryable(): boolean {
    return this.failure === 'TIMEOUT' || this.failure === 'RATE_LIMITED' || this.failure === 'SERVER_ERROR' || this.failure === 'EMPTY_RESULT';
  }
}

export interface ProviderAdapter {
  readonly type: ProviderType;
  readonly defaultBaseUrl: string;
  readonly features: readonly ProviderFeature[];
  readonly defaultModel: string;
  plan(request: ProviderRequest): ProviderPlan;
  /** Price of one image of this plan, from the price table (config overrides the document's defaults). */
  pricePerImage(plan: ProviderPlan, prices: Record<string, number>): number;
  generate(request: ProviderRequest, plan: ProviderPlan, ctx: AdapterContext): Promise<ProviderOutput>;
  /** Credits left from the provider's own API; null when it has none. */
  credits(ctx: AdapterContext): Promise<number | null>;
}
