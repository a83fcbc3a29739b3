import { z } from 'zod';
import type { Nullable } from './validation.ts';

// GraphQL Int is 32-bit signed.
export const MAX_SEED = 2 ** 31 - 1;

const dimension = z
  .number()
  .int()
  .min(64)
  .max(2048)
  .refine((v) => v % 8 === 0, 'must be a multiple of 8');

export const priority = z.number().int().min(1).max(10);
/** Seconds a job may run; the documents accept 30–300. */
export const timeoutSeconds = z.number().int().min(30).max(300);
const seed = z.number().int().min(0).max(MAX_SEED);
const prompt = z.string().trim().min(1, 'must not be empty').max(4000);
const id = z.uuid('must be an id');
// Free-form JSON is stored on the job row and handed to engines: 64 KB is far more than any parameter set needs.
const MAX_FREE_JSON_BYTES = 64 * 1024;
const jsonObject = z
  .record(z.string(), z.unknown())
  .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= MAX_FREE_JSON_BYTES, `must be at most ${MAX_FREE_JSON_BYTES / 1024} KB of JSON`);

/** Fields every kind of request shares: how it is queued and which profiles apply. */
const engine = z.string().trim().min(1).max(64).nullish();

const common = {
  engine,
  priority: priority.default(5),
  timeout: timeoutSeconds.default(300),
  // By id or by unique name (the video platform document names them: "hanli", "xianxia-proj2").
  characterId: z.string().trim().min(1).max(128).nullish(),
  projectId: z.string().trim().min(1).max(128).nullish(),
};

/** The media API document's "Batch size máximo: 4", for the engines that run here; paid providers take more. */
export const LOCAL_MAX_IMAGES = 4;

export const generateImageInput = z.object({
  prompt,
  negativePrompt: z.string().trim().max(4000).nullish(),
  width: dimension.default(512),
  height: dimension.default(512),
  steps: z.number().int().min(1).max(150).default(30),
  guidance: z.number().min(0).max(30).default(7.5),
  seed: seed.nullish(),
  // PiAPI's batch of 10; providers with smaller batches make it in several calls (provider.batch.ts).
  numImages: z.number().int().min(1).max(10).default(1),
  style: z.string().trim().min(1).max(64).nullish(),
  providerId: z.string().trim().min(1).max(128).nullish(),
  extraParams: jsonObject.nullish(),
  model: z.string().trim().min(1).max(128).nullish(),
  initImageAssetId: id.nullish(),
  strength: z.number().gt(0).max(1).default(0.75),
  gpuPreference: z
    .string()
    .trim()
    .regex(/^(cuda:)?\d+$|^cpu$/, 'must be a GPU index like "1", "cuda:1", or "cpu"')
    .transform((v) => (/^\d+$/.test(v) ? `cuda:${v}` : v))
    .nullish(),
  ...common,
}).refine((v) => v.numImages <= LOCAL_MAX_IMAGES || v.engine === 'provider' || !!v.providerId, {
  message: `must be at most ${LOCAL_MAX_IMAGES} on local engines (up to 10 with a paid provider)`,
  path: ['numImages'],
});
// extraParams arrives as GraphQL JSON (unknown) and is checked by the schema above.
export type GenerateImageInput = Nullable<Omit<z.input<typeof generateImageInput>, 'extraParams'>> & { prompt: string; extraParams?: unknown };

const resolution = z
  .string()
  .regex(/^\d{2,4}x\d{2,4}$/, 'must look like "WIDTHxHEIGHT", e.g. "512x288"')
  .transform((value) => value.split('x').map(Number) as [number, number])
  .refine(([w, h]) => w >= 64 && h >= 64 && w <= 1920 && h <= 1920, 'each side must be 64–1920')
  .refine(([w, h]) => w % 2 === 0 && h % 2 === 0, 'each side must be even (H.264)');

export const generateVideoInput = z.object({
  prompt,
  negativePrompt: z.string().trim().max(4000).nullish(),
  numFrames: z.number().int().min(1).max(1440).default(48),
  fps: z.number().int().min(1).max(60).default(24),
  motionScale: z.number().min(0).max(10).default(1),
  imageAssetId: id.nullish(),
  scenes: z
    .array(z.object({ prompt, duration: z.number().positive().max(60, 'at most 60 seconds a scene') }))
    .min(1)
    .max(50)
    .nullish(),
  videoConfig: z
    .object({
      fps: z.number().int().min(1).max(60).nullish(),
      resolution: resolution.nullish(),
      upscale: z.boolean().nullish(),
    })
    .nullish(),
  seed: seed.nullish(),
  ...common,
});
export type GenerateVideoInput = Nullable<z.input<typeof generateVideoInput>> & { prompt: string };

export const SPEECH_EMOTIONS = ['neutral', 'happy', 'sad', 'angry', 'excited', 'calm'] as const;
export const SPEECH_FORMATS = ['wav', 'mp3'] as const;

