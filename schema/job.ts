import { JOB_KINDS, JOB_STATUSES, type Job } from '../src/db/entities/job.entity.ts';
import type { JobEvent } from '../src/pubsub/pubsub.ts';
import { badInput } from '../src/services/errors.ts';
import { AssetRef } from './asset.ts';
import { builder } from './builder.ts';
import { requireActor } from './context.ts';
import { UserRef } from './user.ts';

const JobKindEnum = builder.enumType('JobKind', { values: JOB_KINDS });
const JobStatusEnum = builder.enumType('JobStatus', { values: JOB_STATUSES });

interface JobErrorShape {
  code: string;
  message: string;
}

const JobError = builder.objectRef<JobErrorShape>('JobError').implement({
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

const jobError = (code: string | null | undefined, message: string | null | undefined): JobErrorShape | null =>
  code ? { code, message: message ?? code } : null;

export const JobRef = builder.objectRef<Job>('Job').implement({
  description: 'One generation request and everything that happened to it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.field({ type: JobKindEnum, resolve: (j) => j.kind }),
    status: t.field({ type: JobStatusEnum, resolve: (j) => j.status }),
    progress: t.exposeInt('progress', { description: '0–100 across all steps of the job.' }),
    statusMessage: t.exposeString('statusMessage', { nullable: true }),
    input: t.field({ type: 'JSON', description: 'The request as stored, defaults and seed applied.', resolve: (j) => j.input }),
    result: t.field({ type: 'JSON', nullable: true, resolve: (j) => j.result ?? null }),
    error: t.field({ type: JobError, nullable: true, resolve: (j) => jobError(j.errorCode, j.errorMessage) }),
    priority: t.exposeInt('priority', { description: '1 runs first, 10 last.' }),
    engine: t.exposeString('engine', { nullable: true }),
    cost: t.float({ resolve: (j) => Number(j.cost) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    owner: t.field({
      type: UserRef,
      resolve: async (j, _args, ctx) => (await ctx.loaders.user.load(j.owner.id))!,
    }),
    assets: t.field({ type: [AssetRef], resolve: (j, _args, ctx) => ctx.loaders.jobAssets.load(j.id) }),
  }),
});

const JobEventRef = builder.objectRef<JobEvent>('JobEvent').implement({
  description: 'One change of a job, as it happened.',
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    kind: t.field({ type: JobKindEnum, resolve: (e) => e.kind }),
    status: t.field({ type: JobStatusEnum, resolve: (e) => e.status }),
    progress: t.exposeInt('progress'),
    message: t.exposeString('message', { nullable: true }),
    result: t.field({ type: 'JSON', nullable: true, resolve: (e) => e.result }),
    error: t.field({ type: JobError, nullable: true, resolve: (e) => jobError(e.errorCode, e.errorMessage) }),
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
    job: t.field({
      type: JobRef,
      description: 'The job as stored now (one read per event: ask only when needed).',
      resolve: (e, _args, ctx) => ctx.core.jobs.getJob(ctx.em.fork(), requireActor(ctx), e.jobId),
    }),
  }),
});

const GenerateImageInput = builder.inputType('GenerateImageInput', {
  fields: (t) => ({
    prompt: t.string({ required: true, description: '1–4000 characters.' }),
    negativePrompt: t.string({ required: false }),
    width: t.int({ required: false, description: '64–2048, a multiple of 8. Default 512.' }),
    height: t.int({ required: false, description: '64–2048, a multiple of 8. Default 512.' }),
    steps: t.int({ required: false, description: '1–150. Default 30.' }),
    guidance: t.float({ required: false, description: '0–30. Default 7.5.' }),
    seed: t.int({ required: false, description: 'Same prompt and seed give the same image. Random when absent.' }),
    numImages: t.int({ required: false, description: '1–4. Default 1.' }),
    priority: t.int({ required: false, description: '1 runs first, 10 last. Default 5.' }),
  }),
});

builder.queryField('job', (t) =>
  t.field({
    type: JobRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.jobs.getJob(ctx.em, requireActor(ctx), String(args.id)),
  }),
);

builder.queryField('jobs', (t) =>
  t.connection({
    type: JobRef,
    description: 'Your jobs, newest first (every job, for an admin). Page forward with first/after.',
    args: {
      status: t.arg({ type: JobStatusEnum, required: false }),
      kind: t.arg({ type: JobKindEnum, required: false }),
    },
    resolve: (_root, args, ctx) => {
      if (args.last != null || args.before != null) throw badInput('Only forward pagination (first/after) is supported');
      return ctx.core.jobs.listJobs(ctx.em, requireActor(ctx), args);
    },
  }),
);

builder.mutationField('generateImage', (t) =>
  t.field({
    type: JobRef,
    description: 'Queues an image generation; follow it with Subscription.jobProgress.',
    args: { input: t.arg({ type: GenerateImageInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.core.jobs.createImageJob(ctx.em, requireActor(ctx), input),
  }),
);

builder.subscriptionField('jobProgress', (t) =>
  t.field({
    type: JobEventRef,
    description: "Every change of one job: its current state first, then each change until it finishes.",
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => ctx.core.jobs.watchJob(ctx.em, requireActor(ctx), String(args.id)),
    resolve: (event) => event,
  }),
);

builder.subscriptionField('jobs', (t) =>
  t.field({
    type: JobEventRef,
    description: "Changes to all of the caller's jobs (every job, for an admin).",
    subscribe: (_root, _args, ctx) => ctx.core.jobs.watchJobs(requireActor(ctx)),
    resolve: (event) => event,
  }),
);
