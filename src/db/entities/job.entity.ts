import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { User } from './user.entity.ts';

export const JOB_KINDS = ['IMAGE', 'VIDEO', 'SPEECH', 'TALKING_HEAD'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATUSES = ['QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINAL_JOB_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export interface JobResult {
  assetIds: string[];
  urls: string[];
  [key: string]: unknown;
}

const JobSchema = defineEntity({
  name: 'Job',
  tableName: 'jobs',
  indexes: [{ properties: ['owner', 'createdAt'] }, { properties: ['status', 'createdAt'] }],
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
  },
});

export class Job extends JobSchema.class {}
JobSchema.setClass(Job);
export { JobSchema };
