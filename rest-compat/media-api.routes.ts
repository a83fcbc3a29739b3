import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Core } from '../src/core.ts';
import type { ComfyWorkflow } from '../src/db/entities/comfy-workflow.entity.ts';
import type { Job } from '../src/db/entities/job.entity.ts';
import type { Actor } from '../src/services/actor.ts';
import { loginThrottle } from '../src/services/login-throttle.ts';
import { isoSeconds, jobFiles, lowerStatus, resultMetadata, type RouteLimit, withActor } from './compat.common.ts';
import {
  comfyExecute,
  comfyExecuteFile,
  comfyRunInput,
  imageRequest000,
  loginRequest,
  speechRequest000,
  toImageInput000,
  toSpeechInput000,
  toVideoInput000,
  videoRequest000,
} from './media-api.contract.ts';
import { contract, toJsonSchema } from './rest.contract.ts';
import { familyDoc } from './rest.route.ts';
import { pendingFields, taskStatus, waitForResult } from './rest.wait.ts';
import { restJob } from './rest.submission.ts';

export { mediaApiError, RATE_LIMIT_MESSAGE } from './rest.errors.ts';

const family = 'media-api' as const;
const doc = familyDoc(family, ['Media API (000)'], 'bearer');
const comfyDoc = familyDoc(family, ['Media API (000) — ComfyUI'], 'bearer');

const promptParams = z.object({ prompt_id: z.string().min(1) });

const taskAnswer = z.object({
  task_id: z.string(),
  status: taskStatus,
  created_at: z.string(),
  url: z.string().nullable(),
  urls: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
  ...pendingFields,
});

function generationAnswer(job: Job, extra: Record<string, unknown>, pending: object | null) {
  const files = jobFiles(job);
  return {
    task_id: job.id,
    status: lowerStatus(job),
    created_at: isoSeconds(job.createdAt),
    url: files.main,
    urls: files.urls,
    ...extra,
    metadata: resultMetadata(job),
    ...pending,
  };
}

/** Document 000: JWT login, images, video, speech (the /comfy routes follow). */
export function registerMediaApiRoutes(app: FastifyInstance, core: Core) {
  app.post(
    '/v2/auth/login',
    {
      config: { family },
      schema: doc('login', 'Log in; the token is used as "Authorization: Bearer …"', {
        access: 'public',
        body: contract('MediaApiLogin', loginRequest),
        ok: toJsonSchema(z.object({ access_token: z.string(), token_type: z.literal('bearer'), expires_in: z.number().int() }), 'output'),
      }),
    },
    async (request) => {
      const body = request.body as z.output<typeof loginRequest>;
      const result = await loginThrottle(core).attempt(body.username, request.ip, () => core.auth.login(core.orm.em.fork(), body));
      return { access_token: result.accessToken, token_type: result.tokenType, expires_in: result.expiresIn };
    },
  );

  /** 000's three generation routes: one contract each, submitted, waited for, answered with their files. */
  const generation = <T extends z.ZodType<{ timeout?: number }>>(
    path: string,
    spec: {
      operationId: string;
      summary: string;
      rateLimit?: RouteLimit;
      contract: [name: string, schema: T];
      files: z.ZodRawShape;
      submit: (em: EntityManager, actor: Actor, body: z.output<T>) => Promise<Job>;
      answer: (job: Job) => Record<string, unknown>;
    },
  ) =>
    app.post(
      path,
      {
        config: { family, rateLimit: spec.rateLimit },
        schema: doc(spec.operationId, spec.summary, {
          body: contract(...spec.contract),
          ok: toJsonSchema(taskAnswer.extend(spec.files), 'output'),
          errors: [408, 500],
        }),
      },
      withActor(core, async (em, actor, request, reply) => {
        const body = request.body as z.output<T>;
        const created = await restJob(core, em, actor, request, () => spec.submit(em, actor, body));
        const { job, pending } = await waitForResult(core, em, actor, created, request, reply, { waitByDefault: true, timeoutSeconds: body.timeout });
        return generationAnswer(job, spec.answer(job), pending);
      }),
    );

  const url = z.string().nullable();
  generation('/generate/image', {
    operationId: 'mediaGenerateImage',
    summary: 'Generate an image (waits as long as its timeout allows; Prefer: respond-async answers at once)',
    rateLimit: 'generateImage',
    contract: ['MediaApiImageRequest', imageRequest000],
    files: { image_urls: z.array(z.string()) },
    submit: (em, actor, body) => core.jobs.createImageJob(em, actor, toImageInput000(body)),
    answer: (job) => ({ image_urls: jobFiles(job).urls }),
  });
  generation('/generate/video', {
    operationId: 'mediaGenerateVideo',
    summary: 'Generate a video (waits as long as its timeout allows)',
    rateLimit: 'generateVideo',
    contract: ['MediaApiVideoRequest', videoRequest000],
    files: { video_url: url, thumbnail_url: url },
    submit: (em, actor, body) => core.jobs.createVideoJob(em, actor, toVideoInput000(body)),
    answer: (job) => ({ video_url: jobFiles(job).main, thumbnail_url: jobFiles(job).thumbnail }),
  });
  generation('/synthesize/speech', {
    operationId: 'mediaSynthesizeSpeech',
    summary: 'Synthesize speech (waits as long as its timeout allows)',
    contract: ['MediaApiSpeechRequest', speechRequest000],
    files: { audio_url: url },
    submit: (em, actor, body) => core.jobs.createSpeechJob(em, actor, toSpeechInput000(body)),
    answer: (job) => ({ audio_url: jobFiles(job).main }),
  });
}

