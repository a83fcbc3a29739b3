import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import type { JobEvent } from '../src/pubsub/pubsub.ts';
import { actorFor } from './compat.common.ts';
import { routeSchema } from './rest.route.ts';

/** An event's id names the state it shows, so a client that resumes is not sent a state it has already seen. */
const stateId = (event: JobEvent) => `${event.status.toLowerCase()}-${event.progress}`;

const view = (event: JobEvent) => ({
  task_id: event.jobId,
  status: event.status.toLowerCase(),
  progress: event.progress,
  message: event.message,
  result: event.result,
  error: event.errorCode ? { code: event.errorCode, message: event.errorMessage ?? event.errorCode } : null,
  queue_position: event.queuePosition,
  eta_seconds: event.etaSeconds,
  at: event.at,
});

const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/**
 * GET /api/v1/tasks/{id}/events: server-sent events for REST clients. The task's current state first, then each
 * change, and the stream closes at a final state. With Last-Event-ID the state it names is not sent again; a task
 * already final in that state answers 204, which tells an EventSource to stop reconnecting.
 */
export function registerTaskEventRoutes(app: FastifyInstance, core: Core) {
  const open = new Set<() => Promise<unknown>>();
  app.addHook('onClose', async () => {
    await Promise.all([...open].map((close) => close()));
  });

  app.get<{ Params: { id: string } }>(
    '/api/v1/tasks/:id/events',
    {
      config: { family: 'talking-head' },
      schema: routeSchema({
        family: 'talking-head',
        tags: ['Talking head (002)', 'Video platform (003)'],
        operationId: 'getTaskEvents',
        summary: "A task's state as server-sent events (text/event-stream): now, then each change, until it is final",
        access: 'optional',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
        produces: ['text/event-stream'],
        ok: { content: { 'text/event-stream': { schema: { type: 'string', description: 'Events named by status; data: {task_id, status, progress…}' } } } },
        okDescription: 'The stream (204 when the task is final and the client has seen its last state)',
        errors: [404],
      }),
    },
    async (request, reply) => {
      const em = core.orm.em.fork() as EntityManager;
      const actor = await actorFor(core, em, request);
      // Errors (no such task, not yours) are answered before the stream starts, in the family's shape.
      const events = await core.jobs.watchJob(em, actor, request.params.id);
      const lastEventId = request.headers['last-event-id'];
      const first = await events.next();
      if (first.done || (stateId(first.value) === lastEventId && FINAL.has(first.value.status))) {
        await events.return?.();
        return reply.status(204).send();
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const send = (event: JobEvent) => res.write(`id: ${stateId(event)}\nevent: ${event.status.toLowerCase()}\ndata: ${JSON.stringify(view(event))}\n\n`);
      const close = async () => events.return?.();
      open.add(close);
      // Proxies drop a silent connection; a comment line every 15 s keeps it open while a task waits in the queue.
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      res.on('close', () => void close());
      try {
        if (stateId(first.value) !== lastEventId) send(first.value);
        for await (const event of events) send(event);
      } catch (error) {
        request.log.warn({ err: error, taskId: request.params.id }, 'task event stream failed');
      } finally {
        clearInterval(keepAlive);
        open.delete(close);
        res.end();
      }
    },
  );
}
