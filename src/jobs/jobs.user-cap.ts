import { DelayedError, type Job as QueueJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Core } from '../core.ts';
import type { GenerationPayload } from '../queue/queue.names.ts';

// KEYS: the user's running set (queue job id → until when it may hold its place). ARGV: now, member, until, cap.
const ADMIT_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  return 1
end
return 0
`;

type AdmittingRedis = Redis & { capAdmit(key: string, ...args: (string | number)[]): Promise<number> };

type Processor = (job: QueueJob<GenerationPayload>, token?: string, signal?: AbortSignal) => Promise<unknown>;

/** How soon a job turned away by the cap is offered again (it keeps its fair place). */
const RETRY_MS = 250;

/**
 * MAX_RUNNING_JOBS_PER_USER: a job whose owner already runs that many is put back (delayed, keeping its place)
 * instead of run. Places are held in Redis until the job's own timeout has passed, so a worker that dies cannot
 * keep a user's place for longer than the job could have run.
 */
export function capRunningPerUser(core: Core, cap: number | undefined, processor: Processor): Processor {
  if (!cap) return processor;
  if (!('capAdmit' in core.redis)) core.redis.defineCommand('capAdmit', { numberOfKeys: 1, lua: ADMIT_SCRIPT });
  const redis = core.redis as AdmittingRedis;
  return async (queueJob, token, signal) => {
    const rows = await core.orm.em
      .fork()
      .getConnection()
      .execute<{ owner_id: string; timeout_seconds: number }[]>(`select owner_id, timeout_seconds from jobs where id = ?`, [queueJob.data.jobId]);
    const row = rows[0];
    if (!row) return processor(queueJob, token, signal);
    const key = `${core.config.QUEUE_PREFIX}:fair:running:${row.owner_id}`;
    const now = Date.now();
    const until = now + (row.timeout_seconds + 60) * 1000;
    if (!(await redis.capAdmit(key, now, queueJob.id!, until, cap))) {
      await queueJob.moveToDelayed(now + RETRY_MS, token);
      throw new DelayedError();
    }
    try {
      return await processor(queueJob, token, signal);
    } finally {
      await redis.zrem(key, queueJob.id!).catch(() => undefined);
    }
  };
}
