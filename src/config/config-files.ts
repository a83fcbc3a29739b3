import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import type { EngineFamily } from '../queue/queue.names.ts';
import {
  characterProfilesFile,
  projectConfigFile,
  sceneProfilesFile,
  systemConfigFile,
  type SystemConfigFile,
  userConfigFile,
} from './config-files.schema.ts';

/** A file under CONFIG_DIR that cannot be used: where, and what is wrong. */
export class ConfigFileError extends Error {
  readonly file: string;
  readonly line: number | null;
  readonly problem: string;

  constructor(file: string, line: number | null, problem: string) {
    super(`${file}${line ? `:${line}` : ''}: ${problem}`);
    this.name = 'ConfigFileError';
    this.file = file;
    this.line = line;
    this.problem = problem;
  }
}

export interface CharacterDef {
  name: string;
  promptFragment: string;
  negativeFragment: string | null;
  seed: number | null;
  /** The file it comes from, relative to CONFIG_DIR. */
  source: string;
}

export interface SceneDef {
  name: string;
  prompt: string;
  durationSeconds: number;
  /** The project whose scene_profiles file defines it; null for the global scene_profiles.yaml. */
  project: string | null;
  source: string;
}

export interface PresetDef {
  name: string;
  style: string | null;
  defaultEngine: EngineFamily | null;
  characterNames: string[];
  source: string;
}

export interface UserQuotaDef {
  /** The file's name: a user id or a username. */
  user: string;
  quota: {
    imagesPerDay?: number;
    videosPerDay?: number;
    maxResolution?: string;
    maxDurationSeconds?: number;
    maxFrames?: number;
  };
  source: string;
}

/** Everything CONFIG_DIR says, read and checked, not yet applied. */
export interface ConfigSnapshot {
  dir: string;
  system: (SystemConfigFile & { source: string }) | null;
  users: UserQuotaDef[];
  presets: PresetDef[];
  characters: CharacterDef[];
  scenes: SceneDef[];
}

export const SYSTEM_FILE = 'system_config.yaml';
/** Profile files at the top of CONFIG_DIR hold profiles of no project in particular (and may be cited by one). */
export const GLOBAL_CHARACTERS_FILE = 'character_profiles.yaml';
export const GLOBAL_SCENES_FILE = 'scene_profiles.yaml';

/** CONFIG_DIR if set (it must exist), else ./configs when there is one, else none. */
export function resolveConfigDir(configured: string | undefined, cwd = process.cwd()): string | null {
  if (configured?.trim()) {
    const dir = path.resolve(cwd, configured.trim());
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigFileError(dir, null, 'CONFIG_DIR is not a directory');
    return dir;
  }
  const fallback = path.resolve(cwd, 'configs');
  return existsSync(fallback) && statSync(fallback).isDirectory() ? fallback : null;
}

