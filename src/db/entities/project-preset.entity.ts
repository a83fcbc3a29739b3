import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { Character } from './character.entity.ts';

/** A project's defaults: its style, its engine and its cast of characters. */
const ProjectPresetSchema = defineEntity({
  name: 'ProjectPreset',
  tableName: 'project_presets',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    name: p.string().length(128).unique(),
    style: p.string().length(128).nullable(),
    defaultEngine: p.string().length(64).nullable(),
    characters: () => p.manyToMany(Character),
    /** The configuration file it comes from (read-only over the API while it does); null: set over the API. */
    source: p.string().length(512).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class ProjectPreset extends ProjectPresetSchema.class {}
ProjectPresetSchema.setClass(ProjectPreset);
export { ProjectPresetSchema };
