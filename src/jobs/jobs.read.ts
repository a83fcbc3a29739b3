import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { Batch } from '../db/entities/batch.entity.ts';
import { FINAL_JOB_STATUSES, JOB_KINDS, JOB_STATUSES, Job, type JobKind, type JobStatus } from '../db/entities/job.entity.ts';
import { JobLog } from '../db/entities/job-log.entity.ts';
import { type Actor, canSeeOwnedBy, isAdmin } from '../services/actor.ts';
import { forbidden, notFound } from '../services/errors.ts';
import { parsePageArgs, toPage, type Page, type PageArgs } from '../services/pagination.ts';
import { isUuid, parseInput } from '../services/validation.ts';
import { jobQueries, type QueueInfo, type QueueInfoReader } from './jobs.query.ts';
import { toJob } from './jobs.repository.ts';

export interface JobFilter extends PageArgs {
  status?: JobStatus | null;
  kind?: JobKind | null;
  engine?: string | null;
  search?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  order?: 'NEWEST' | 'OLDEST' | null;
  batchId?: string | null;
}

const jobFilter = z.object({
  status: z.enum(JOB_STATUSES).nullish(),
  kind: z.enum(JOB_KINDS).nullish(),
  engine: z.string().trim().min(1).max(64).nullish(),
  search: z.string().trim().min(1).max(200).nullish(),
  createdAfter: z.date().nullish(),
  createdBefore: z.date().nullish(),
  order: z.enum(['NEWEST', 'OLDEST']).nullish(),
  batchId: z.uuid().nullish(),
});

export interface JobStats {
  total: number;
  byStatus: { status: JobStatus; count: number }[];
  byKind: { kind: JobKind; count: number }[];
}

export interface BatchProgress {
  batchId: string;
  status: 'QUEUED' | 'PROCESSING' | 'COMPLETED' | 'COMPLETED_WITH_ERRORS' | 'FAILED';
  total: number;
  queued: number;
  processing: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Mean progress of the batch's jobs, a finished job counting 100. */
  progress: number;
  cost: number;
}

export const isFinalStatus = (status: JobStatus) => FINAL_JOB_STATUSES.includes(status);

/** What a caller may read of jobs and batches: each read is one indexed statement (jobs.query.ts) or one key. */
export class JobReader {
  private readonly queueInfoReader: QueueInfoReader | undefined;

  constructor(deps: { queueInfo?: QueueInfoReader }) {
    this.queueInfoReader = deps.queueInfo;
  }

  async getJob(em: EntityManager, actor: Actor, id: string): Promise<Job> {
    const job = isUuid(id) ? await em.findOne(Job, { id }) : null;
    if (!job) throw notFound('Job', id);
    if (!canSeeOwnedBy(actor, job.owner.id)) throw forbidden(`Job ${id} belongs to another user`);
    return job;
  }

  async listJobs(em: EntityManager, actor: Actor, args: JobFilter): Promise<Page<Job>> {
    const { limit, after } = parsePageArgs(args);
    const filter = parseInput(jobFilter, args);
    const query = jobQueries.list({ ...filter, ownerId: isAdmin(actor) ? null : actor.userId, oldestFirst: filter.order === 'OLDEST', after, limit: limit + 1 });
    const rows = (await em.execute<Record<string, unknown>[]>(query.sql, query.params)).map((row) => toJob(em, row));
    return toPage(rows, limit, after !== null);
  }

  async stats(em: EntityManager, actor: Actor, everyone: boolean): Promise<JobStats> {
    if (everyone && !isAdmin(actor)) throw forbidden('Only admins can see everyone’s statistics');
    const query = jobQueries.stats(everyone ? null : actor.userId);
    const rows = await em.execute<{ status: JobStatus; kind: JobKind; count: number }[]>(query.sql, query.params);
    const sum = <K extends string>(key: (r: (typeof rows)[number]) => K, keys: readonly K[]) =>
      keys.map((k) => ({ key: k, count: rows.filter((r) => key(r) === k).reduce((s, r) => s + Number(r.count), 0) }));
    return {
      total: rows.reduce((s, r) => s + Number(r.count), 0),
      byStatus: sum((r) => r.status, JOB_STATUSES).map(({ key, count }) => ({ status: key, count })),
      byKind: sum((r) => r.kind, JOB_KINDS).map(({ key, count }) => ({ kind: key, count })),
    };
  }

  async jobLogs(em: EntityManager, actor: Actor, id: string): Promise<JobLog[]> {
    await this.getJob(em, actor, id);
    return em.find(JobLog, { job: id }, { orderBy: { id: 'asc' } });
  }

  /** Where a queued job stands, and when a job should finish: read from BullMQ and Redis, never from `jobs`. */
  async queueInfo(job: Job): Promise<QueueInfo> {
    if (!this.queueInfoReader || isFinalStatus(job.status)) return { queuePosition: null, etaSeconds: null };
    return this.queueInfoReader.read(job).catch(() => ({ queuePosition: null, etaSeconds: null }));
  }

  async getBatch(em: EntityManager, actor: Actor, id: string): Promise<Batch> {
    const batch = isUuid(id) ? await em.findOne(Batch, { id }) : null;
    if (!batch) throw notFound('Batch', id);
    if (!canSeeOwnedBy(actor, batch.owner.id)) throw forbidden(`Batch ${id} belongs to another user`);
    return batch;
  }

  async batchProgress(em: EntityManager, batch: Batch): Promise<BatchProgress> {
    const query = jobQueries.batchProgress(batch.id);
    const rows = await em.execute<{ status: JobStatus; n: number; progress: number; cost: number }[]>(query.sql, query.params);
    const count = (status: JobStatus) => rows.find((r) => r.status === status)?.n ?? 0;
    const counts = {
      queued: count('QUEUED'),
      processing: count('PROCESSING'),
      completed: count('COMPLETED'),
      failed: count('FAILED'),
      cancelled: count('CANCELLED'),
    };
    const finished = counts.completed + counts.failed + counts.cancelled;
    const progressSum = rows.reduce((sum, r) => sum + (isFinalStatus(r.status) ? 100 * r.n : r.progress), 0);
    const status: BatchProgress['status'] =
      finished === batch.total
        ? counts.completed === batch.total
          ? 'COMPLETED'
          : counts.completed > 0
            ? 'COMPLETED_WITH_ERRORS'
            : 'FAILED'
        : counts.queued === batch.total
          ? 'QUEUED'
          : 'PROCESSING';
    return {
      batchId: batch.id,
      status,
      total: batch.total,
      ...counts,
      progress: batch.total ? Math.floor(progressSum / batch.total) : 100,
      cost: rows.reduce((sum, r) => sum + Number(r.cost), 0),
    };
  }
}
