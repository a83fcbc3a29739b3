import { restJob } from './rest.submission.ts';
import type { MultipartFile } from '@fastify/multipart';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Core } from '../src/core.ts';
import type { Asset } from '../src/db/entities/asset.entity.ts';
import type { Job } from '../src/db/entities/job.entity.ts';
import type { Actor } from '../src/services/actor.ts';
import { AppError, badInput } from '../src/services/errors.ts';
import { countJobsByStatus, countWorkers } from '../src/services/health.service.ts';
import { fileTooLarge } from '../src/services/upload.service.ts';
import { setTalkingHeadConfig } from '../src/services/user.service.ts';
import {
  type CompatFailure,
  HttpFailure,
  isoSeconds,
  jobFiles,
  lowerStatus,
  updatedAt,
  withActor,
} from './compat.common.ts';

/** `{detail, error_code}`: the talking-head document's error format (also read by the video platform's clients). */
export function v1Error(failure: CompatFailure) {
  return { detail: failure.message, error_code: failure.code };
}

const family = 'talking-head' as const;
const tags = ['Talking head (002)'];
const errorResponse = { type: 'object', properties: { detail: { type: 'string' }, error_code: { type: 'string' } } };

/** The task view both the talking-head (002) and the video platform (003) documents read. */
export function taskView(job: Job) {
  const files = jobFiles(job);
  return {
    task_id: job.id,
    kind: job.kind.toLowerCase(),
    status: lowerStatus(job),
    progress: job.progress,
    status_message: job.statusMessage ?? null,
    result:
      job.status === 'COMPLETED'
        ? { output_path: files.main, thumbnail: files.thumbnail, urls: files.urls, asset_ids: job.result?.assetIds ?? [] }
        : null,
    error: job.errorMessage ?? null,
    created_at: isoSeconds(job.createdAt),
    updated_at: isoSeconds(updatedAt(job)),
  };
}

const taskSchema = {
  type: 'object',
  properties: {
    task_id: { type: 'string' },
    kind: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'processing', 'completed', 'failed', 'cancelled'] },
    progress: { type: 'integer' },
    status_message: { type: ['string', 'null'] },
    result: {
      type: ['object', 'null'],
      properties: {
        output_path: { type: ['string', 'null'] },
        thumbnail: { type: ['string', 'null'] },
        urls: { type: 'array', items: { type: 'string' } },
        asset_ids: { type: 'array', items: { type: 'string' } },
      },
    },
    error: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
};

const truthy = (value: string | undefined) => (value === undefined ? undefined : !/^(false|0|no|off)$/i.test(value.trim()));

