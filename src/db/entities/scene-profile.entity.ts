import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { ProjectPreset } from './project-preset.entity.ts';

/** A named scene (prompt and duration) that a video request cites by its name instead of spelling it out. */
const SceneProfileSchema = defineEntity({
  name: 'SceneProfile',
  tableName: 'scene_profiles',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    name: p.string().length(128).unique(),
    prompt: p.text(),
    durationSeconds: p.double(),
    project: () => p.manyToOne(ProjectPreset).nullable().deleteRule('cascade').index(),
    /** The configuration file it comes from (read-only over the API while it does); null: set over the API. */
    source: p.string().length(512).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class SceneProfile extends SceneProfileSchema.class {}
SceneProfileSchema.setClass(SceneProfile);
export { SceneProfileSchema };