/** Parses one YAML file and checks it against `schema`; any problem names the file and its line. */
export function readYamlFile<S extends z.ZodType>(dir: string, relative: string, schema: S): z.output<S> {
  const file = path.join(dir, relative);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigFileError(relative, null, `cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) throw new ConfigFileError(relative, lines.linePos(syntax.pos[0]).line, syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const at = issue.path.map(String);
  const keys: string[] = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [];
  const where = at.length ? `${at.join('.')}: ` : '';
  const message = keys.length ? `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  throw new ConfigFileError(relative, lineOf(doc, lines, issue.path as PropertyKey[], keys[0]), `${where}${message}`);
}

/** The line of the deepest node the path reaches (a missing key is reported at its parent). */
function lineOf(doc: Document, lines: LineCounter, at: PropertyKey[], key?: string): number | null {
  for (let depth = at.length; depth >= 0; depth--) {
    const node = (depth ? doc.getIn(at.slice(0, depth) as unknown[], true) : doc.contents) as { range?: [number, number, number] } | null;
    if (!node || typeof node !== 'object' || !node.range) continue;
    if (key && depth === at.length && isMap(node)) {
      const pair = node.items.find((item) => String((item.key as { value?: unknown })?.value) === key);
      const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
      if (range) return lines.linePos(range[0]).line;
    }
    return lines.linePos(node.range[0]).line;
  }
  return null;
}

const yamlFilesIn = (dir: string, sub: string) => {
  const folder = path.join(dir, sub);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((name) => /\.ya?ml$/.test(name) && !name.startsWith('.'))
    .sort()
    .map((name) => path.posix.join(sub, name));
};

const stem = (file: string) => path.basename(file).replace(/\.ya?ml$/, '');

/**
 * Reads the whole of CONFIG_DIR: system_config.yaml, users/*.yaml, projects/*.yaml and the profile files
 * the projects cite (paths relative to CONFIG_DIR), plus top-level character_profiles.yaml and
 * scene_profiles.yaml. A profile defined twice must be defined the same way both times.
 */
export function readConfigDir(dir: string): ConfigSnapshot {
  const snapshot: ConfigSnapshot = { dir, system: null, users: [], presets: [], characters: [], scenes: [] };
  if (existsSync(path.join(dir, SYSTEM_FILE))) snapshot.system = { ...readYamlFile(dir, SYSTEM_FILE, systemConfigFile), source: SYSTEM_FILE };

  for (const file of yamlFilesIn(dir, 'users')) {
    const parsed = readYamlFile(dir, file, userConfigFile);
    const quota = {
      imagesPerDay: parsed.quotas?.images_per_day,
      videosPerDay: parsed.quotas?.videos_per_day,
      maxResolution: parsed.quotas?.max_resolution,
      maxDurationSeconds: parsed.limits?.max_duration,
      maxFrames: parsed.limits?.max_frames,
    };
    snapshot.users.push({ user: stem(file), quota: Object.fromEntries(Object.entries(quota).filter(([, v]) => v !== undefined)), source: file });
  }

  const characters = new Map<string, CharacterDef>();
  const scenes = new Map<string, SceneDef>();
  const characterFiles = new Map<string, string[]>();
  const readCharacters = (file: string): string[] => {
    const known = characterFiles.get(file);
    if (known) return known;
    const parsed = readYamlFile(dir, file, characterProfilesFile);
    const names: string[] = [];
    for (const [name, c] of Object.entries(parsed.characters)) {
      const def: CharacterDef = { name, promptFragment: c.prompt, negativeFragment: c.negative_prompt ?? null, seed: c.seed ?? null, source: file };
      const earlier = characters.get(name);
      if (earlier && !sameProfile(earlier, def)) {
        throw new ConfigFileError(file, null, `character "${name}" is also defined, differently, in ${earlier.source}`);
      }
      if (!earlier) characters.set(name, def);
      names.push(name);
    }
    characterFiles.set(file, names);
    return names;
  };
  const sceneFiles = new Set<string>();
  const readScenes = (file: string, project: string | null) => {
    sceneFiles.add(file);
    const parsed = readYamlFile(dir, file, sceneProfilesFile);
    for (const [name, s] of Object.entries(parsed.scenes)) {
      const def: SceneDef = { name, prompt: s.prompt, durationSeconds: s.duration, project, source: file };
      const earlier = scenes.get(name);
      if (earlier && earlier.project !== project) {
        throw new ConfigFileError(file, null, `scene "${name}" is already a scene of ${earlier.project ? `project "${earlier.project}"` : 'no project'} (${earlier.source})`);
      }
      if (earlier && !sameProfile(earlier, def)) throw new ConfigFileError(file, null, `scene "${name}" is also defined, differently, in ${earlier.source}`);
      scenes.set(name, def);
    }
  };
  const cited = (project: string, key: string, file: string) => {
    if (!existsSync(path.join(dir, file))) throw new ConfigFileError(project, null, `${key}: ${file} does not exist in the configuration directory`);
    return file;
  };

  for (const file of yamlFilesIn(dir, 'projects')) {
    const parsed = readYamlFile(dir, file, projectConfigFile);
    const name = stem(file);
    const characterNames = parsed.character_profiles ? readCharacters(cited(file, 'character_profiles', parsed.character_profiles)) : [];
    if (parsed.scene_profiles) readScenes(cited(file, 'scene_profiles', parsed.scene_profiles), name);
    snapshot.presets.push({ name, style: parsed.style ?? null, defaultEngine: parsed.default_engine ?? null, characterNames, source: file });
  }
  if (existsSync(path.join(dir, GLOBAL_CHARACTERS_FILE))) readCharacters(GLOBAL_CHARACTERS_FILE);
  if (existsSync(path.join(dir, GLOBAL_SCENES_FILE)) && !sceneFiles.has(GLOBAL_SCENES_FILE)) readScenes(GLOBAL_SCENES_FILE, null);

  snapshot.characters = [...characters.values()];
  snapshot.scenes = [...scenes.values()];
  return snapshot;
}

const sameProfile = (a: object, b: object) => {
  const strip = ({ source: _s, ...rest }: Record<string, unknown>) => JSON.stringify(rest);
  return strip(a as Record<string, unknown>) === strip(b as Record<string, unknown>);
};

/**
 * system_config.yaml as environment settings, for the keys the environment does not set itself:
 * explicit environment variables win over the file, as they win over `.env`.
 */
export function systemSettings(system: SystemConfigFile | null): Record<string, string> {
  if (!system) return {};
  const out: Record<string, string> = {};
  const pool = system.gpu_pool;
  if (pool) {
    if (!pool.enabled) out.ONNX_EXECUTION_PROVIDER = 'cpu';
    else if (pool.gpu_ids) out.GPU_IDS = pool.gpu_ids.join(',');
    if (pool.max_concurrent) {
      // The document's max_concurrent counts jobs across the pool; the pool's own limit is per device.
      out.WORKER_CONCURRENCY = String(pool.max_concurrent);
      const devices = pool.enabled && pool.gpu_ids ? pool.gpu_ids.length : 1;
      out.MAX_CONCURRENT_PER_GPU = String(Math.max(1, Math.ceil(pool.max_concurrent / devices)));
    }
  }
  const cache = system.model_cache;
  if (cache) {
    // A disabled cache keeps no idle model: only sessions in use stay loaded.
    if (!cache.enabled) out.MODEL_CACHE_MAX_GB = '1e-9';
    else if (cache.max_size_gb) out.MODEL_CACHE_MAX_GB = String(cache.max_size_gb);
  }
  if (system.storage?.base_path) out.STORAGE_DIR = system.storage.base_path;
  return out;
}
