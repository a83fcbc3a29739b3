import type { Logger } from 'pino';
import type { Core } from '../src/core.ts';
import type { EngineFamily } from '../src/queue/queue.names.ts';
import { every } from '../src/system/periodic.ts';

const STALLED = /stalled more than allowable limit/i;

/** The job row behind a queue entry id (`<jobId>` or `<jobId>_<attempt>`). */
export const rowIdOf = (queueJobId: string) => queueJobId.replace(/_\d+$/, '');
/** The attempt a queue entry id stands for (queue.producer.ts's queueJobId). */
const attemptOf = (queueJobId: string) => Number(/_(\d+)$/.exec(queueJobId)?.[1] ?? 0);

/** How far back a watcher that just started looks: failures while no watcher ran (a restart) are caught too. */
const LOOK_BACK_MS = 10 * 60_000;
/** Entries read per queue per round; the next round goes on from the last one. */
const PAGE = 500;

/**
 * Watches the queues for entries BullMQ has given up on (attempts used up, stalled too often): their rows, if
 * still QUEUED or PROCESSING, become FAILED and subscribers hear it. It reads only what is new in each queue's
 * failed set every `intervalMs`, rather than every event of every job from the event streams: giving up is rare,
 * the job path is not. Failures our processor already recorded leave a final row, which the conditional write
 * leaves alone.
 */
export function watchGiveUps(core: Core, families: EngineFamily[], log: Logger, intervalMs = 1000): { check(): Promise<void>; stop(): Promise<void> } {
  const cursors = new Map(families.map((family) => [family, { score: Date.now() - LOOK_BACK_MS, seenAtScore: new Set<string>() }]));

  const giveUp = async (family: EngineFamily, queueJobId: string, failedAt: number) => {
    const failedReason = await core.redis.hget(core.queues.get(family).toKey(queueJobId), 'failedReason');
    const stalled = STALLED.test(failedReason ?? '');
    const code = stalled ? 'STALLED' : 'RETRIES_EXHAUSTED';
    const message = stalled
      ? 'The job was lost by its worker too many times (it stalled) and was given up'
      : `The job failed on every attempt and was given up: ${failedReason ?? 'unknown error'}`;
    if (await core.lifecycle.giveUp(core.orm.em.fork(), rowIdOf(queueJobId), code, message, { attempt: attemptOf(queueJobId), failedAt: new Date(failedAt) })) log.warn({ jobId: queueJobId, code }, 'queue gave up on job; marked FAILED');
  };

  const round = async () => {
    for (const [family, cursor] of cursors) {
      const key = core.queues.get(family).keys.failed!;
      const page = await core.redis.zrangebyscore(key, cursor.score, '+inf', 'WITHSCORES', 'LIMIT', 0, PAGE);
      for (let i = 0; i < page.length; i += 2) {
        const id = page[i]!;
        const score = Number(page[i + 1]);
        // Entries sharing the cursor's score were read last round, unless new ones joined them.
        if (score === cursor.score && cursor.seenAtScore.has(id)) continue;
        if (score > cursor.score) {
          cursor.score = score;
          cursor.seenAtScore.clear();
        }
        cursor.seenAtScore.add(id);
        await giveUp(family, id, score).catch((error) => log.error({ err: error, jobId: id }, 'could not mark a given-up job FAILED'));
      }
    }
  };

  const periodic = every(intervalMs, round, (error) => log.warn({ err: error }, 'could not read the queues’ failed entries'));
  return { check: periodic.runNow, stop: periodic.stop };
}
