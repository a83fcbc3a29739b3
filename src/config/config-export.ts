import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { stringify } from 'yaml';
import { Character } from '../db/entities/character.entity.ts';
import { ProjectPreset } from '../db/entities/project-preset.entity.ts';
import { SceneProfile } from '../db/entities/scene-profile.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import type { Config } from './config.ts';
import { GLOBAL_CHARACTERS_FILE, GLOBAL_SCENES_FILE, SYSTEM_FILE } from './config-files.ts';

export class ConfigExportError extends Error {}

const SAFE_NAME = /^[\w.-]+$/;

const characterEntry = (c: Character) => ({
  prompt: c.promptFragment,
  ...(c.negativeFragment ? { negative_prompt: c.negativeFragment } : {}),
  ...(c.seed != null ? { seed: c.seed } : {}),
});

const sceneEntry = (s: SceneProfile) => ({ prompt: s.prompt, duration: Number(s.durationSeconds) });

const byName = <T extends { name: string }>(rows: T[]) => [...rows].sort((a, b) => a.name.localeCompare(b.name));

/** What system_config.yaml would say to give this process's settings. */
export function systemConfigOf(config: Config) {
  const cpuOnly = config.ONNX_EXECUTION_PROVIDER === 'cpu';
  return {
    gpu_pool: {
      enabled: !cpuOnly,
      max_concurrent: config.WORKER_CONCURRENCY,
      ...(config.GPU_IDS && !cpuOnly ? { gpu_ids: config.GPU_IDS.split(',').map((id) => Number(id.trim())) } : {}),
    },
    model_cache: { enabled: true, max_size_gb: config.MODEL_CACHE_MAX_GB },
    storage: { type: 'local', base_path: config.storageDir },
  };
}

/**
 * Writes the database's quotas, presets and profiles (and this process's system settings) as a CONFIG_DIR in
 * the video platform's layout: users/<username>.yaml, projects/<preset>.yaml citing
 * profiles/<preset>/character_profiles.yaml and scene_profiles.yaml, and top-level character_profiles.yaml /
 * scene_profiles.yaml for profiles of no project. Importing it gives the same settings back.
 */
export async function exportConfig(em: EntityManager, config: Config, dir: string): Promise<string[]> {
  if (existsSync(dir) && readdirSync(dir).length) throw new ConfigExportError(`${dir} is not empty; export into a new or empty directory`);
  const files = new Map<string, unknown>();
  files.set(SYSTEM_FILE, systemConfigOf(config));

  const users = await em.find(User, { settings: { $ne: null } }, { orderBy: { username: 'asc' } });
  for (const user of users) {
    const quota = (user.settings as { quota?: Record<string, unknown> }).quota;
    if (!quota || !Object.values(quota).some((v) => v != null)) continue;
    const quotas = { images_per_day: quota.imagesPerDay, videos_per_day: quota.videosPerDay, max_resolution: quota.maxResolution };
    const limits = { max_duration: quota.maxDurationSeconds, max_frames: quota.maxFrames };
    const present = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v != null));
    const doc = { quotas: present(quotas), limits: present(limits) };
    files.set(`users/${safe(user.username, 'username')}.yaml`, Object.fromEntries(Object.entries(doc).filter(([, v]) => Object.keys(v).length)));
  }

  const presets = byName(await em.find(ProjectPreset, {}, { populate: ['characters'] }));
  const scenes = byName(await em.find(SceneProfile, {}, { populate: ['project'] }));
  const characters = byName(await em.find(Character, {}));
  const inSomePreset = new Set<string>();
  for (const preset of presets) {
    const name = safe(preset.name, 'project preset name');
    const cast = byName(preset.characters.getItems());
    const own = scenes.filter((s) => s.project?.id === preset.id);
    const project: Record<string, unknown> = {};
    if (cast.length) {
      project.character_profiles = `profiles/${name}/character_profiles.yaml`;
      files.set(project.character_profiles as string, { characters: Object.fromEntries(cast.map((c) => [c.name, characterEntry(c)])) });
      for (const c of cast) inSomePreset.add(c.id);
    }
    if (own.length) {
      project.scene_profiles = `profiles/${name}/scene_profiles.yaml`;
      files.set(project.scene_profiles as string, { scenes: Object.fromEntries(own.map((s) => [s.name, sceneEntry(s)])) });
    }
    if (preset.style) project.style = preset.style;
    if (preset.defaultEngine) project.default_engine = preset.defaultEngine;
    files.set(`projects/${name}.yaml`, project);
  }
  const loose = characters.filter((c) => !inSomePreset.has(c.id));
  if (loose.length) files.set(GLOBAL_CHARACTERS_FILE, { characters: Object.fromEntries(loose.map((c) => [c.name, characterEntry(c)])) });
  const unbound = scenes.filter((s) => !s.project);
  if (unbound.length) files.set(GLOBAL_SCENES_FILE, { scenes: Object.fromEntries(unbound.map((s) => [s.name, sceneEntry(s)])) });

  for (const [file, content] of files) {
    const target = path.join(dir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, stringify(content, { lineWidth: 0 }));
  }
  return [...files.keys()];
}

function safe(name: string, what: string): string {
  if (!SAFE_NAME.test(name)) throw new ConfigExportError(`Cannot export ${what} "${name}" as a file name: use letters, digits, "_", "-" and "." only`);
  return name;
}
