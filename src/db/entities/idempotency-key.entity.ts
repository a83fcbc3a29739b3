import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { User } from './user.entity.ts';

/**
 * A client's Idempotency-Key: the request it first came with (as a fingerprint) and what that request made.
 * The unique (owner, key) pair is what makes two concurrent submits of one key create one job.
 */
const IdempotencyKeySchema = defineEntity({
  name: 'IdempotencyKey',
  tableName: 'idempotency_keys',
  uniques: [{ properties: ['owner', 'key'] }],
  indexes: [{ properties: ['createdAt'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    owner: () => p.manyToOne(User).deleteRule('cascade'),
    key: p.string().length(255),
    fingerprint: p.string().length(64),
    /** 'job' or 'batch'; null while the first request is still creating it. */
    resourceType: p.string().length(16).nullable(),
    resourceId: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class IdempotencyKey extends IdempotencyKeySchema.class {}
IdempotencyKeySchema.setClass(IdempotencyKey);
export { IdempotencyKeySchema };
