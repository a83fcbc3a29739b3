import type { Redis } from 'ioredis';
import type { Job, JobKind, JobStatus } from '../db/entities/job.entity.ts';
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

/** A statement and its parameters: built here, run by the caller, and EXPLAINed by test/integration/jobs.explain. */
export interface Sql {
  sql: string;
  params: unknown[];
}

export interface ListFilter {
  ownerId: string | null;
  status?: JobStatus | null;
  kind?: JobKind | null;
  engine?: string | null;
  batchId?: string | null;
  search?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  oldestFirst: boolean;
  after: { createdAt: Date; id: string } | null;
  limit: number;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The read statements on `jobs`; every one is served by an index (see the migration adding them). */
export const jobQueries = {
  /** One keyset page, (created_at, id) ordered: the row comparison walks an index at any depth. */
  list(filter: ListFilter): Sql {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, ...values: unknown[]) => {
      where.push(clause);
      params.push(...values);
    };
    if (filter.ownerId) add('owner_id = ?', filter.ownerId);
    if (filter.status) add('status = ?', filter.status);
    if (filter.kind) add('kind = ?', filter.kind);
    if (filter.engine) add('engine = ?', filter.engine);
    if (filter.batchId) add('batch_id = ?', filter.batchId);
    if (filter.search) add(`prompt ilike ?`, `%${escapeLike(filter.search)}%`);
    if (filter.createdAfter) add('created_at >= ?', filter.createdAfter);
    if (filter.createdBefore) add('created_at < ?', filter.createdBefore);
    const direction = filter.oldestFirst ? 'asc' : 'desc';
    if (filter.after) add(`(created_at, id) ${filter.oldestFirst ? '>' : '<'} (?, ?)`, filter.after.createdAt, filter.after.id);
    params.push(filter.limit);
    return {
      sql: `select * from jobs ${where.length ? `where ${where.join(' and ')}` : ''} order by created_at ${direction}, id ${direction} limit ?`,
      params,
    };
  },

  stats(ownerId: string | null): Sql {
    return ownerId
      ? { sql: `select status, kind, count(*)::int as count from jobs where owner_id = ? group by status, kind`, params: [ownerId] }
      : { sql: `select status, kind, count(*)::int as count from jobs group by status, kind`, params: [] };
  },

  /** The job behind a ComfyUI prompt id (recorded on the job's input as it runs). */
  byComfyPrompt(promptId: string): Sql {
    return {
      sql: `select id from jobs where engine = 'comfyui' and input ->> 'promptId' = ? order by created_at desc limit 1`,
      params: [promptId],
    };
  },

  batchProgress(batchId: string): Sql {
    return {
      sql: `select status, count(*)::int as n, coalesce(sum(progress), 0)::int as progress, coalesce(sum(cost), 0)::float as cost
              from jobs where batch_id = ? group by status`,
      params: [batchId],
    };
  },
};
