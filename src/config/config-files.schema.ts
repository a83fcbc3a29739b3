import { z } from 'zod';
import { ENGINE_FAMILIES, type EngineFamily } from '../queue/queue.names.ts';
import { quotaFields } from './quota.fields.ts';

/**
 * The files of the video platform document (003) under CONFIG_DIR, as that document lays them out. Field
 * names are the document's; unknown keys are refused so a typo never silently does nothing.
 */

export const systemConfigFile = z.strictObject({
  gpu_pool: z
    .strictObject({
      enabled: z.boolean().default(true),
      max_concurrent: z.number().int().min(1).max(64).optional(),
      gpu_ids: z.array(z.number().int().min(0).max(255)).min(1).optional(),
    })
    .optional(),
  model_cache: z
    .strictObject({
      enabled: z.boolean().default(true),
      max_size_gb: z.number().positive().max(100_000).optional(),
    })
    .optional(),
  storage: z
    .strictObject({
      type: z.literal('local', 'only "local" storage is supported'),
      base_path: z.string().trim().min(1).optional(),
    })
    .optional(),
});
export type SystemConfigFile = z.infer<typeof systemConfigFile>;

/** The quota API's own field schemas (quota.fields.ts), in the document's names. */
export const userConfigFile = z.strictObject({
  quotas: z
    .strictObject({
      images_per_day: quotaFields.imagesPerDay.optional(),
      videos_per_day: quotaFields.videosPerDay.optional(),
      max_resolution: quotaFields.maxResolution.optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      max_duration: quotaFields.maxDurationSeconds.optional(),
      max_frames: quotaFields.maxFrames.optional(),
    })
    .optional(),
});
export type UserConfigFile = z.infer<typeof userConfigFile>;

/**
 * The document's engines are models (InstantID and SDXL for images, SVD for video); here they run on the
 * local ONNX engine, so naming them names that engine.
 */
export const DOCUMENT_ENGINES: Readonly<Record<string, EngineFamily>> = { instantid: 'onnx', sdxl: 'onnx', svd: 'onnx' };

const engineName = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => (ENGINE_FAMILIES as readonly string[]).includes(v) || v in DOCUMENT_ENGINES, {
    message: `must be one of ${[...ENGINE_FAMILIES, ...Object.keys(DOCUMENT_ENGINES)].join(', ')}`,
  })
  .transform((v) => DOCUMENT_ENGINES[v] ?? (v as EngineFamily));

const relativeYaml = z
  .string()
  .trim()
  .regex(/^(?!\/)(?!.*\.\.)[\w./-]+\.ya?ml$/, 'must be a .yaml file inside CONFIG_DIR, e.g. "character_profiles.yaml"');

export const projectConfigFile = z.strictObject({
  character_profiles: relativeYaml.optional(),
  scene_profiles: relativeYaml.optional(),
  style: z.string().trim().min(1).max(128).optional(),
  default_engine: engineName.optional(),
});
export type ProjectConfigFile = z.infer<typeof projectConfigFile>;

/** Profile ids are the names requests cite ("hanli"), so they follow the name rules of the API. */
const profileId = z.string().trim().min(1).max(128);

export const characterProfilesFile = z.strictObject({
  characters: z.record(
    profileId,
    z.strictObject({
      prompt: z.string().trim().min(1).max(2000),
      negative_prompt: z.string().trim().max(2000).optional(),
      seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    }),
  ),
});
export type CharacterProfilesFile = z.infer<typeof characterProfilesFile>;

export const sceneProfilesFile = z.strictObject({
  scenes: z.record(
    profileId,
    z.strictObject({
      prompt: z.string().trim().min(1).max(4000),
      duration: z.number().positive().max(60, 'at most 60 seconds a scene'),
    }),
  ),
});
export type SceneProfilesFile = z.infer<typeof sceneProfilesFile>;
