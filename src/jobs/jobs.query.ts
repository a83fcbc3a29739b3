import type { Redis } from 'ioredis';
import type { Job, JobKind } from '../db/entities/job.entity.ts';
import { FINAL_JOB_STATUSES } from '../db/entities/job.entity.ts';
import type { GenerationQueues } from '../queue/queue.producer.ts';
import { queueJobId } from '../queue/queue.producer.ts';

export interface QueueInfo {
  queuePosition: number | null;
  etaSeconds: number | null;
}

const NONE: QueueInfo = { queuePosition: null, etaSeconds: null };

/** Weight of the newest run in a kind's running average. */
const RECENT_WEIGHT = 0.2;

// Exponential moving average of run times, kept in Redis so every process reads the same and nobody scans jobs.
const UPDATE_AVERAGE = `local old = tonumber(redis.call('GET', KEYS[1]))
local ms = tonumber(ARGV[1])
if old then ms = old + (ms - old) * tonumber(ARGV[2]) end
redis.call('SET', KEYS[1], ms)
return 1`;

/**
 * Where a queued job stands and when a job should finish, read when a client asks, never on the write path:
 * the position is the job's rank in its BullMQ queue (ZRANK, O(log n)), the slots are the queue's active list
 * (LLEN, O(1)), the run time a running average per kind in Redis. One round trip.
 */
export class QueueInfoReader {
  private readonly redis: Redis;
  private readonly queues: GenerationQueues;
  private readonly prefix: string;

  constructor(deps: { redis: Redis; queues: GenerationQueues; prefix: string }) {
    this.redis = deps.redis;
    this.queues = deps.queues;
    this.prefix = deps.prefix;
  }

  private averageKey(kind: JobKind) {
    return `${this.prefix}:jobs:run-ms:${kind}`;
  }

  /** Adds one finished run to its kind's average (called by the worker that ran it). */
  async recordRun(kind: JobKind, runMs: number): Promise<void> {
    await this.redis.eval(UPDATE_AVERAGE, 1, this.averageKey(kind), String(Math.max(0, runMs)), String(RECENT_WEIGHT));
  }

  async averageMs(kind: JobKind): Promise<number | null> {
    const value = await this.redis.get(this.averageKey(kind));
    return value === null ? null : Number(value);
  }

  async read(job: Job): Promise<QueueInfo> {
    if (FINAL_JOB_STATUSES.includes(job.status)) return NONE;
    if (job.status === 'PROCESSING') {
      const elapsed = Date.now() - (job.startedAt?.getTime() ?? Date.now());
      if (job.progress > 0) return { queuePosition: null, etaSeconds: Math.round((elapsed * (100 - job.progress)) / job.progress / 1000) };
      const average = await this.averageMs(job.kind);
      return { queuePosition: null, etaSeconds: average === null ? null : Math.max(0, Math.round((average - elapsed) / 1000)) };
    }
    const queue = this.queues.of(job);
    const [[, rank], [, active], [, average]] = (await this.redis
      .pipeline()
      .zrank(queue.keys.prioritized!, queueJobId(job))
      .llen(queue.keys.active!)
      .get(this.averageKey(job.kind))
      .exec()) as [unknown, unknown][] as [[unknown, number | null], [unknown, number], [unknown, string | null]];
    // Not in the priority set: not yet added (a submit in flight), or waiting out a retry's backoff.
    const position = rank ?? 0;
    const slots = Math.max(1, active ?? 1);
    const averageMs = average === null ? null : Number(average);
    return {
      queuePosition: position,
      etaSeconds: averageMs === null ? null : Math.round(((Math.floor(position / slots) + 1) * averageMs) / 1000),
    };
  }
}
