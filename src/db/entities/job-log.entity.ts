import { defineEntity, p } from '@mikro-orm/core';
import { Job } from './job.entity.ts';

export const JOB_LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type JobLogLevel = (typeof JOB_LOG_LEVELS)[number];

/** One line a worker wrote while running a job; kept after the job ends. */
const JobLogSchema = defineEntity({
  name: 'JobLog',
  tableName: 'job_logs',
  indexes: [{ properties: ['job', 'id'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    job: () => p.manyToOne(Job).deleteRule('cascade'),
    at: p.datetime().onCreate(() => new Date()),
    level: p.enum(JOB_LOG_LEVELS),
    message: p.text(),
  },
});

export class JobLog extends JobLogSchema.class {}
JobLogSchema.setClass(JobLog);
export { JobLogSchema };
