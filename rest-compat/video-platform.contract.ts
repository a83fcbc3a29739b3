import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { Core } from '../src/core.ts';
import type { GenerateImageInput, GenerateVideoInput } from '../src/services/generation.inputs.ts';
import { imageRequest001 } from './image-service.contract.ts';
import { imageCoreInput, runFields, submitFields } from './image.contract.ts';

/** Characters and projects are named by id or by name ("hanli", "xianxia-proj2"). */
const profileRefs = {
  character_id: z.string().min(1).max(128).optional().describe('A character profile, by id or name'),
  project_id: z.string().min(1).max(128).optional().describe('A project preset, by id or name (its style and default engine apply)'),
};

/** POST /api/v1/images/generate, which 001 and 003 share: one contract holding both documents' fields. */
export const imageRequest = imageRequest001.extend({ ...profileRefs, ...submitFields });
export type ImageRequest = z.output<typeof imageRequest>;

/** 003's request names a character or project, or uses 003's step name alone; anything else is 001's. */
export const speaks003 = (body: ImageRequest) =>
  body.character_id !== undefined || body.project_id !== undefined || (body.num_inference_steps !== undefined && body.steps === undefined && body.provider_id === undefined);

export const videoRequest003 = z.object({
  prompt: z.string().optional(),
  negative_prompt: z.string().optional(),
  scenes: z
    .array(
      z
        .object({ id: z.union([z.number().int(), z.string()]).optional(), prompt: z.string().min(1).optional(), duration: z.number().positive().optional() })
        .describe('A scene: prompt and duration, or an id naming a scene profile (whose prompt and duration the scene then uses unless it gives its own).'),
    )
    .optional(),
  video_config: z.object({ fps: z.number().int().optional(), resolution: z.string().optional(), upscale: z.boolean().optional() }).optional(),
  image_asset_id: z.uuid().optional(),
  seed: z.number().int().optional(),
  ...profileRefs,
  ...runFields,
  ...submitFields,
});

async function profileIds(core: Core, em: EntityManager, body: { character_id?: string; project_id?: string }) {
  return {
    characterId: body.character_id ? await core.profiles.characterIdOf(em, body.character_id) : undefined,
    projectId: body.project_id ? await core.profiles.presetIdOf(em, body.project_id) : undefined,
  };
}

/** 003's image mapper: the configured default engine (or the project's), profiles by id or name. */
export async function toImageInput003(core: Core, em: EntityManager, body: ImageRequest): Promise<GenerateImageInput> {
  return { ...imageCoreInput(body), ...(await profileIds(core, em, body)), extraParams: body.extra_params };
}

export async function toVideoInput003(core: Core, em: EntityManager, body: z.output<typeof videoRequest003>): Promise<GenerateVideoInput> {
  // A scene whose id is a name (not the document's 0, 1, ... positions) cites the scene profile of that name.
  const scenes = body.scenes
    ? await core.scenes.resolve(
        em,
        body.scenes.map((s) => ({ sceneProfileId: typeof s.id === 'string' && !/^\d+$/.test(s.id) ? s.id : null, prompt: s.prompt, duration: s.duration })),
      )
    : undefined;
  return {
    prompt: body.prompt ?? scenes?.map((s) => s.prompt).join('; ') ?? '',
    negativePrompt: body.negative_prompt,
    scenes,
    videoConfig: body.video_config,
    imageAssetId: body.image_asset_id,
    seed: body.seed,
    timeout: body.timeout,
    priority: body.priority,
    ...(await profileIds(core, em, body)),
  };
}

