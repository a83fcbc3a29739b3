import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Core } from '../src/core.ts';
import { type EngineFamily, generationQueueName } from '../src/queue/queue.names.ts';

const STALLED = /stalled more than allowable limit/i;

/** The job row behind a queue entry id (`<jobId>` or `<jobId>_<attempt>`). */
export const rowIdOf = (queueJobId: string) => queueJobId.replace(/_\d+$/, '');

/**
 * Watches the queues' event streams for entries BullMQ has given up on (attempts used up, stalled too often):
 * their rows, if still QUEUED or PROCESSING, become FAILED and subscribers hear it. Failures our processor
 * already recorded leave a final row, which the conditional write leaves alone.
 */
export async function watchGiveUps(core: Core, families: EngineFamily[], connection: () => Redis, log: Logger): Promise<() => Promise<void>> {
  const watchers = families.map((family) => {
    const events = new QueueEvents(generationQueueName(family), { connection: connection(), prefix: core.config.QUEUE_PREFIX });
    events.on('failed', ({ jobId, failedReason }) => {
      const stalled = STALLED.test(failedReason ?? '');
      const code = stalled ? 'STALLED' : 'RETRIES_EXHAUSTED';
      const message = stalled
        ? 'The job was lost by its worker too many times (it stalled) and was given up'
        : `The job failed on every attempt and was given up: ${failedReason ?? 'unknown error'}`;
      core.lifecycle
        .giveUp(core.orm.em.fork(), rowIdOf(jobId), code, message)
        .then((failed) => failed && log.warn({ jobId, code }, 'queue gave up on job; marked FAILED'))
        .catch((error) => log.error({ err: error, jobId }, 'could not mark a given-up job FAILED'));
    });
    events.on('error', (error) => log.error({ err: error, family }, 'queue events error'));
    return events;
  });
  await Promise.all(watchers.map((w) => w.waitUntilReady()));
  return async () => {
    await Promise.all(watchers.map((w) => w.close().catch(() => undefined)));
  };
}
