import { z } from 'zod';
import type { GenerateImageInput } from '../src/services/generation.inputs.ts';

/** What every dialect's job request may carry about how it is queued: seconds it may run (30–300) and priority. */
export const runFields = {
  timeout: z.number().int().min(30).max(300).optional().describe('Seconds the job may run (30–300); a synchronous answer waits as long'),
  priority: z.number().int().min(1).max(10).optional().describe('1 runs first, 10 last'),
};

/** The REST events a task's webhook may be limited to ("completed" is any final state). */
export const WEBHOOK_EVENT_FILTERS = ['started', 'start', 'progress', 'output', 'logs', 'completed', 'failed', 'cancelled'] as const;

/**
 * What every create route takes beside its dialect's own fields (see rest.submission.ts): a webhook for the
 * task's events, optionally filtered. Forms carry the filter as one comma-separated field.
 */
export const submitFields = {
  webhook: z.url().optional().describe("Send this task's events here, signed per Standard Webhooks"),
  webhook_events_filter: z
    .union([z.array(z.enum(WEBHOOK_EVENT_FILTERS)), z.string().describe('Comma-separated (forms)')])
    .optional()
    .describe('Which events (default all); "completed" is any final state'),
};

/**
 * The image fields the three image dialects (000 /generate/image, 001 and 003 /api/v1/images/generate) share,
 * under the documents' names. 001 says `steps`, 000 and 003 `num_inference_steps`: both are read, one meaning.
 */
export const imageFields = {
  prompt: z.string().min(1),
  negative_prompt: z.string().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  num_images: z.number().int().min(1).max(10).optional().describe('Up to 10 (PiAPI), 4 on Stable-Diffusion.com and local engines'),
  guidance_scale: z.number().optional(),
  steps: z.number().int().optional(),
  num_inference_steps: z.number().int().optional().describe('Same as steps'),
  seed: z.number().int().optional(),
  ...runFields,
};

type ImageBody = { [K in keyof typeof imageFields]?: z.output<(typeof imageFields)[K]> };

/** The shared fields in the core's terms; each dialect's mapper adds its own. */
export function imageCoreInput(body: ImageBody): GenerateImageInput {
  return {
    prompt: body.prompt ?? '',
    negativePrompt: body.negative_prompt,
    width: body.width,
    height: body.height,
    numImages: body.num_images,
    guidance: body.guidance_scale,
    steps: body.steps ?? body.num_inference_steps,
    seed: body.seed,
    timeout: body.timeout,
    priority: body.priority,
  };
}
