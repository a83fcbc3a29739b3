import type { Batch } from '../src/db/entities/batch.entity.ts';
import type { BatchProgress } from '../src/jobs/jobs.read.ts';
import { builder } from './builder.ts';
import { requireActor } from './context.ts';
import { GenerateImageInput, JobRef } from './job.ts';
import { submitBatch, WebhookInput } from './webhook.ts';

const BatchStatusEnum = builder.enumType('BatchStatus', {
  values: ['QUEUED', 'PROCESSING', 'COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'] as const,
});

const BatchProgressRef = builder.objectRef<BatchProgress>('BatchProgress').implement({
  description: "A batch's state, aggregated from its jobs.",
  fields: (t) => ({
    batchId: t.exposeID('batchId'),
    status: t.field({ type: BatchStatusEnum, resolve: (p) => p.status }),
    total: t.exposeInt('total'),
    queued: t.exposeInt('queued'),
    processing: t.exposeInt('processing'),
    completed: t.exposeInt('completed'),
    failed: t.exposeInt('failed'),
    cancelled: t.exposeInt('cancelled'),
    progress: t.exposeInt('progress', { description: '0–100: the mean of its jobs, a finished job counting 100.' }),
    cost: t.exposeFloat('cost', { description: 'The sum of its jobs’ costs.' }),
  }),
});

const BatchRef = builder.objectRef<Batch>('Batch').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    priority: t.exposeInt('priority'),
    metadata: t.field({ type: 'JSON', nullable: true, resolve: (b) => b.metadata ?? null }),
    total: t.exposeInt('total'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    progress: t.field({ type: BatchProgressRef, resolve: (b, _args, ctx) => ctx.core.jobs.batchProgress(ctx.em, b) }),
    jobs: t.field({
      type: [JobRef],
      resolve: async (b, _args, ctx) =>
        (await ctx.core.jobs.listJobs(ctx.em, requireActor(ctx), { batchId: b.id, first: 100, order: 'OLDEST' })).edges.map((e) => e.node),
    }),
  }),
});

builder.mutationField('generateBatch', (t) =>
  t.field({
    type: BatchRef,
    description: 'Queues up to 100 image requests at once; accepted whole or refused whole.',
    args: {
      requests: t.arg({ type: [GenerateImageInput], required: true }),
      priority: t.arg.int({ required: false, description: '1 runs first, 10 last. Default 5; applies to every request.' }),
      metadata: t.arg({ type: 'JSON', required: false }),
      webhook: t.arg({ type: WebhookInput, required: false, description: "Send every job's events to a URL." }),
      idempotencyKey: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) => submitBatch(ctx, args, (actor, body) => ctx.core.jobs.createBatch(ctx.em, actor, body)),
  }),
);

builder.queryField('batch', (t) =>
  t.field({
    type: BatchRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.jobs.getBatch(ctx.em, requireActor(ctx), String(args.id)),
  }),
);

builder.subscriptionField('batchProgress', (t) =>
  t.field({
    type: BatchProgressRef,
    description: "The batch's aggregate now, then after every change of one of its jobs, until all have finished.",
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => ctx.core.jobs.watchBatch(ctx.em, requireActor(ctx), String(args.id)),
    resolve: (progress) => progress,
  }),
);
