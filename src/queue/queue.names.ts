import type { JobKind } from '../db/entities/job.entity.ts';

/**
 * Engine families. Each has its own queue, so a worker only takes jobs for engines it has loaded
 * (a CPU-only worker never picks up an ONNX job meant for a GPU box).
 */
export const ENGINE_FAMILIES = ['builtin', 'onnx', 'comfyui', 'provider'] as const;
export type EngineFamily = (typeof ENGINE_FAMILIES)[number];

export const isEngineFamily = (value: string): value is EngineFamily => (ENGINE_FAMILIES as readonly string[]).includes(value);

/** The one place queue names are made. */
export const generationQueueName = (family: EngineFamily) => `generation-${family}`;

export const GENERATION_JOB_NAMES = {
  IMAGE: 'generate-image',
  VIDEO: 'generate-video',
  SPEECH: 'synthesize-speech',
  TALKING_HEAD: 'generate-talking-head',
  WORKFLOW: 'run-comfy-workflow',
} as const satisfies Record<JobKind, string>;

export type GenerationJobName = (typeof GENERATION_JOB_NAMES)[JobKind];

/** Payloads carry ids only: the worker re-reads the row, so a payload can never go stale. */
export interface GenerationPayload {
  jobId: string;
}
