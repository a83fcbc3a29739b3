import { z } from 'zod';
import type { GenerateImageInput, GenerateVideoInput, SynthesizeSpeechInput } from '../src/services/generation.inputs.ts';
import { imageCoreInput, imageFields, runFields, submitFields } from './image.contract.ts';

/** Document 000's requests, one contract each. */
export const loginRequest = z.object({ username: z.string().min(1), password: z.string().min(1) });
export const imageRequest000 = z.object({ ...imageFields, num_images: z.number().int().min(1).max(4).optional().describe('Batch size, at most 4'), ...submitFields });
export const videoRequest000 = z.object({
  prompt: z.string().min(1),
  negative_prompt: z.string().optional(),
  num_frames: z.number().int().optional(),
  fps: z.number().int().optional(),
  motion_scale: z.number().optional(),
  seed: z.number().int().optional(),
  ...runFields,
  ...submitFields,
});
export const speechRequest000 = z.object({
  text: z.string().min(1),
  voice_id: z.string().optional(),
  emotion: z.string().optional(),
  speed: z.number().optional(),
  format: z.enum(['wav', 'mp3']).optional(),
  ...runFields,
  ...submitFields,
});
const comfyRun = {
  ...runFields,
  ...submitFields,
  gpu_preference: z.number().int().min(0).optional(),
  server_url: z.string().optional().describe('A ComfyUI server on COMFYUI_ALLOWED_SERVERS'),
};
export const comfyExecute = z.object({ workflow: z.record(z.string(), z.unknown()).describe('API format, or {nodes: [{type, inputs}]}'), ...comfyRun });
export const comfyExecuteFile = z.object({
  workflow_name: z.string().min(1).describe('A workflow of the library (GET /workflows): sdxl_base, image_to_video, hallo2_talking_head…'),
  params: z.record(z.string(), z.unknown()).optional().describe('Values for its bound inputs: prompt, negativePrompt, seed, width, height, image, audio'),
  ...comfyRun,
});

/** 000's mappers into the core's inputs. */
export const toImageInput000 = (body: z.output<typeof imageRequest000>): GenerateImageInput => imageCoreInput(body);

export const toVideoInput000 = (body: z.output<typeof videoRequest000>): GenerateVideoInput => ({
  prompt: body.prompt,
  negativePrompt: body.negative_prompt,
  numFrames: body.num_frames,
  fps: body.fps,
  motionScale: body.motion_scale,
  seed: body.seed,
  timeout: body.timeout,
  priority: body.priority,
});

export const toSpeechInput000 = (body: z.output<typeof speechRequest000>): SynthesizeSpeechInput => ({
  text: body.text,
  voiceId: body.voice_id,
  // The core checks the emotion against its list and names the allowed ones.
  emotion: body.emotion as SynthesizeSpeechInput['emotion'],
  speed: body.speed,
  format: body.format,
  timeout: body.timeout,
  priority: body.priority,
});

export const comfyRunInput = (body: z.output<typeof comfyExecuteFile> | z.output<typeof comfyExecute>) => ({
  timeout: body.timeout,
  priority: body.priority,
  gpuPreference: body.gpu_preference,
  serverUrl: body.server_url,
});
