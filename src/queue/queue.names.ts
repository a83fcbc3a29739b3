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

/** Outgoing user webhooks: one entry per delivery, retried with the delivery's own backoff. */
export const WEBHOOK_QUEUE_NAME = 'webhook-delivery';
export const WEBHOOK_JOB_NAME = 'deliver-webhook';
export interface WebhookPayload {
  deliveryId: string;
}

/** Scheduled housekeeping (the asset retention sweep). */
export const MAINTENANCE_QUEUE_NAME = 'maintenance';
export const RETENTION_JOB_NAME = 'sweep-expired-assets';
