import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ProjectPreset } from '../db/entities/project-preset.entity.ts';
import { SceneProfile } from '../db/entities/scene-profile.entity.ts';
import { flushUnique } from '../db/unique.flush.ts';
import { assertEditable } from './config-source.ts';
import { AppError, badInput, notFound } from './errors.ts';
import { isUuid, type Nullable, parseInput } from './validation.ts';

const sceneInput = z.object({
  name: z.string().trim().min(1).max(128),
  prompt: z.string().trim().min(1).max(4000),
  durationSeconds: z.number().positive().max(60, 'at most 60 seconds a scene'),
  projectId: z.uuid().nullish(),
});
export type SceneProfileInput = Nullable<z.input<typeof sceneInput>> & { name: string; prompt: string; durationSeconds: number };

/** One scene of a video request: spelled out, or citing a scene profile by name (or id), or both (the request wins). */
export interface SceneRequest {
  sceneProfileId?: string | null;
  prompt?: string | null;
  duration?: number | null;
}

/** Named scenes (the video platform's scene profiles): a video request cites them instead of repeating them. */
export class SceneProfileService {
  list = (em: EntityManager, projectId?: string | null) =>
    // A project by id or by name, as everywhere a preset is cited.
    em.find(SceneProfile, projectId ? { project: isUuid(projectId) ? projectId : { name: projectId } } : {}, { orderBy: { name: 'asc' }, populate: ['project'] });

  async get(em: EntityManager, id: string): Promise<SceneProfile> {
    const row = await em.findOne(SceneProfile, isUuid(id) ? { id } : { name: id }, { populate: ['project'] });
    if (!row) throw notFound('Scene profile', id);
    return row;
  }

  async save(em: EntityManager, raw: SceneProfileInput, id?: string): Promise<SceneProfile> {
    const input = parseInput(sceneInput, raw);
    const project = input.projectId ? await em.findOne(ProjectPreset, { id: input.projectId }) : null;
    if (input.projectId && !project) throw badInput(`Unknown project preset ${input.projectId}`, { field: 'projectId' });
    const values = { name: input.name, prompt: input.prompt, durationSeconds: input.durationSeconds, project };
    const row = id ? Object.assign(await this.editable(em, id), values) : em.create(SceneProfile, { ...values, source: null });
    await flushUnique(em, () => new AppError('CONFLICT', `A scene profile named "${input.name}" already exists`, { field: 'name' }));
    return row;
  }

  async delete(em: EntityManager, id: string): Promise<boolean> {
    await em.remove(await this.editable(em, id)).flush();
    return true;
  }

  private async editable(em: EntityManager, id: string): Promise<SceneProfile> {
    const row = await this.get(em, id);
    assertEditable(row.source, `Scene profile "${row.name}"`);
    return row;
  }

  /**
   * Turns cited scene profiles into the prompt and duration a video job renders. A scene names its profile
   * by name or id; what the request spells out itself (prompt, duration) overrides the profile's.
   */
  async resolve(em: EntityManager, scenes: SceneRequest[]): Promise<{ prompt: string; duration: number }[]> {
    const refs = [...new Set(scenes.flatMap((s) => (s.sceneProfileId ? [s.sceneProfileId] : [])))];
    const rows = refs.length
      ? await em.find(SceneProfile, { $or: [{ name: { $in: refs } }, { id: { $in: refs.filter(isUuid) } }] })
      : [];
    return scenes.map((scene, index) => {
      const ref = scene.sceneProfileId;
      const profile = ref ? rows.find((r) => r.id === ref || r.name === ref) : undefined;
      if (ref && !profile) throw badInput(`scenes.${index}: unknown scene profile "${ref}"`, { field: `scenes.${index}.sceneProfileId` });
      const prompt = scene.prompt ?? profile?.prompt;
      const duration = scene.duration ?? profile?.durationSeconds;
      if (!prompt || duration == null) {
        throw badInput(`scenes.${index}: give a prompt and a duration, or cite a scene profile`, { field: `scenes.${index}` });
      }
      return { prompt, duration: Number(duration) };
    });
  }
}
