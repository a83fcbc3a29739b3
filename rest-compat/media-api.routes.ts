import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import type { Job } from '../src/db/entities/job.entity.ts';
import type { Actor } from '../src/services/actor.ts';
import { type CompatFailure, isoSeconds, jobFailure, jobFiles, lowerStatus, resultMetadata, syncWaitMs, withActor } from './compat.common.ts';

/** The media API document's (000) error types, by Atelier error code. */
const ERROR_TYPES: Record<string, string> = {
  UNAUTHENTICATED: 'authentication_error',
  FORBIDDEN: 'permission_error',
  BAD_USER_INPUT: 'validation_error',
  NOT_FOUND: 'not_found',
  CONFLICT: 'conflict',
  RATE_LIMITED: 'rate_limit_exceeded',
  QUOTA_EXCEEDED: 'quota_exceeded',
  TIMEOUT: 'timeout_error',
  RESOURCE_ERROR: 'resource_error',
  SERVICE_UNAVAILABLE: 'service_unavailable',
  CANCELLED: 'cancelled',
};

export const RATE_LIMIT_MESSAGE = 'Muitas requisições. Tente novamente em alguns segundos.';

/** `{detail, type}`, with the document's own wording for rate limits and workflow resource errors. */
export function mediaApiError(failure: CompatFailure) {
  const type = ERROR_TYPES[failure.code] ?? 'internal_error';
  if (failure.code === 'RATE_LIMITED') return { detail: RATE_LIMIT_MESSAGE, type };
  if (failure.code === 'RESOURCE_ERROR') return { detail: `Erro ao executar workflow: ${failure.message}`, type };
  return { detail: failure.message, type };
}

const family = 'media-api' as const;
const tags = ['Media API (000)'];
const security = [{ bearer: [] }];
const errorResponse = { type: 'object', properties: { detail: { type: 'string' }, type: { type: 'string' } } };

const taskResponse = {
  type: 'object',
  properties: {
    task_id: { type: 'string', format: 'uuid' },
    status: { type: 'string', enum: ['queued', 'processing', 'completed', 'failed', 'cancelled'] },
    created_at: { type: 'string' },
    url: { type: ['string', 'null'] },
    urls: { type: 'array', items: { type: 'string' } },
    metadata: { type: 'object', additionalProperties: true },
  },
  additionalProperties: true,
};

function generationAnswer(job: Job, extra: Record<string, unknown>) {
  if (job.status === 'FAILED' || job.status === 'CANCELLED') throw jobFailure(job);
  const files = jobFiles(job);
  return {
    task_id: job.id,
    status: lowerStatus(job),
    created_at: isoSeconds(job.createdAt),
    url: files.main,
    urls: files.urls,
    ...extra,
    metadata: resultMetadata(job),
  };
}

