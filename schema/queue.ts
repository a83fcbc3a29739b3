import { JOB_KINDS } from '../src/db/entities/job.entity.ts';
import { User } from '../src/db/entities/user.entity.ts';
import { MAX_WEIGHT } from '../src/jobs/jobs.fairness.ts';
import { isAdmin } from '../src/services/actor.ts';
import { AppError, badInput, forbidden, notFound } from '../src/services/errors.ts';
import { isUuid } from '../src/services/validation.ts';
import type { QueueState } from '../src/queue/queue.control.ts';
import { builder } from './builder.ts';
import { requireActor } from './context.ts';
import { JobRef } from './job.ts';
import { UserRef } from './user.ts';

const QueueStateRef = builder.objectRef<QueueState>('QueueState').implement({
  description: "One engine family's queue.",
  fields: (t) => ({
    engine: t.exposeString('engine'),
    paused: t.exposeBoolean('paused', { description: 'Workers take nothing new from it while paused; running jobs finish.' }),
    waiting: t.exposeInt('waiting', { description: 'Jobs not yet taken by a worker (prioritized and delayed ones included).' }),
    running: t.exposeInt('running', { description: 'Jobs a worker holds now.' }),
    delayed: t.exposeInt('delayed', { description: 'Of those waiting, jobs waiting for a retry.' }),
    failed: t.exposeInt('failed', { description: 'Failed jobs BullMQ still keeps.' }),
  }),
});

const CancelStatusEnum = builder.enumType('CancellableStatus', { values: ['QUEUED', 'PROCESSING'] as const });
const CancelKindEnum = builder.enumType('CancellableKind', { values: JOB_KINDS });

const CancelJobsFilter = builder.inputType('CancelJobsFilter', {
  fields: (t) => ({
    status: t.field({ type: CancelStatusEnum, required: false, description: 'Default: both queued and running.' }),
    engine: t.string({ required: false }),
    kind: t.field({ type: CancelKindEnum, required: false }),
    batchId: t.id({ required: false }),
    userId: t.id({ required: false, description: "Admins: this user's jobs (default: everyone's)." }),
  }),
});

builder.queryField('queues', (t) =>
  t.field({ type: [QueueStateRef], description: 'Every engine family’s queue.', resolve: (_root, _args, ctx) => ctx.core.queueControl.states() }),
);

builder.mutationField('pauseQueue', (t) =>
  t.field({
    type: QueueStateRef,
    description: 'Admin: workers stop taking jobs of this engine family (running ones finish).',
    args: { engine: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.queueControl.pause(requireActor(ctx), args.engine),
  }),
);

builder.mutationField('resumeQueue', (t) =>
  t.field({
    type: QueueStateRef,
    args: { engine: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.queueControl.resume(requireActor(ctx), args.engine),
  }),
);

builder.mutationField('setJobPriority', (t) =>
  t.field({
    type: JobRef,
    description: 'Moves a queued job: 1 runs first, 10 last.',
    args: { id: t.arg.id({ required: true }), priority: t.arg.int({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.queueControl.setPriority(ctx.em, requireActor(ctx), String(args.id), args.priority),
  }),
);

builder.mutationField('cancelJobs', (t) =>
  t.field({
    type: [JobRef],
    description: "Cancels your queued and running jobs that match (an admin's: anyone's), at most 1000 a call; returns those cancelled.",
    args: { filter: t.arg({ type: CancelJobsFilter, required: false }) },
    resolve: (_root, { filter }, ctx) =>
      ctx.core.queueControl.cancelMany(ctx.em, requireActor(ctx), {
        ...filter,
        batchId: filter?.batchId == null ? null : String(filter.batchId),
        userId: filter?.userId == null ? null : String(filter.userId),
      }),
  }),
);

builder.mutationField('setUserQueueWeight', (t) =>
  t.int({
    description:
      "Admin: a user's share of the queue within a priority (1–12; e.g. for paid tiers). With weight 2 they get two turns to a weight-1 user's one. Applies to jobs submitted from now on.",
    args: { userId: t.arg.id({ required: true }), weight: t.arg.int({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const actor = requireActor(ctx);
      if (!isAdmin(actor)) throw forbidden('Only admins can set queue weights');
      if (!Number.isInteger(args.weight) || args.weight < 1 || args.weight > MAX_WEIGHT) throw badInput(`weight must be 1–${MAX_WEIGHT}`, { field: 'weight' });
      const fairness = ctx.core.fairness;
      if (!fairness) throw new AppError('CONFLICT', 'Fair queues are off (FAIR_QUEUES=false); weights would not apply');
      const userId = String(args.userId);
      if (!isUuid(userId) || !(await ctx.em.findOne(User, { id: userId }))) throw notFound('User', userId);
      await fairness.setWeight(userId, args.weight);
      return args.weight;
    },
  }),
);

builder.objectField(UserRef, 'queueWeight', (t) =>
  t.int({
    nullable: true,
    description: 'Their share of the queue within a priority (null when fair queues are off).',
    resolve: (user, _args, ctx) => ctx.core.fairness?.weightOf(user.id) ?? null,
  }),
);