export const synthesizeSpeechInput = z.object({
  text: z.string().trim().min(1, 'must not be empty').max(5000),
  voiceId: z.string().trim().min(1).max(64).default('en_us_female'),
  emotion: z.enum(SPEECH_EMOTIONS).default('neutral'),
  speed: z.number().min(0.5).max(2).default(1),
  format: z.enum(SPEECH_FORMATS).default('wav'),
  /** Multi-speaker Piper voices: which speaker (0-based). */
  speakerId: z.number().int().min(0).max(100_000).nullish(),
  engine,
  priority: common.priority,
  timeout: common.timeout,
});
export type SynthesizeSpeechInput = Nullable<z.input<typeof synthesizeSpeechInput>> & { text: string };

export const talkingHeadConfig = z.object({
  guidanceScale: z.number().min(0).max(20).default(3.5),
  inferenceSteps: z.number().int().min(1).max(100).default(40),
  enableCache: z.boolean().default(true),
});
export type TalkingHeadConfig = z.output<typeof talkingHeadConfig>;

export const generateTalkingHeadInput = z.object({
  imageAssetId: id,
  audioAssetId: id,
  useCache: z.boolean().nullish(),
  fps: z.number().int().min(1).max(60).default(25),
  engine,
  priority: common.priority,
  timeout: common.timeout,
});
export type GenerateTalkingHeadInput = Nullable<z.input<typeof generateTalkingHeadInput>> & {
  imageAssetId: string;
  audioAssetId: string;
};

export const upscaleImageInput = z.object({
  assetId: id,
  scale: z.union([z.literal(2), z.literal(4)], { error: 'must be 2 or 4' }),
  model: z.string().trim().min(1).max(128).nullish(),
  priority: priority.default(5),
  timeout: timeoutSeconds.default(300),
});
export type UpscaleImageInput = Nullable<Omit<z.input<typeof upscaleImageInput>, 'scale'>> & { assetId: string; scale: number };

/** Stored on an IMAGE job run by the onnx engine's upscaler rather than a diffusion pipeline. */
export interface UpscaleJobInput {
  upscale: { assetId: string; scale: 2 | 4; model: string | null };
}

/**
 * The upscale pack for a video of width × height: frames render at 1/scale of it, so the scale must divide
 * both sides; ×2 is preferred (less for the model to invent), then ×4.
 */
export function chooseVideoUpscaler<T extends { name: string; details: Record<string, unknown> }>(packs: T[], width: number, height: number): T | undefined {
  const fits = (scale: number) => packs.find((p) => Number(p.details.scale) === scale && width % scale === 0 && height % scale === 0);
  return fits(2) ?? fits(4);
}

export const generateBatchInput = z.object({
  requests: z.array(z.unknown()).min(1, 'must hold at least one request').max(100, 'at most 100 requests a batch'),
  priority: priority.default(5),
  metadata: jsonObject.nullish(),
});

/* What is stored on each Job: the request resolved (defaults, profiles, seed), so a run can be repeated. */

export interface ImageJobInput {
  prompt: string;
  negativePrompt: string | null;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  seed: number;
  numImages: number;
  style: string | null;
  providerId: string | null;
  extraParams: Record<string, unknown> | null;
  characterId: string | null;
  projectId: string | null;
  /** A local model pack (onnx engine); absent on jobs stored before models existed. */
  model?: string | null;
  /** img2img (onnx engine): the start image and how much of it to repaint. */
  initImageAssetId?: string | null;
  strength?: number;
  /** The device of the worker's GPU pool to prefer when it has room ("cuda:1"). */
  gpuPreference?: string | null;
  /** The library workflow the comfyui engine runs (a project's engine alias, e.g. "sdxl_base"); absent → the kind's default. */
  workflowName?: string | null;
}

export interface VideoScene {
  prompt: string;
  frames: number;
}

export interface VideoJobInput {
  prompt: string;
  negativePrompt: string | null;
  width: number;
  height: number;
  fps: number;
  motionScale: number;
  seed: number;
  imageAssetId: string | null;
  /** Rendered in order into one video; a request without scenes is one scene. */
  scenes: VideoScene[];
  upscale: boolean;
  /** The ESRGAN pack chosen at submission for `upscale` (onnx engine); absent → the worker picks or cannot upscale. */
  upscaleModel?: string | null;
  characterId: string | null;
  projectId: string | null;
  /** As on images: the library workflow a project's engine alias names for the comfyui engine. */
  workflowName?: string | null;
}

export interface SpeechJobInput {
  text: string;
  voiceId: string;
  emotion: (typeof SPEECH_EMOTIONS)[number];
  speed: number;
  format: (typeof SPEECH_FORMATS)[number];
  speakerId?: number | null;
}

export interface TalkingHeadJobInput {
  imageAssetId: string;
  audioAssetId: string;
  useCache: boolean;
  fps: number;
  guidanceScale: number;
  inferenceSteps: number;
}
