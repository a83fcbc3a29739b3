import type { ComfyServer } from '../src/db/entities/comfy-server.entity.ts';
import type { ComfyWorkflow } from '../src/db/entities/comfy-workflow.entity.ts';
import type { ComfyPromptStatus } from '../src/services/comfy.service.ts';
import { badInput } from '../src/services/errors.ts';
import { builder } from './builder.ts';
import { submitJob, WebhookInput } from './webhook.ts';
import { requireActor } from './context.ts';
import { JobRef } from './job.ts';

const ComfyWorkflowRef = builder.objectRef<ComfyWorkflow>('ComfyWorkflow').implement({
  description: 'A saved ComfyUI workflow (API format) and the node inputs its parameters fill.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    workflow: t.field({ type: 'JSON', description: 'ComfyUI API format: {"<node id>": {class_type, inputs}}.', resolve: (w) => w.workflow }),
    bindings: t.field({
      type: 'JSON',
      description: 'Which node inputs ("nodeId.inputName") receive prompt, negativePrompt, seed, image, audio, width, height.',
      resolve: (w) => w.bindings,
    }),
    shipped: t.boolean({ description: 'One of the examples that ship with Atelier.', resolve: (w) => !w.owner }),
    shared: t.boolean({ description: 'Visible to everyone (shipped examples always are).', resolve: (w) => !w.owner || w.shared }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const ComfyServerRef = builder.objectRef<ComfyServer>('ComfyServer').implement({
  description: 'A ComfyUI server an admin added to the pool.',
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    name: t.exposeString('name', { nullable: true }),
    enabled: t.exposeBoolean('enabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ComfyStatusRef = builder.objectRef<ComfyPromptStatus>('ComfyStatus').implement({
  description: 'A ComfyUI prompt and the Atelier job that runs it.',
  fields: (t) => ({
    promptId: t.exposeString('promptId'),
    server: t.exposeString('server', { nullable: true, description: 'The server the prompt was sent to.' }),
    status: t.string({ resolve: (s) => s.job.status }),
    progress: t.int({ resolve: (s) => s.job.progress }),
    job: t.field({ type: JobRef, resolve: (s) => s.job }),
  }),
});

const ComfyWorkflowParams = builder.inputType('ComfyWorkflowParams', {
  description: 'Values for the bound inputs of a saved workflow.',
  fields: (t) => ({
    prompt: t.string({ required: false }),
    negativePrompt: t.string({ required: false }),
    seed: t.int({ required: false }),
    width: t.int({ required: false }),
    height: t.int({ required: false }),
    image: t.id({ required: false, description: 'An image asset, uploaded to the ComfyUI server before the prompt.' }),
    audio: t.id({ required: false, description: 'An audio asset, uploaded to the ComfyUI server before the prompt.' }),
  }),
});

builder.objectField(JobRef, 'preview', (t) =>
  t.string({
    nullable: true,
    description: 'The latest preview image of a running ComfyUI job, as a data: URL.',
    resolve: (job, _args, ctx) => (job.engine === 'comfyui' && job.status === 'PROCESSING' ? ctx.core.comfy.preview(job.id) : null),
  }),
);

const runArgs = (t: Parameters<Parameters<typeof builder.mutationField>[1]>[0]) => ({
  timeout: t.arg.int({ required: false, description: 'Seconds the job may run, 30–300. Default 300.' }),
  priority: t.arg.int({ required: false, description: '1 runs first, 10 last. Default 5.' }),
  gpuPreference: t.arg.int({ required: false, description: 'Prefer a server that reports this GPU index.' }),
  serverUrl: t.arg.string({ required: false, description: 'Run on this server; it must be listed in COMFYUI_ALLOWED_SERVERS.' }),
  webhook: t.arg({ type: WebhookInput, required: false }),
  idempotencyKey: t.arg.string({ required: false }),
});

builder.mutationField('executeComfyWorkflow', (t) =>
  t.field({
    type: JobRef,
    description: 'Queues a ComfyUI workflow: API format, or {nodes: [{type, inputs}]} (node ids "1", "2", … by position).',
    args: { workflow: t.arg({ type: 'JSON', required: true }), ...runArgs(t) },
    resolve: (_root, args, ctx) => submitJob(ctx, 'executeComfyWorkflow', args, (actor, body) => ctx.core.comfy.execute(ctx.em, actor, body)),
  }),
);

builder.mutationField('executeSavedWorkflow', (t) =>
  t.field({
    type: JobRef,
    description: 'Queues a saved workflow with its bound inputs filled from params.',
    args: { name: t.arg.string({ required: true }), params: t.arg({ type: ComfyWorkflowParams, required: false }), ...runArgs(t) },
    resolve: (_root, args, ctx) =>
      submitJob(ctx, 'executeSavedWorkflow', args, (actor, { params, ...body }) =>
        ctx.core.comfy.executeSaved(ctx.em, actor, {
          ...body,
          params: params ? { ...params, image: params.image == null ? null : String(params.image), audio: params.audio == null ? null : String(params.audio) } : null,
        }),
      ),
  }),
);

builder.mutationField('saveWorkflow', (t) =>
  t.field({
    type: ComfyWorkflowRef,
    description: 'Saves (or replaces one of your own) workflow in the library.',
    args: {
      name: t.arg.string({ required: true }),
      workflow: t.arg({ type: 'JSON', required: true }),
      bindings: t.arg({ type: 'JSON', required: false }),
      description: t.arg.string({ required: false }),
      shared: t.arg.boolean({ required: false, description: 'Let everyone see and run it. Default: true for admins, false for others.' }),
    },
    resolve: (_root, args, ctx) => ctx.core.comfy.saveWorkflow(ctx.em, requireActor(ctx), args),
  }),
);

builder.mutationField('deleteWorkflow', (t) =>
  t.boolean({
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.comfy.deleteWorkflow(ctx.em, requireActor(ctx), args.name),
  }),
);

builder.queryField('workflows', (t) =>
  t.field({
    type: [ComfyWorkflowRef],
    description: 'The shipped examples and your saved workflows (all, for an admin).',
    resolve: (_root, _args, ctx) => ctx.core.comfy.listWorkflows(ctx.em, requireActor(ctx)),
  }),
);

builder.queryField('comfyStatus', (t) =>
  t.field({
    type: ComfyStatusRef,
    args: { promptId: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.comfy.status(ctx.em, requireActor(ctx), args.promptId),
  }),
);

builder.queryField('comfyHistory', (t) =>
  t.connection({
    type: JobRef,
    description: 'Your ComfyUI jobs, newest first (everyone’s, for an admin).',
    resolve: (_root, args, ctx) => {
      if (args.last != null || args.before != null) throw badInput('Only forward pagination (first/after) is supported');
      return ctx.core.comfy.history(ctx.em, requireActor(ctx), args);
    },
  }),
);

builder.queryField('comfyServers', (t) =>
  t.field({
    type: [ComfyServerRef],
    description: 'Servers admins added to the pool (beside those of COMFYUI_SERVER_URLS).',
    resolve: (_root, _args, ctx) => ctx.core.comfy.listServers(ctx.em),
  }),
);

builder.mutationField('addComfyServer', (t) =>
  t.field({
    type: ComfyServerRef,
    args: { url: t.arg.string({ required: true }), name: t.arg.string({ required: false }) },
    resolve: (_root, args, ctx) => ctx.core.comfy.addServer(ctx.em, args),
  }),
);

builder.mutationField('removeComfyServer', (t) =>
  t.boolean({
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.comfy.removeServer(ctx.em, String(args.id)),
  }),
);