const GB = 1024 ** 3;
const gigabytes = (bytes: number) => Math.round((bytes / GB) * 100) / 100;

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

const promptAnswer = z.object({
  prompt_id: z.string().nullable(),
  task_id: z.string(),
  status: z.string(),
  progress: z.number().int(),
  workflow_name: z.string().nullable(),
  server: z.string().nullable(),
  created_at: z.string(),
  urls: z.array(z.string()),
  outputs: z.unknown(),
  error: z.string().nullable(),
  ...pendingFields,
});

/** A history entry as ComfyUI's own GET /history gives it (prompt, outputs, status), with Atelier's view beside. */
function comfyHistoryEntry(job: Job) {
  const view = promptView(job);
  const input = job.input as { workflow?: unknown };
  const done = job.status === 'COMPLETED' || job.status === 'FAILED' || job.status === 'CANCELLED';
  return {
    prompt: [0, view.prompt_id, input.workflow ?? {}, {}, []],
    outputs: view.outputs ?? {},
    status: {
      status_str: job.status === 'COMPLETED' ? 'success' : done ? 'error' : 'running',
      completed: job.status === 'COMPLETED',
      messages: job.errorMessage ? [['execution_error', { exception_message: job.errorMessage }]] : [],
    },
    meta: view,
  };
}

/** What a library workflow makes, read from its output node. */
function workflowKind(workflow: ComfyWorkflow): 'image' | 'video' | 'audio' | 'other' {
  const classes = Object.values(workflow.workflow).map((node) => String((node as { class_type?: unknown }).class_type ?? ''));
  if (classes.some((c) => /video|webm|animated|gif/i.test(c) && /save|combine/i.test(c))) return 'video';
  if (classes.some((c) => /saveaudio/i.test(c))) return 'audio';
  if (classes.some((c) => /saveimage|previewimage/i.test(c))) return 'image';
  return 'other';
}

