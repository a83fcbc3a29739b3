import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { Job } from './job.entity.ts';
import { User } from './user.entity.ts';

export const ASSET_KINDS = ['IMAGE', 'VIDEO', 'AUDIO'] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

const AssetSchema = defineEntity({
  name: 'Asset',
  tableName: 'assets',
  indexes: [{ properties: ['owner', 'kind', 'createdAt'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    kind: p.enum(ASSET_KINDS),
    mime: p.string().length(128),
    bytes: p.bigint('number'),
    sha256: p.string().length(64),
    width: p.integer().nullable(),
    height: p.integer().nullable(),
    durationSeconds: p.double().nullable(),
    /** Path relative to the storage root; the storage backend decides where that is. */
    storageKey: p.string().length(512),
    owner: () => p.manyToOne(User).deleteRule('cascade').index(),
    job: () => p.manyToOne(Job).nullable().deleteRule('set null').index(),
    /** The name a client uploaded it under; generated files have none. */
    filename: p.string().length(255).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class Asset extends AssetSchema.class {}
AssetSchema.setClass(Asset);
export { AssetSchema };