/** Reads a multipart body part by part, storing each file through the upload service as it streams in. */
export async function receiveForm(
  core: Core,
  em: EntityManager,
  actor: Actor,
  request: FastifyRequest,
  describe: (field: string) => string = (field) => `Invalid ${field}`,
): Promise<{ files: Map<string, Asset>; fields: Map<string, string> }> {
  const files = new Map<string, Asset>();
  const fields = new Map<string, string>();
  if (!request.isMultipart()) throw badInput('Expected a multipart/form-data body');
  // busboy's own complaints (no boundary, a body cut short) are the client's malformed body, not a server fault.
  const malformed = (error: unknown) => badInput(`Invalid multipart body: ${(error as Error).message}`);
  const parts = request.parts();
  for (;;) {
    const next = await parts.next().catch((error: unknown) => {
      throw (error as { statusCode?: number }).statusCode ? error : malformed(error);
    });
    if (next.done) break;
    const part = next.value;
    if (part.type === 'file') {
      const file = part as MultipartFile;
      try {
        files.set(file.fieldname, await core.uploads.upload(em, actor, { filename: file.filename, content: file.file }));
      } catch (error) {
        // @fastify/multipart stops a file at UPLOAD_MAX_BYTES; the documents answer an oversized file as bad input (400).
        const refused = (error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE' ? fileTooLarge(core.config.UPLOAD_MAX_BYTES) : error;
        if (refused instanceof AppError) throw new AppError(refused.code, `${describe(file.fieldname)}: ${refused.message}`, refused.details);
        if (file.file.errored) throw malformed(file.file.errored);
        throw error;
      }
    } else {
      fields.set(part.fieldname, String(part.value));
    }
  }
  return { files, fields };
}

const GB = 1024 ** 3;

/**
 * A health figure, or its fallback when the store behind it is down: a health check must answer (503 unhealthy),
 * not fail, while the reason goes to the log.
 */
const orElse = <T>(request: FastifyRequest, what: string, read: Promise<T>, fallback: T): Promise<T> =>
  read.catch((error: unknown) => {
    request.log.warn({ err: error }, `health: ${what} unavailable`);
    return fallback;
  });

/** GPUs of the live workers (from their heartbeats); none where workers run on CPU only. */
const liveGpus = (core: Core, request: FastifyRequest) => orElse(request, 'GPU list', core.workers.resources().then((r) => r.gpus), []);

/** Document 002: Hallo2 talking-head inference, task management and health. */
export function registerTalkingHeadRoutes(app: FastifyInstance, core: Core) {
  const started = Date.now();

  app.get('/health', { config: { family }, schema: { tags, summary: 'Simple health check' } }, async (request, reply) => {
    const [workers, gpus] = await Promise.all([orElse(request, 'worker count', countWorkers(core), { total: 0, engines: [] }), liveGpus(core, request)]);
    return reply.status(workers.total > 0 ? 200 : 503).send({
      status: workers.total > 0 ? 'healthy' : 'unhealthy',
      gpu_available: gpus.length > 0,
      gpu_count: gpus.length,
      gpu_name: gpus[0]?.name ?? null,
    });
  });

  app.get('/api/v1/health', { config: { family }, schema: { tags: [...tags, 'Video platform (003)'], summary: 'Detailed health check' } }, async (request, reply) => {
    const [workers, counts, gpus] = await Promise.all([
      orElse(request, 'worker count', countWorkers(core), { total: 0, engines: [] }),
      orElse(request, 'task counts', countJobsByStatus(core), {} as Awaited<ReturnType<typeof countJobsByStatus>>),
      liveGpus(core, request),
    ]);
    const healthy = workers.total > 0;
    return reply.status(healthy ? 200 : 503).send({
      status: healthy ? 'healthy' : 'unhealthy',
      timestamp: new Date().toISOString(),
      uptime: Math.round((Date.now() - started) / 100) / 10,
      models_loaded: workers.engines,
      workers: workers.total,
      gpu: {
        available: gpus.length > 0,
        count: gpus.length,
        devices: gpus.map((gpu, index) => ({
          index,
          name: gpu.name,
          memory_allocated: `${(gpu.usedVram / GB).toFixed(1)} GB`,
          memory_total: `${Math.round(gpu.totalVram / GB)} GB`,
          worker_id: gpu.workerId,
        })),
      },
      tasks: {
        queued: counts.QUEUED ?? 0,
        running: counts.PROCESSING ?? 0,
        completed: counts.COMPLETED ?? 0,
        failed: counts.FAILED ?? 0,
        cancelled: counts.CANCELLED ?? 0,
      },
    });
  });

  app.post(
    '/api/v1/inference/hallo2',
    {
      config: { family },
      schema: {
        tags,
        summary: 'Create a talking-head task (multipart: image_file, audio_file, use_cache)',
        consumes: ['multipart/form-data'],
        response: {
          200: { type: 'object', properties: { task_id: { type: 'string' }, status: { type: 'string' }, message: { type: 'string' } } },
          400: errorResponse,
        },
      },
    },
    withActor(core, async (em, actor, request) => {
      const what = (field: string) => (field === 'audio_file' ? 'Invalid audio file format' : 'Invalid image file format');
      const { files, fields } = await receiveForm(core, em, actor, request, what);
      const image = files.get('image_file');
      const audio = files.get('audio_file');
      if (!image) throw badInput('image_file is required', { field: 'image_file' });
      if (!audio) throw badInput('audio_file is required', { field: 'audio_file' });
      if (image.kind !== 'IMAGE') throw badInput(`Invalid image file format: got ${image.kind.toLowerCase()}`, { field: 'image_file' });
      if (audio.kind !== 'AUDIO') throw badInput(`Invalid audio file format: got ${audio.kind.toLowerCase()}`, { field: 'audio_file' });
      const job = await restJob(
        core,
        em,
        actor,
        request,
        () => core.jobs.createTalkingHeadJob(em, actor, { imageAssetId: image.id, audioAssetId: audio.id, useCache: truthy(fields.get('use_cache')) }),
        Object.fromEntries(fields),
        // Each upload is a new asset: the key guards the files' content, not their ids.
        { image_file: image.sha256, audio_file: audio.sha256 },
      );
      return { task_id: job.id, status: 'queued', message: 'Inference task queued successfully' };
    }),
  );

  app.post(
    '/api/v1/inference/hallo2/config',
    {
      config: { family },
      schema: {
        tags,
        summary: "Set the caller's talking-head inference parameters",
        body: {
          type: 'object',
          properties: { guidance_scale: { type: 'number' }, inference_steps: { type: 'integer' }, enable_cache: { type: 'boolean' } },
        },
        response: { 200: { type: 'object', properties: { status: { type: 'string' }, message: { type: 'string' } } } },
      },
    },
    withActor(core, async (em, actor, request) => {
      const body = (request.body ?? {}) as { guidance_scale?: number; inference_steps?: number; enable_cache?: boolean };
      await setTalkingHeadConfig(em, actor.userId, {
        guidanceScale: body.guidance_scale,
        inferenceSteps: body.inference_steps,
        enableCache: body.enable_cache,
      });
      return { status: 'success', message: 'Configuration updated successfully' };
    }),
  );

  app.get(
    '/api/v1/tasks',
    { config: { family }, schema: { tags, summary: "The caller's most recent tasks (up to 100), keyed by id" } },
    withActor(core, async (em, actor) => {
      const page = await core.jobs.listJobs(em, actor, { first: 100 });
      const tasks = Object.fromEntries(page.edges.map(({ node }) => [node.id, taskView(node)]));
      return { tasks, count: page.edges.length };
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/tasks/:id',
    {
      config: { family },
      schema: { tags: [...tags, 'Video platform (003)'], summary: 'A task (both documents read this view)', response: { 200: taskSchema, 404: errorResponse } },
    },
    withActor(core, async (em, actor, request) => taskView(await core.jobs.getJob(em, actor, (request.params as { id: string }).id))),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/tasks/:id/video',
    { config: { family }, schema: { tags, summary: 'Download the MP4 of a completed task (404 missing, 400 not completed)' } },
    async (request, reply) => {
      const handler = withActor(core, async (em, actor) => {
        const job = await core.jobs.getJob(em, actor, request.params.id);
        if (job.status !== 'COMPLETED') throw new HttpFailure(400, 'TASK_NOT_COMPLETED', `Task ${job.id} is ${lowerStatus(job)}, not completed`);
        const videoId = jobFiles(job).mainId;
        if (!videoId || (job.kind !== 'VIDEO' && job.kind !== 'TALKING_HEAD')) throw new HttpFailure(404, 'NOT_FOUND', 'Video file not found');
        return core.assets.openAsset(em, actor, videoId);
      });
      const { asset, stream } = await handler(request);
      return reply.type(asset.mime).header('content-length', String(asset.bytes)).header('content-disposition', 'attachment; filename="output.mp4"').send(stream);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/tasks/:id/logs',
    {
      config: { family },
      schema: { tags, summary: "A task's log", response: { 200: { type: 'object', properties: { task_id: { type: 'string' }, logs: { type: 'string' } } } } },
    },
    withActor(core, async (em, actor, request) => {
      const id = (request.params as { id: string }).id;
      const logs = await core.jobs.jobLogs(em, actor, id);
      return { task_id: id, logs: logs.map((line) => `[${line.level.toUpperCase()}] ${line.message}`).join('\n') };
    }),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/tasks/:id',
    {
      config: { family },
      schema: {
        tags,
        summary: 'Cancel a queued or running task',
        response: {
          200: { type: 'object', properties: { status: { type: 'string' }, task_id: { type: 'string' }, message: { type: 'string' } } },
          400: { type: 'object', properties: { status: { type: 'string' }, detail: { type: 'string' }, error_code: { type: 'string' } } },
        },
      },
    },
    async (request, reply) => {
      const handler = withActor(core, (em, actor) => core.jobs.cancelJob(em, actor, request.params.id));
      try {
        const job = await handler(request);
        return { status: 'cancelled', task_id: job.id, message: 'Task cancelled successfully' };
      } catch (error) {
        // The document's own shape for a task that can no longer be cancelled.
        if (error instanceof AppError && error.code === 'CONFLICT') {
          return reply.status(400).send({ status: 'error', detail: error.message, error_code: 'TASK_NOT_CANCELLABLE' });
        }
        throw error;
      }
    },
  );
}
