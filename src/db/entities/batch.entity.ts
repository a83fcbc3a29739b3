import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { User } from './user.entity.ts';

/** A group of jobs submitted together; its status and counts are aggregated from its jobs. */
const BatchSchema = defineEntity({
  name: 'Batch',
  tableName: 'batches',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    owner: () => p.manyToOne(User).deleteRule('cascade').index(),
    priority: p.integer().default(5),
    metadata: p.json<Record<string, unknown>>().nullable(),
    total: p.integer(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class Batch extends BatchSchema.class {}
BatchSchema.setClass(Batch);
export { BatchSchema };
