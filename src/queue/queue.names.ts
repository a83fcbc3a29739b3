import type { JobKind } from '../db/entities/job.entity.ts';

/** Every generation job, whatever its kind, goes through this one queue; the job name selects the engine. */
export const GENERATION_QUEUE = 'generation';

export const GENERATION_JOB_NAMES = {
  IMAGE: 'generate-image',
  VIDEO: 'generate-video',
  SPEECH: 'synthesize-speech',
  TALKING_HEAD: 'generate-talking-head',
} as const satisfies Record<JobKind, string>;

export type GenerationJobName = (typeof GENERATION_JOB_NAMES)[JobKind];

/** Payloads carry ids only: the worker re-reads the row, so a payload can never go stale. */
export interface GenerationPayload {
  jobId: string;
}
