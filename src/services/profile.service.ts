import type { EntityManager } from '@mikro-orm/postgresql';
import { flushUnique } from '../db/unique.flush.ts';
import { z } from 'zod';
import { Asset } from '../db/entities/asset.entity.ts';
import { Character } from '../db/entities/character.entity.ts';
import { ProjectPreset } from '../db/entities/project-preset.entity.ts';
import { assertEditable } from './config-source.ts';
import { type EngineAlias, DEFAULT_ENGINE_ALIASES, resolveEngine } from './engine-aliases.ts';
import { AppError, badInput, notFound } from './errors.ts';
import { MAX_SEED } from './generation.inputs.ts';
import { isUuid, type Nullable, parseInput } from './validation.ts';

const name = z.string().trim().min(1).max(128);

const characterInput = z.object({
  name,
  promptFragment: z.string().trim().min(1).max(2000),
  negativeFragment: z.string().trim().max(2000).nullish(),
  referenceImageId: z.uuid().nullish(),
  seed: z.number().int().min(0).max(MAX_SEED).nullish(),
});
export type CharacterInput = Nullable<z.input<typeof characterInput>> & { name: string; promptFragment: string };

const presetInput = z.object({
  name,
  style: z.string().trim().min(1).max(128).nullish(),
  defaultEngine: z.string().trim().min(1).max(64).nullish(),
  characterIds: z.array(z.uuid()).max(100).nullish(),
});
export type PresetInput = Nullable<z.input<typeof presetInput>> & { name: string };

/** What a request says about profiles, and what it becomes once they are applied. */
export interface ProfiledRequest {
  prompt: string;
  negativePrompt?: string | null;
  seed?: number | null;
  style?: string | null;
  characterId?: string | null;
  projectId?: string | null;
}

const joinText = (...parts: (string | null | undefined)[]) => parts.filter((p) => p && p.trim()).join(', ') || null;

const nameTaken = (what: string, value: string) => () => new AppError('CONFLICT', `A ${what} named "${value}" already exists`, { field: 'name' });

/** Character profiles and project presets (the video platform's), and how they shape a request. */
export class ProfileService {
  private readonly aliases: Readonly<Record<string, EngineAlias>>;

  constructor(aliases: Readonly<Record<string, EngineAlias>> = DEFAULT_ENGINE_ALIASES) {
    this.aliases = aliases;
  }

  /** The engine a preset's default_engine names (a family, or a document's name such as "instantid"). */
  engineAlias(name: string): EngineAlias | null {
    return resolveEngine(name, this.aliases);
  }

  listCharacters = (em: EntityManager) => em.find(Character, {}, { orderBy: { name: 'asc' } });
  listPresets = (em: EntityManager) => em.find(ProjectPreset, {}, { orderBy: { name: 'asc' }, populate: ['characters'] });

  async getCharacter(em: EntityManager, id: string): Promise<Character> {
    const row = await em.findOne(Character, isUuid(id) ? { id } : { name: id });
    if (!row) throw notFound('Character', id);
    return row;
  }

  /** A character named by id or by its unique name (the REST documents name characters, e.g. "hanli"). */
  async characterIdOf(em: EntityManager, ref: string): Promise<string> {
    if (isUuid(ref)) return ref;
    const row = await em.findOne(Character, { name: ref });
    if (!row) throw badInput(`Unknown character "${ref}"`, { field: 'characterId' });
    return row.id;
  }

  /** A preset named by id or by its unique name (a project file's name, e.g. "xianxia_novel"). */
  async presetIdOf(em: EntityManager, ref: string): Promise<string> {
    if (isUuid(ref)) return ref;
    const row = await em.findOne(ProjectPreset, { name: ref });
    if (!row) throw badInput(`Unknown project "${ref}"`, { field: 'projectId' });
    return row.id;
  }

  private async editable<T extends Character | ProjectPreset>(row: Promise<T>): Promise<T> {
    const found = await row;
    assertEditable(found.source, `${found instanceof Character ? 'Character' : 'Project preset'} "${found.name}"`);
    return found;
  }

