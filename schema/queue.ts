import { ENGINE_FAMILIES, type EngineFamily } from '../src/queue/queue.names.ts';
import { builder } from './builder.ts';

interface EngineQueueDepth {
  engine: EngineFamily;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

const EngineQueueRef = builder.objectRef<EngineQueueDepth>('EngineQueue').implement({
  description: "One engine family's BullMQ queue, as counted now.",
  fields: (t) => ({
    engine: t.exposeString('engine'),
    waiting: t.exposeInt('waiting', { description: 'Jobs waiting for a worker (prioritized ones included).' }),
    active: t.exposeInt('active', { description: 'Jobs a worker holds now.' }),
    delayed: t.exposeInt('delayed', { description: 'Jobs waiting for a retry.' }),
    failed: t.exposeInt('failed', { description: 'Failed jobs BullMQ still keeps.' }),
  }),
});

builder.queryField('queues', (t) =>
  t.field({
    type: [EngineQueueRef],
    description: 'Queue depth per engine family (admin).',
    resolve: (_root, _args, ctx) =>
      Promise.all(
        ENGINE_FAMILIES.map(async (engine) => {
          const counts = await ctx.core.queues.get(engine).getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
          return {
            engine,
            waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
            active: counts.active ?? 0,
            delayed: counts.delayed ?? 0,
            failed: counts.failed ?? 0,
          };
        }),
      ),
  }),
);