/** Document 000's /comfy routes and workflow library, over the ComfyUI service: they wait like /generate/*. */
export function registerComfyRoutes(app: FastifyInstance, core: Core) {
  const pollPath = (job: Job) => `/comfy/status/${(job.input as { promptId?: string }).promptId ?? job.id}`;
  const promptOk = toJsonSchema(promptAnswer, 'output');

  app.post(
    '/comfy/execute',
    {
      config: { family, rateLimit: 'comfyExecute' },
      schema: comfyDoc('comfyExecute', 'Run a workflow (API format or {nodes: [{type, inputs}]}); waits as long as its timeout allows', {
        body: contract('ComfyExecute', comfyExecute),
        ok: promptOk,
        errors: [408, 500],
      }),
    },
    withActor(core, async (em, actor, request, reply) => {
      const body = request.body as z.output<typeof comfyExecute>;
      const created = await restJob(core, em, actor, request, () => core.comfy.execute(em, actor, { workflow: body.workflow, ...comfyRunInput(body) }));
      const { job, pending } = await waitForResult(core, em, actor, created, request, reply, { waitByDefault: true, timeoutSeconds: body.timeout, pollPath });
      return { ...promptView(job), ...pending };
    }),
  );

  app.post(
    '/comfy/execute/file',
    {
      config: { family, rateLimit: 'comfyExecute' },
      schema: comfyDoc('comfyExecuteFile', 'Run a workflow of the library by name (GET /workflows lists them)', {
        body: contract('ComfyExecuteFile', comfyExecuteFile),
        ok: promptOk,
        errors: [404, 408, 500],
      }),
    },
    withActor(core, async (em, actor, request, reply) => {
      const body = request.body as z.output<typeof comfyExecuteFile>;
      const created = await restJob(core, em, actor, request, () => core.comfy.executeSaved(em, actor, { name: body.workflow_name, params: body.params, ...comfyRunInput(body) }));
      const { job, pending } = await waitForResult(core, em, actor, created, request, reply, { waitByDefault: true, timeoutSeconds: body.timeout, pollPath });
      return { ...promptView(job), ...pending };
    }),
  );

  app.get(
    '/comfy/status/:prompt_id',
    { config: { family }, schema: comfyDoc('comfyStatus', 'A workflow by its ComfyUI prompt id', { params: contract('ComfyPromptParams', promptParams), ok: promptOk, errors: [404] }) },
    withActor(core, async (em, actor, request) => {
      const status = await core.comfy.status(em, actor, (request.params as { prompt_id: string }).prompt_id);
      return { ...promptView(status.job), prompt_id: status.promptId, server: status.server };
    }),
  );

  app.get(
    '/comfy/history',
    {
      config: { family },
      schema: comfyDoc('comfyHistory', "The caller's workflows, newest first, as ComfyUI's own /history: a map from prompt id to {prompt, outputs, status}", {
        ok: toJsonSchema(
          z.record(
            z.string(),
            z.object({
              prompt: z.array(z.unknown()),
              outputs: z.unknown(),
              status: z.object({ status_str: z.string(), completed: z.boolean(), messages: z.array(z.unknown()) }),
              meta: promptAnswer,
            }),
          ),
          'output',
        ),
      }),
    },
    withActor(core, async (em, actor) => {
      const page = await core.comfy.history(em, actor, { first: 100 });
      return Object.fromEntries(page.edges.map(({ node }) => [(node.input as { promptId?: string }).promptId ?? node.id, comfyHistoryEntry(node)]));
    }),
  );

  app.get(
    '/workflows',
    {
      config: { family },
      schema: comfyDoc('listWorkflows', 'The workflow library: the shipped examples, shared workflows and your own', {
        ok: toJsonSchema(
          z.object({
            workflows: z.array(
              z.object({
                name: z.string(),
                description: z.string().nullable(),
                kind: z.enum(['image', 'video', 'audio', 'other']),
                bindings: z.record(z.string(), z.unknown()),
                shipped: z.boolean(),
                shared: z.boolean(),
              }),
            ),
            count: z.number().int(),
          }),
          'output',
        ),
      }),
    },
    withActor(core, async (em, actor) => {
      const rows = await core.comfy.listWorkflows(em, actor);
      const workflows = rows.map((w) => ({ name: w.name, description: w.description ?? null, kind: workflowKind(w), bindings: w.bindings, shipped: !w.owner, shared: !w.owner || w.shared }));
      return { workflows, count: workflows.length };
    }),
  );

  app.get(
    '/comfy/resources',
    {
      config: { family },
      schema: comfyDoc('comfyResources', 'GPUs (GB), host memory (GB) and allocations of the live workers', {
        ok: toJsonSchema(
          z.object({
            gpus: z.array(z.record(z.string(), z.unknown())),
            system: z.object({ total_ram: z.number(), used_ram: z.number(), cpu_percent: z.number() }),
            allocations: z.number().int(),
          }),
          'output',
        ),
      }),
    },
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
