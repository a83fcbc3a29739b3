import { z } from 'zod';

/**
 * The bounds of each per-user limit, shared by the quota API (QuotaService) and the users/*.yaml files, so a
 * value one accepts the other accepts too.
 */
export const quotaFields = {
  imagesPerDay: z.number().int().min(0).max(1_000_000),
  videosPerDay: z.number().int().min(0).max(1_000_000),
  maxResolution: z.string().regex(/^\d{2,5}x\d{2,5}$/, 'must look like "1920x1080"'),
  maxDurationSeconds: z.number().positive().max(86_400),
  maxFrames: z.number().int().positive().max(1_000_000),
};
