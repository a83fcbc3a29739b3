import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { Asset } from './asset.entity.ts';

/** A recurring character: its prompt fragments and seed are applied to requests that name it. */
const CharacterSchema = defineEntity({
  name: 'Character',
  tableName: 'characters',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    name: p.string().length(128).unique(),
    promptFragment: p.text(),
    negativeFragment: p.text().nullable(),
    referenceImage: () => p.manyToOne(Asset).nullable().deleteRule('set null'),
    seed: p.integer().nullable(),
    /** The configuration file it comes from (read-only over the API while it does); null: set over the API. */
    source: p.string().length(512).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class Character extends CharacterSchema.class {}
CharacterSchema.setClass(Character);
export { CharacterSchema };
