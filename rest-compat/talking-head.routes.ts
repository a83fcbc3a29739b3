import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Core } from '../src/core.ts';
import type { Job } from '../src/db/entities/job.entity.ts';
import { badInput } from '../src/services/errors.ts';
import { checkHealth, countJobsByStatus, countWorkers } from '../src/services/health.service.ts';
import { setTalkingHeadConfig } from '../src/services/user.service.ts';
import { HttpFailure, isoSeconds, jobFiles, lowerStatus, toFailure, updatedAt, withActor } from './compat.common.ts';
import { contract, formContract, toJsonSchema } from './rest.contract.ts';
import { receiveForm } from './rest.form.ts';
import { taskStatus } from './rest.wait.ts';
import { familyDoc, FORM_TYPES } from './rest.route.ts';
import { restJob } from './rest.submission.ts';
import { submitFields } from './image.contract.ts';

const family = 'talking-head' as const;
const dependencyHealth = z.object({ ok: z.boolean(), latencyMs: z.number().nullable(), error: z.string().nullable() });
const tags = ['Talking head (002)'];
const both = [...tags, 'Video platform (003)'];

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

const taskAnswer = z.object({
  task_id: z.string(),
  kind: z.string(),
  status: taskStatus,
  progress: z.number().int(),
  status_message: z.string().nullable(),
  result: z.object({ output_path: z.string().nullable(), thumbnail: z.string().nullable(), urls: z.array(z.string()), asset_ids: z.array(z.string()) }).nullable(),
  error: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** 002's requests, one contract each. */
const inferenceForm = z.object({ use_cache: z.boolean().optional().describe('Use cached preprocessing (default true)'), ...submitFields });
const configRequest = z.object({
  guidance_scale: z.number().optional(),
  inference_steps: z.number().int().optional(),
  enable_cache: z.boolean().optional(),
});
const taskParams = z.object({ id: z.string().min(1).describe('Task id') });

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

/** Engine families that run Hallo2 talking heads (the builtin renderer and ComfyUI's hallo2 workflow). */
const TALKING_HEAD_ENGINES = ['builtin', 'comfyui'];

/** The models the live workers serve, as 002 names them: "hallo2" where talking heads run, then each model pack. */
async function modelsLoaded(core: Core, engines: string[]): Promise<string[]> {
  const packs = (await core.workers.models()).map((model) => model.name);
  return [...(engines.some((engine) => TALKING_HEAD_ENGINES.includes(engine)) ? ['hallo2'] : []), ...packs];
}

/** Document 002: Hallo2 talking-head inference, task management and health. */
export function registerTalkingHeadRoutes(app: FastifyInstance, core: Core) {
  const started = Date.now();
  const doc = familyDoc(family, tags, 'optional');
  const params = contract('TaskParams', taskParams);

  app.get(
    '/health',
    {
      config: { family },
      schema: doc('health', 'Simple health check (503 when no worker runs or a dependency is down)', {
        access: 'public',
        ok: toJsonSchema(z.object({ status: z.enum(['healthy', 'unhealthy']), gpu_available: z.boolean(), gpu_count: z.number().int(), gpu_name: z.string().nullable() }), 'output'),
      }),
    },
    async (request, reply) => {
      const [workers, gpus, deps] = await Promise.all([orElse(request, 'worker count', countWorkers(core), { total: 0, engines: [] }), liveGpus(core, request), checkHealth(core)]);
      // Workers alone are not health: with PostgreSQL, Redis or storage down nothing can be served.
      const healthy = workers.total > 0 && deps.status === 'ok';
      return reply.status(healthy ? 200 : 503).send({
        status: healthy ? 'healthy' : 'unhealthy',
        gpu_available: gpus.length > 0,
        gpu_count: gpus.length,
        gpu_name: gpus[0]?.name ?? null,
      });
    },
  );

  app.get(
    '/api/v1/health',
    {
      config: { family },
      schema: doc('healthDetailed', 'Detailed health check (503 when no worker runs or a dependency is down)', {
        tags: both,
        access: 'public',
        ok: toJsonSchema(
          z.object({
            status: z.enum(['healthy', 'unhealthy']),
            timestamp: z.string(),
            uptime: z.number(),
            models_loaded: z.array(z.string()),
            dependencies: z.object({ postgres: dependencyHealth, redis: dependencyHealth, storage: dependencyHealth }),
            workers: z.number().int(),
            gpu: z.object({ available: z.boolean(), count: z.number().int(), devices: z.array(z.record(z.string(), z.unknown())) }),
            tasks: z.object({ queued: z.number().int(), running: z.number().int(), completed: z.number().int(), failed: z.number().int(), cancelled: z.number().int() }),
          }),
          'output',
        ),
      }),
    },
    async (request, reply) => {
      const [workers, counts, gpus, deps] = await Promise.all([
        orElse(request, 'worker count', countWorkers(core), { total: 0, engines: [] }),
        orElse(request, 'task counts', countJobsByStatus(core), {} as Awaited<ReturnType<typeof countJobsByStatus>>),
        liveGpus(core, request),
        checkHealth(core),
      ]);
      const healthy = workers.total > 0 && deps.status === 'ok';
      return reply.status(healthy ? 200 : 503).send({
        status: healthy ? 'healthy' : 'unhealthy',
        timestamp: isoSeconds(new Date()),
        uptime: Math.round((Date.now() - started) / 100) / 10,
        models_loaded: await orElse(request, 'model list', modelsLoaded(core, workers.engines), []),
        dependencies: { postgres: deps.postgres, redis: deps.redis, storage: deps.storage },
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
    },
  );

  const createTask = withActor(core, async (em, actor, request) => {
    const what = (field: string) => (field === 'audio_file' ? 'Invalid audio file format' : 'Invalid image file format');
    const { files, fields } = await receiveForm(core, em, actor, request, inferenceForm, what);
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
      () => core.jobs.createTalkingHeadJob(em, actor, { imageAssetId: image.id, audioAssetId: audio.id, useCache: fields.use_cache }),
      fields,
      // Each upload is a new asset: the key guards the files' content, not their ids.
      { image_file: image.sha256, audio_file: audio.sha256 },
    );
    return { task_id: job.id, status: 'queued', message: 'Inference task queued successfully' };
  });

  app.post(
    '/api/v1/inference/hallo2',
    {
      config: { family },
      schema: doc('createHallo2Task', 'Create a talking-head task (form: image_file, audio_file, use_cache)', {
        consumes: FORM_TYPES,
        body: formContract(inferenceForm, { image_file: 'Source portrait (JPG/PNG)', audio_file: 'Driving audio (WAV/MP3/OGG/M4A)' }),
        ok: toJsonSchema(z.object({ task_id: z.string(), status: z.literal('queued'), message: z.string() }), 'output'),
        errors: [500],
      }),
    },
    async (request, reply) => {
      try {
        return await createTask(request, reply);
      } catch (error) {
        // The document's 500 wording, "Failed to submit task: …", for whatever kept the task from being queued
        // on the server's side (the queue, database or storage down; a fault), at its own status: an outage
        // stays a 503 with its Retry-After. A fault's own text stays in the log (the client reads "Unexpected
        // error"); the caller's mistakes (400, 401, 413, 429) keep their own answers.
        const failure = toFailure(error);
        if (failure.status < 500) throw error;
        request.log.error({ err: error }, 'talking-head task could not be queued');
        throw new HttpFailure(failure.status, failure.code, `Failed to submit task: ${failure.message}`, failure.details);
      }
    },
  );

  app.post(
    '/api/v1/inference/hallo2/config',
    {
      config: { family },
      schema: doc('configureHallo2', "Set the caller's talking-head inference parameters", {
        body: contract('Hallo2Config', configRequest),
        ok: toJsonSchema(z.object({ status: z.literal('success'), message: z.string() }), 'output'),
      }),
    },
    withActor(core, async (em, actor, request) => {
      const body = request.body as z.output<typeof configRequest>;
      await setTalkingHeadConfig(em, actor.userId, { guidanceScale: body.guidance_scale, inferenceSteps: body.inference_steps, enableCache: body.enable_cache });
      return { status: 'success', message: 'Configuration updated successfully' };
    }),
  );

  app.get(
    '/api/v1/tasks',
    {
      config: { family },
      schema: doc('listTasks', "The caller's most recent tasks (up to 100), keyed by id", {
        ok: toJsonSchema(z.object({ tasks: z.record(z.string(), taskAnswer), count: z.number().int() }), 'output'),
      }),
    },
    withActor(core, async (em, actor) => {
      const page = await core.jobs.listJobs(em, actor, { first: 100 });
      const tasks = Object.fromEntries(page.edges.map(({ node }) => [node.id, taskView(node)]));
      return { tasks, count: page.edges.length };
    }),
  );

  app.get(
    '/api/v1/tasks/:id',
    { config: { family }, schema: doc('getTask', 'A task (002 and 003 both read this view)', { tags: both, params, ok: toJsonSchema(taskAnswer, 'output'), errors: [404] }) },
    withActor(core, async (em, actor, request) => taskView(await core.jobs.getJob(em, actor, (request.params as { id: string }).id))),
  );

  app.get(
    '/api/v1/tasks/:id/video',
    {
      config: { family },
      schema: doc('getTaskVideo', 'Download the MP4 of a completed task (404 missing, 400 not completed)', {
        params,
        produces: ['video/mp4'],
        ok: { content: { 'video/mp4': { schema: { type: 'string', format: 'binary' } } } },
        okDescription: 'The video',
        errors: [404],
      }),
    },
    withActor(core, async (em, actor, request, reply) => {
      const job = await core.jobs.getJob(em, actor, (request.params as { id: string }).id);
      if (job.status !== 'COMPLETED') throw new HttpFailure(400, 'TASK_NOT_COMPLETED', `Task ${job.id} is ${lowerStatus(job)}, not completed`);
      const videoId = jobFiles(job).mainId;
      if (!videoId || (job.kind !== 'VIDEO' && job.kind !== 'TALKING_HEAD')) throw new HttpFailure(404, 'NOT_FOUND', 'Video file not found');
      const { asset, stream } = await core.assets.openAsset(em, actor, videoId);
      return reply.type(asset.mime).header('content-length', String(asset.bytes)).header('content-disposition', 'attachment; filename="output.mp4"').send(stream);
    }),
  );

  app.post(
    '/api/v1/tasks/:id/logs',
    {
      config: { family },
      schema: doc('getTaskLogs', "A task's log", { params, ok: toJsonSchema(z.object({ task_id: z.string(), logs: z.string() }), 'output'), errors: [404] }),
    },
    withActor(core, async (em, actor, request) => {
      const id = (request.params as { id: string }).id;
      const logs = await core.jobs.jobLogs(em, actor, id);
      return { task_id: id, logs: logs.map((line) => `[${line.level.toUpperCase()}] ${line.message}`).join('\n') };
    }),
  );

  app.delete(
    '/api/v1/tasks/:id',
    {
      config: { family },
      schema: doc('cancelTask', 'Cancel a queued or running task', {
        params,
        ok: toJsonSchema(z.object({ status: z.literal('cancelled'), task_id: z.string(), message: z.string() }), 'output'),
        errors: [404],
      }),
    },
    async (request, reply) => {
      const handler = withActor(core, (em, actor) => core.jobs.cancelJob(em, actor, (request.params as { id: string }).id));
      try {
        const job = await handler(request, reply);
        return { status: 'cancelled', task_id: job.id, message: 'Task cancelled successfully' };
      } catch (error) {
        // The document's own shape for a task that is unknown or can no longer be cancelled: `status: "error"` first.
        const failure = toFailure(error);
        if (failure.code === 'CONFLICT') return reply.status(400).send({ status: 'error', detail: failure.message, error_code: 'TASK_NOT_CANCELLABLE' });
        if (failure.code === 'NOT_FOUND') return reply.status(404).send({ status: 'error', detail: failure.message, error_code: 'NOT_FOUND' });
        throw error;
      }
    },
  );
}