/** Document 000: JWT login, images, video, speech (the /comfy routes live with the ComfyUI service). */
export function registerMediaApiRoutes(app: FastifyInstance, core: Core) {
  app.post<{ Body: { username: string; password: string } }>(
    '/v2/auth/login',
    {
      config: { family },
      schema: {
        tags,
        summary: 'Log in; the token is used as "Authorization: Bearer …"',
        body: {
          type: 'object',
          required: ['username', 'password'],
          properties: { username: { type: 'string' }, password: { type: 'string' } },
        },
        response: {
          200: {
            type: 'object',
            properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' } },
          },
          401: errorResponse,
        },
      },
    },
    async (request) => {
      const result = await core.auth.login(core.orm.em.fork(), request.body);
      return { access_token: result.accessToken, token_type: result.tokenType, expires_in: result.expiresIn };
    },
  );

  app.post(
    '/generate/image',
    {
      config: { family, rateLimit: 'generateImage' },
      schema: {
        tags,
        security,
        summary: 'Generate an image (waits for it up to the sync timeout; Prefer: respond-async returns at once)',
        body: {
          type: 'object',
          required: ['prompt'],
          properties: {
            prompt: { type: 'string' },
            negative_prompt: { type: 'string' },
            width: { type: 'integer' },
            height: { type: 'integer' },
            num_inference_steps: { type: 'integer' },
            guidance_scale: { type: 'number' },
            seed: { type: 'integer' },
            num_images: { type: 'integer' },
            timeout: { type: 'integer' },
            priority: { type: 'integer' },
          },
        },
        response: { 200: { ...taskResponse, properties: { ...taskResponse.properties, image_urls: { type: 'array', items: { type: 'string' } } } } },
      },
    },
    withActor(core, async (em, actor, request) => {
      const body = request.body as Record<string, any>;
      const created = await core.jobs.createImageJob(em, actor, {
        prompt: body.prompt,
        negativePrompt: body.negative_prompt,
        width: body.width,
        height: body.height,
        steps: body.num_inference_steps,
        guidance: body.guidance_scale,
        seed: body.seed,
        numImages: body.num_images,
        timeout: body.timeout,
        priority: body.priority,
      });
      const job = await core.jobs.awaitJob(em, actor, created, syncWaitMs(core, request, true));
      return generationAnswer(job, { image_urls: jobFiles(job).urls });
    }),
  );

  app.post(
    '/generate/video',
    {
      config: { family, rateLimit: 'generateVideo' },
      schema: {
        tags,
        security,
        summary: 'Generate a video (waits up to the sync timeout)',
        body: {
          type: 'object',
          required: ['prompt'],
          properties: {
            prompt: { type: 'string' },
            negative_prompt: { type: 'string' },
            num_frames: { type: 'integer' },
            fps: { type: 'integer' },
            motion_scale: { type: 'number' },
            seed: { type: 'integer' },
            timeout: { type: 'integer' },
            priority: { type: 'integer' },
          },
        },
        response: {
          200: {
            ...taskResponse,
            properties: { ...taskResponse.properties, video_url: { type: ['string', 'null'] }, thumbnail_url: { type: ['string', 'null'] } },
          },
        },
      },
    },
    withActor(core, async (em, actor, request) => {
      const body = request.body as Record<string, any>;
      const created = await core.jobs.createVideoJob(em, actor, {
        prompt: body.prompt,
        negativePrompt: body.negative_prompt,
        numFrames: body.num_frames,
        fps: body.fps,
        motionScale: body.motion_scale,
        seed: body.seed,
        timeout: body.timeout,
        priority: body.priority,
      });
      const job = await core.jobs.awaitJob(em, actor, created, syncWaitMs(core, request, true));
      const files = jobFiles(job);
      return generationAnswer(job, { video_url: files.main, thumbnail_url: files.thumbnail });
    }),
  );

  app.post(
    '/synthesize/speech',
    {
      config: { family },
      schema: {
        tags,
        security,
        summary: 'Synthesize speech (waits up to the sync timeout)',
        body: {
          type: 'object',
          required: ['text'],
          properties: {
            text: { type: 'string' },
            voice_id: { type: 'string' },
            emotion: { type: 'string' },
            speed: { type: 'number' },
            format: { type: 'string', enum: ['wav', 'mp3'] },
            timeout: { type: 'integer' },
            priority: { type: 'integer' },
          },
        },
        response: { 200: { ...taskResponse, properties: { ...taskResponse.properties, audio_url: { type: ['string', 'null'] } } } },
      },
    },
    withActor(core, async (em, actor, request) => {
      const body = request.body as Record<string, any>;
      const created = await core.jobs.createSpeechJob(em, actor, {
        text: body.text,
        voiceId: body.voice_id,
        emotion: body.emotion,
        speed: body.speed,
        format: body.format,
        timeout: body.timeout,
        priority: body.priority,
      });
      const job = await core.jobs.awaitJob(em, actor, created, syncWaitMs(core, request, true));
      return generationAnswer(job, { audio_url: jobFiles(job).main });
    }),
  );
}

const GB = 1024 ** 3;
const gigabytes = (bytes: number) => Math.round((bytes / GB) * 100) / 100;

const comfyBody = {
  timeout: { type: 'integer', description: 'seconds, 30–300' },
  priority: { type: 'integer' },
  gpu_preference: { type: 'integer' },
  server_url: { type: 'string' },
};

/** A workflow job as the /comfy routes show it: its ComfyUI prompt id first. */
function promptView(job: Job) {
  const files = jobFiles(job);
  const input = job.input as { promptId?: string; server?: string | null; workflowName?: string | null };
  return {
    prompt_id: input.promptId ?? null,
    task_id: job.id,
    status: lowerStatus(job),
    progress: job.progress,
    workflow_name: input.workflowName ?? null,
    server: input.server ?? null,
    created_at: isoSeconds(job.createdAt),
    urls: files.urls,
    outputs: (job.result as { outputs?: unknown } | null)?.outputs ?? null,
    error: job.errorMessage ?? null,
  };
}

