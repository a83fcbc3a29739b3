import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import {
  type CompatFailure,
  estimatedSeconds,
  isoSeconds,
  jobFailure,
  jobFiles,
  lowerStatus,
  resultMetadata,
  syncWaitMs,
  withActor,
} from './compat.common.ts';

/** FastAPI's `{detail}` as the video platform (003) and image service (001) clients read it, plus a code. */
export function videoPlatformError(failure: CompatFailure) {
  return { detail: failure.message, error_code: failure.code };
}

const family = 'video-platform' as const;
const security = [{ bearer: [] }];

const imageRequest = {
  type: 'object',
  required: ['prompt'],
  properties: {
    prompt: { type: 'string' },
    negative_prompt: { type: 'string' },
    width: { type: 'integer' },
    height: { type: 'integer' },
    num_images: { type: 'integer' },
    provider_id: { type: 'string' },
    style: { type: 'string' },
    guidance_scale: { type: 'number' },
    steps: { type: 'integer' },
    num_inference_steps: { type: 'integer' },
    seed: { type: 'integer' },
    character_id: { type: 'string' },
    project_id: { type: 'string' },
    extra_params: { type: 'object', additionalProperties: true },
    timeout: { type: 'integer' },
    priority: { type: 'integer' },
  },
};

const imageAnswer = {
  type: 'object',
  properties: {
    task_id: { type: 'string' },
    status: { type: 'string' },
    estimated_time: { type: 'integer' },
    created_at: { type: 'string' },
    success: { type: 'boolean' },
    image_urls: { type: 'array', items: { type: 'string' } },
    cost: { type: 'number' },
    provider_id: { type: ['string', 'null'] },
    metadata: { type: 'object', additionalProperties: true },
  },
};

/**
 * Document 003 (and the shared POST /api/v1/images/generate of document 001): one superset answer. The
 * request waits for the images up to the sync timeout (Prefer: respond-async returns at once, queued).
 */
export function registerVideoPlatformRoutes(app: FastifyInstance, core: Core) {
  app.post(
    '/api/v1/images/generate',
    {
      config: { family, rateLimit: 'generateImage' },
      schema: {
        tags: ['Video platform (003)', 'Image service (001)'],
        security,
        summary: 'Generate images; answers task fields (003) and image_urls/cost/metadata (001) together',
        body: imageRequest,
        response: { 200: imageAnswer },
      },
    },
    withActor(core, async (em, actor, request) => {
      const body = request.body as Record<string, any>;
      const created = await core.jobs.createImageJob(em, actor, {
        prompt: body.prompt,
        negativePrompt: body.negative_prompt,
        width: body.width,
        height: body.height,
        numImages: body.num_images,
        providerId: body.provider_id,
        style: body.style,
        guidance: body.guidance_scale,
        steps: body.num_inference_steps ?? body.steps,
        seed: body.seed,
        characterId: body.character_id ? await core.profiles.characterIdOf(em, body.character_id) : undefined,
        projectId: body.project_id,
        extraParams: body.extra_params,
        timeout: body.timeout,
        priority: body.priority,
      });
      const job = await core.jobs.awaitJob(em, actor, created, syncWaitMs(core, request, true));
      if (job.status === 'FAILED' || job.status === 'CANCELLED') throw jobFailure(job);
      return {
        task_id: job.id,
        status: lowerStatus(job),
        estimated_time: await estimatedSeconds(core, em, job),
        created_at: isoSeconds(job.createdAt),
        success: job.status === 'COMPLETED',
        image_urls: jobFiles(job).urls,
        cost: Number(job.cost ?? 0),
        provider_id: (job.input as { providerId?: string | null }).providerId ?? null,
        metadata: { enhanced_prompt: null, analysis: null, vision_analysis: null, ...resultMetadata(job) },
      };
    }),
  );

  app.post(
    '/api/v1/videos/generate',
    {
      config: { family, rateLimit: 'generateVideo' },
      schema: {
        tags: ['Video platform (003)'],
        security,
        summary: 'Generate a video from scenes; answers at once with a task to poll (Prefer: wait=N waits)',
        body: {
          type: 'object',
          properties: {
            prompt: { type: 'string' },
            scenes: {
              type: 'array',
              items: {
                type: 'object',
                required: ['prompt', 'duration'],
                properties: { id: { type: 'integer' }, prompt: { type: 'string' }, duration: { type: 'number' } },
              },
            },
            video_config: {
              type: 'object',
              properties: { fps: { type: 'integer' }, resolution: { type: 'string' }, upscale: { type: 'boolean' } },
            },
            character_id: { type: 'string' },
            project_id: { type: 'string' },
            image_asset_id: { type: 'string' },
            seed: { type: 'integer' },
            timeout: { type: 'integer' },
            priority: { type: 'integer' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              task_id: { type: 'string' },
              status: { type: 'string' },
              estimated_time: { type: 'integer' },
              created_at: { type: 'string' },
              result: { type: ['object', 'null'], properties: { output_path: { type: ['string', 'null'] }, thumbnail: { type: ['string', 'null'] } } },
            },
          },
        },
      },
    },
    withActor(core, async (em, actor, request) => {
      const body = request.body as Record<string, any>;
      const scenes = body.scenes as { prompt: string; duration: number }[] | undefined;
      const created = await core.jobs.createVideoJob(em, actor, {
        prompt: body.prompt ?? scenes?.map((s) => s.prompt).join('; ') ?? '',
        scenes: scenes?.map((s) => ({ prompt: s.prompt, duration: s.duration })),
        videoConfig: body.video_config,
        imageAssetId: body.image_asset_id,
        characterId: body.character_id ? await core.profiles.characterIdOf(em, body.character_id) : undefined,
        projectId: body.project_id,
        seed: body.seed,
        timeout: body.timeout,
        priority: body.priority,
      });
      const job = await core.jobs.awaitJob(em, actor, created, syncWaitMs(core, request, false));
      if (job.status === 'FAILED' || job.status === 'CANCELLED') throw jobFailure(job);
      const files = jobFiles(job);
      return {
        task_id: job.id,
        status: lowerStatus(job),
        estimated_time: await estimatedSeconds(core, em, job),
        created_at: isoSeconds(job.createdAt),
        result: job.status === 'COMPLETED' ? { output_path: files.main, thumbnail: files.thumbnail } : null,
      };
    }),
  );
}