  async getPreset(em: EntityManager, id: string): Promise<ProjectPreset> {
    const row = await em.findOne(ProjectPreset, isUuid(id) ? { id } : { name: id }, { populate: ['characters'] });
    if (!row) throw notFound('Project preset', id);
    return row;
  }

  async saveCharacter(em: EntityManager, raw: CharacterInput, id?: string): Promise<Character> {
    const input = parseInput(characterInput, raw);
    const referenceImage = input.referenceImageId ? await em.findOne(Asset, { id: input.referenceImageId, kind: 'IMAGE' }) : null;
    if (input.referenceImageId && !referenceImage) throw badInput(`No image asset ${input.referenceImageId}`, { field: 'referenceImageId' });
    const values = {
      name: input.name,
      promptFragment: input.promptFragment,
      negativeFragment: input.negativeFragment ?? null,
      referenceImage,
      seed: input.seed ?? null,
    };
    const row = id ? Object.assign(await this.editable(this.getCharacter(em, id)), values) : em.create(Character, values);
    await flushUnique(em, nameTaken('character', input.name));
    return row;
  }

  async savePreset(em: EntityManager, raw: PresetInput, id?: string): Promise<ProjectPreset> {
    const input = parseInput(presetInput, raw);
    const characters = input.characterIds?.length ? await em.find(Character, { id: { $in: input.characterIds } }) : [];
    const missing = (input.characterIds ?? []).filter((cid) => !characters.some((c) => c.id === cid));
    if (missing.length) throw badInput(`Unknown character(s): ${missing.join(', ')}`, { field: 'characterIds' });
    if (input.defaultEngine && !this.engineAlias(input.defaultEngine)) {
      const known = ['builtin', 'onnx', 'comfyui', 'provider', ...Object.keys(this.aliases)].join(', ');
      throw badInput(`Unknown engine "${input.defaultEngine}". Known: ${known} (more through ENGINE_ALIASES)`, { field: 'defaultEngine' });
    }
    const values = { name: input.name, style: input.style ?? null, defaultEngine: input.defaultEngine ?? null };
    const row = id ? Object.assign(await this.editable(this.getPreset(em, id)), values) : em.create(ProjectPreset, values);
    row.characters.set(characters);
    await flushUnique(em, nameTaken('project preset', input.name));
    return row;
  }

  async deleteCharacter(em: EntityManager, id: string): Promise<boolean> {
    await em.remove(await this.editable(this.getCharacter(em, id))).flush();
    return true;
  }

  async deletePreset(em: EntityManager, id: string): Promise<boolean> {
    await em.remove(await this.editable(this.getPreset(em, id))).flush();
    return true;
  }

  /**
   * Applies a character (prompt and negative fragments, seed) and a project preset (style, default engine, and
   * the alias behind it: the workflow or model pack the engine runs). An id that names nothing is the caller's
   * mistake, reported on that field.
   */
  async apply<T extends ProfiledRequest>(em: EntityManager, request: T): Promise<T & { engine: string | null; alias: EngineAlias | null }> {
    const out = { ...request, engine: null as string | null, alias: null as EngineAlias | null };
    if (request.characterId) {
      const character = await em.findOne(Character, isUuid(request.characterId) ? { id: request.characterId } : { name: request.characterId });
      if (!character) throw badInput(`Unknown characterId ${request.characterId}`, { field: 'characterId' });
      out.prompt = joinText(character.promptFragment, request.prompt)!;
      out.negativePrompt = joinText(request.negativePrompt, character.negativeFragment);
      out.seed = request.seed ?? character.seed ?? null;
    }
    if (request.projectId) {
      const preset = await em.findOne(ProjectPreset, isUuid(request.projectId) ? { id: request.projectId } : { name: request.projectId });
      if (!preset) throw badInput(`Unknown projectId ${request.projectId}`, { field: 'projectId' });
      out.style = request.style ?? preset.style ?? null;
      // A document's engine name ("instantid") runs on the family its alias names; one saved before the
      // alias table existed and matching nothing is passed on, and refused there with the known names.
      out.alias = preset.defaultEngine ? this.engineAlias(preset.defaultEngine) : null;
      out.engine = out.alias?.engine ?? preset.defaultEngine ?? null;
    }
    return out;
  }
}