/** Document 000's /comfy routes, over the ComfyUI service: they wait for the workflow like /generate/*. */
export function registerComfyRoutes(app: FastifyInstance, core: Core) {
  const comfyTags = ['Media API (000) — ComfyUI'];
  const finish = async (em: EntityManager, actor: Actor, job: Job, waitMs: number) => {
    const done = await core.jobs.awaitJob(em, actor, job.id, waitMs);
    if (done.status === 'FAILED' || done.status === 'CANCELLED') throw jobFailure(done);
    return promptView(done);
  };

  app.post(
    '/comfy/execute',
    {
      config: { family, rateLimit: 'comfyExecute' },
      schema: {
        tags: comfyTags,
        security,
        summary: 'Run a workflow (API format or {nodes: [{type, inputs}]}); waits up to the sync timeout',
        body: { type: 'object', required: ['workflow'], properties: { workflow: { type: 'object', additionalProperties: true }, ...comfyBody } },
      },
    },
    withActor(core, async (em, actor, request) => {
      const body = request.body as Record<string, any>;
      const job = await core.comfy.execute(em, actor, {
        workflow: body.workflow,
        timeout: body.timeout,
        priority: body.priority,
        gpuPreference: body.gpu_preference,
        serverUrl: body.server_url,
      });
      return finish(em, actor, job, syncWaitMs(core, request, true));
    }),
  );

  app.post(
    '/comfy/execute/file',
    {
      config: { family, rateLimit: 'comfyExecute' },
      schema: {
        tags: comfyTags,
        security,
        summary: 'Run a workflow of the library by name',
        body: {
          type: 'object',
          required: ['workflow_name'],
          properties: { workflow_name: { type: 'string' }, params: { type: 'object', additionalProperties: true }, ...comfyBody },
        },
      },
    },
    withActor(core, async (em, actor, request) => {
      const body = request.body as Record<string, any>;
      const job = await core.comfy.executeSaved(em, actor, {
        name: body.workflow_name,
        params: body.params,
        timeout: body.timeout,
        priority: body.priority,
        gpuPreference: body.gpu_preference,
        serverUrl: body.server_url,
      });
      return finish(em, actor, job, syncWaitMs(core, request, true));
    }),
  );

  app.get(
    '/comfy/status/:prompt_id',
    { config: { family }, schema: { tags: comfyTags, security, summary: 'A workflow by its ComfyUI prompt id' } },
    withActor(core, async (em, actor, request) => {
      const status = await core.comfy.status(em, actor, (request.params as { prompt_id: string }).prompt_id);
      return { ...promptView(status.job), prompt_id: status.promptId, server: status.server };
    }),
  );

  app.get(
    '/comfy/history',
    { config: { family }, schema: { tags: comfyTags, security, summary: "The caller's workflows, newest first, keyed by prompt id (as ComfyUI's /history)" } },
    withActor(core, async (em, actor) => {
      const page = await core.comfy.history(em, actor, { first: 100 });
      const views = page.edges.map(({ node }) => promptView(node));
      return { history: Object.fromEntries(views.map((view) => [view.prompt_id ?? view.task_id, view])), count: views.length };
    }),
  );

  app.get(
    '/comfy/resources',
    { config: { family }, schema: { tags: comfyTags, security, summary: 'GPUs (GB), host memory (GB) and allocations of the live workers' } },
    withActor(core, async () => {
      const resources = await core.workers.resources();
      return {
        gpus: resources.gpus.map((gpu) => ({
          id: gpu.id,
          name: gpu.name,
          worker_id: gpu.workerId,
          total_vram: gigabytes(gpu.totalVram),
          used_vram: gigabytes(gpu.usedVram),
          temperature: gpu.temperature,
          utilization: gpu.utilization,
        })),
        system: {
          total_ram: gigabytes(resources.system.totalRam),
          used_ram: gigabytes(resources.system.usedRam),
          cpu_percent: resources.system.cpuPercent,
        },
        allocations: resources.allocations.length,
      };
    }),
  );
}
