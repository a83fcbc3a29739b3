import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { User } from './user.entity.ts';

const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    user: () => p.manyToOne(User).deleteRule('cascade').index(),
    name: p.string().length(128),
    /** Shown to people so they can tell keys apart; never enough to authenticate. */
    prefix: p.string().length(16),
    /** sha256 of the whole key: keys are random 256-bit secrets, so a slow hash buys nothing. */
    hash: p.string().length(64).unique().hidden(),
    scopes: p.json<string[]>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});

export class ApiKey extends ApiKeySchema.class {}
ApiKeySchema.setClass(ApiKey);
export { ApiKeySchema };
