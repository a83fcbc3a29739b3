import { z } from 'zod';
import type { Nullable } from './validation.ts';

const dimension = z
  .number()
  .int()
  .min(64)
  .max(2048)
  .refine((v) => v % 8 === 0, 'must be a multiple of 8');

// GraphQL Int is 32-bit signed.
export const MAX_SEED = 2 ** 31 - 1;

export const priority = z.number().int().min(1).max(10);

export const generateImageInput = z.object({
  prompt: z.string().trim().min(1, 'must not be empty').max(4000),
  negativePrompt: z.string().trim().max(4000).nullish(),
  width: dimension.default(512),
  height: dimension.default(512),
  steps: z.number().int().min(1).max(150).default(30),
  guidance: z.number().min(0).max(30).default(7.5),
  seed: z.number().int().min(0).max(MAX_SEED).nullish(),
  numImages: z.number().int().min(1).max(4).default(1),
  priority: priority.default(5),
});

export type GenerateImageInput = Nullable<z.input<typeof generateImageInput>> & { prompt: string };

/** What is stored on the Job: the request with defaults applied and the seed fixed, so a run can be repeated. */
export interface ImageJobInput {
  prompt: string;
  negativePrompt: string | null;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  seed: number;
  numImages: number;
}
