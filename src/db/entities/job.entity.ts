import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { Batch } from './batch.entity.ts';
import { User } from './user.entity.ts';

export const JOB_KINDS = ['IMAGE', 'VIDEO', 'SPEECH', 'TALKING_HEAD', 'WORKFLOW'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATUSES = ['QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINAL_JOB_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export interface JobResult {
  assetIds: string[];
  urls: string[];
  [key: string]: unknown;
}

export interface AttemptWorker {
  attempt: number;
  worker: string;
  at: string;
}

const JobSchema = defineEntity({
  name: 'Job',
  tableName: 'jobs',
  indexes: [
    { properties: ['status', 'createdAt'] },
    { properties: ['kind', 'createdAt'] },
    { properties: ['workerId', 'status'] },
    // Created by migration (needs pg_trgm); declared so schema diffs keep it.
    { name: 'jobs_prompt_trgm_index', expression: 'create index "jobs_prompt_trgm_index" on "jobs" using gin ("prompt" gin_trgm_ops)' },
    // The hot queries of src/jobs/jobs.query.ts (keyset pages carry the id; see Migration20261127160000_job_indexes).
    { name: 'jobs_owner_created_id_index', expression: 'create index "jobs_owner_created_id_index" on "jobs" ("owner_id", "created_at", "id")' },
    { name: 'jobs_created_id_index', expression: 'create index "jobs_created_id_index" on "jobs" ("created_at", "id")' },
    {
      name: 'jobs_owner_status_created_index',
      expression: 'create index "jobs_owner_status_created_index" on "jobs" ("owner_id", "status", "created_at", "id")',
    },
    { name: 'jobs_owner_kind_created_index', expression: 'create index "jobs_owner_kind_created_index" on "jobs" ("owner_id", "kind", "created_at", "id")' },
    { name: 'jobs_status_kind_index', expression: 'create index "jobs_status_kind_index" on "jobs" ("status", "kind")' },
    {
      name: 'jobs_comfy_prompt_index',
      expression: `create index "jobs_comfy_prompt_index" on "jobs" ((input ->> 'promptId')) where engine = 'comfyui'`,
    },
  ],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    kind: p.enum(JOB_KINDS),
    status: p.enum(JOB_STATUSES).default('QUEUED'),
    progress: p.integer().default(0),
    statusMessage: p.text().nullable(),
    input: p.json<Record<string, unknown>>(),
    result: p.json<JobResult>().nullable(),
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    priority: p.integer().default(5),
    engine: p.string().length(64).nullable(),
    cost: p.decimal('number').precision(12).scale(6).default(0),
    owner: () => p.manyToOne(User).deleteRule('cascade'),
    createdAt: p.datetime().onCreate(() => new Date()),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    /** The prompt, copied out of `input` so history search can use a trigram index. */
    prompt: p.text().nullable(),
    batch: () => p.manyToOne(Batch).nullable().deleteRule('set null').index(),
    timeoutSeconds: p.integer().default(300),
    /** Bumped by each retry; part of the queue job id so a retry is a new queue entry. */
    attempt: p.integer().default(0),
    /** Wall time of each reported step, in order. */
    stepDurationsMs: p.json<number[]>().nullable(),
    /** The worker (`host:pid`) that took the job last; with attemptWorkers, every run of every attempt. */
    workerId: p.string().length(255).nullable(),
    attemptWorkers: p.json<AttemptWorker[]>().nullable(),
  },
});

export class Job extends JobSchema.class {}
JobSchema.setClass(Job);
export { JobSchema };
