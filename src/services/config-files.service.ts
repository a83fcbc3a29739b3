import { watch as fsWatch } from 'node:fs';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { ConfigFileError, type ConfigSnapshot, readConfigDir, systemSettings } from '../config/config-files.ts';
import type { Orm } from '../db/orm.ts';
import { Character } from '../db/entities/character.entity.ts';
import { ProjectPreset } from '../db/entities/project-preset.entity.ts';
import { SceneProfile } from '../db/entities/scene-profile.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import type { AuthCache } from './auth.cache.ts';
import { isUuid } from './validation.ts';

export interface ApplyReport {
  users: number;
  presets: number;
  characters: number;
  scenes: number;
  /** Files that could not be applied in full, e.g. a user file naming no user. */
  warnings: string[];
}

type Settings = { quota?: Record<string, unknown>; quotaSource?: string } & Record<string, unknown>;

/**
 * Writes what CONFIG_DIR says into the database, marking each row with its file. Rows a file no longer
 * mentions are handed back to the API (their values kept, editable again) rather than deleted, so removing
 * a file never silently lifts a quota or breaks the jobs that cite a preset. One process at a time.
 */
export async function applyConfigSnapshot(
  em: EntityManager,
  snapshot: ConfigSnapshot,
  { owned = true }: { /** false: an import, rows become ordinary API-editable settings and nothing is released. */ owned?: boolean } = {},
): Promise<ApplyReport> {
  const source = (file: string) => (owned ? file : null);
  const release = owned ? releaseUnlisted : async () => undefined;
  return em.transactional(async (tx) => {
    await tx.execute(`select pg_advisory_xact_lock(hashtextextended('atelier-config-files', 0))`);
    const warnings: string[] = [];

    const users = await applyUsers(tx, snapshot, warnings, owned);

    const characters = new Map<string, Character>();
    for (const def of snapshot.characters) {
      const row = (await tx.findOne(Character, { name: def.name })) ?? tx.create(Character, { name: def.name, promptFragment: def.promptFragment });
      Object.assign(row, { promptFragment: def.promptFragment, negativeFragment: def.negativeFragment, seed: def.seed, source: source(def.source) });
      characters.set(def.name, row);
    }
    await release(tx, Character, snapshot.characters.map((c) => c.name));

    const presets = new Map<string, ProjectPreset>();
    for (const def of snapshot.presets) {
      const row = (await tx.findOne(ProjectPreset, { name: def.name }, { populate: ['characters'] })) ?? tx.create(ProjectPreset, { name: def.name });
      Object.assign(row, { style: def.style, defaultEngine: def.defaultEngine, source: source(def.source) });
      row.characters.set(def.characterNames.map((n) => characters.get(n)!));
      presets.set(def.name, row);
    }
    await release(tx, ProjectPreset, snapshot.presets.map((p) => p.name));

    for (const def of snapshot.scenes) {
      const row =
        (await tx.findOne(SceneProfile, { name: def.name })) ??
        tx.create(SceneProfile, { name: def.name, prompt: def.prompt, durationSeconds: def.durationSeconds });
      Object.assign(row, { prompt: def.prompt, durationSeconds: def.durationSeconds, project: def.project ? presets.get(def.project)! : null, source: source(def.source) });
    }
    await release(tx, SceneProfile, snapshot.scenes.map((s) => s.name));
    await tx.flush();
    return { users, presets: snapshot.presets.length, characters: snapshot.characters.length, scenes: snapshot.scenes.length, warnings };
  });
}

async function applyUsers(em: EntityManager, snapshot: ConfigSnapshot, warnings: string[], owned: boolean): Promise<number> {
  const claimed = new Set<string>();
  for (const def of snapshot.users) {
    const user = await em.findOne(User, isUuid(def.user) ? { $or: [{ id: def.user }, { username: def.user }] } : { username: def.user });
    if (!user) {
      warnings.push(`${def.source}: no user with id or username "${def.user}"; applied once the user exists and the file is read again`);
      continue;
    }
    if (claimed.has(user.id)) {
      warnings.push(`${def.source}: user "${def.user}" already has a file; this one is ignored`);
      continue;
    }
    claimed.add(user.id);
    const { quotaSource: _previous, ...settings } = (user.settings ?? {}) as Settings;
    user.settings = owned ? { ...settings, quota: { ...def.quota }, quotaSource: def.source } : { ...settings, quota: { ...def.quota } };
  }
  if (!owned) return claimed.size;
  // Users whose file is gone keep the limits it set, now editable over the API.
  const held = await em.find(User, { settings: { $ne: null } });
  for (const user of held) {
    const settings = user.settings as Settings;
    if (settings.quotaSource && !claimed.has(user.id)) {
      const { quotaSource: _gone, ...rest } = settings;
      user.settings = rest;
    }
  }
  return claimed.size;
}

async function releaseUnlisted(em: EntityManager, entity: typeof Character | typeof ProjectPreset | typeof SceneProfile, names: string[]) {
  await em.nativeUpdate(entity as typeof Character, names.length ? { source: { $ne: null }, name: { $nin: names } } : { source: { $ne: null } }, { source: null });
}

export interface ConfigFilesOptions {
  dir: string;
  orm: Orm;
  log: Logger;
  authCache?: AuthCache;
  /** Calls `onChange` whenever something under `dir` may have changed; returns a stop function. Default: fs.watch. */
  watch?: (dir: string, onChange: () => void) => () => void;
  /** What system_config.yaml said when the process started; a later change to it needs a restart. */
  startupSystem?: Record<string, string>;
}

const defaultWatch = (dir: string, onChange: () => void) => {
  let timer: NodeJS.Timeout | undefined;
  // Editors write a file in several steps (truncate, write, rename): one reload once they are done.
  const watcher = fsWatch(dir, { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, 200);
  });
  watcher.on('error', () => undefined);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
};

export interface ConfigFilesStatus {
  dir: string;
  loadedAt: Date | null;
  /** The last reload that failed, with file and line; the settings read before it stay in force. */
  lastError: string | null;
  warnings: string[];
  /** system_config.yaml settings changed since start that only a restart applies. */
  restartNeeded: string[];
}

/**
 * CONFIG_DIR while the process runs: applied at start (a bad file stops the start), then again whenever a
 * file changes. Quotas, presets and profiles apply at once; a changed system_config.yaml is logged as
 * needing a restart, since GPU ids, the model cache and storage are fixed when workers start.
 */
export class ConfigFilesService {
  private readonly options: ConfigFilesOptions;
  private stopWatching: (() => void) | null = null;
  private running: Promise<void> = Promise.resolve();
  readonly status: ConfigFilesStatus;

  constructor(options: ConfigFilesOptions) {
    this.options = options;
    this.status = { dir: options.dir, loadedAt: null, lastError: null, warnings: [], restartNeeded: [] };
  }

  /** Reads and applies every file; throws ConfigFileError (file and line) if one is bad. */
  async start(): Promise<ApplyReport> {
    const snapshot = readConfigDir(this.options.dir);
    const report = await this.apply(snapshot);
    this.options.startupSystem ??= systemSettings(snapshot.system);
    try {
      this.stopWatching = (this.options.watch ?? defaultWatch)(this.options.dir, () => void this.reload());
    } catch (error) {
      this.options.log.warn({ err: error }, 'cannot watch the configuration directory: changes to it apply at the next start');
    }
    return report;
  }

  /** Applies the files as they are now. A bad file is logged and kept as lastError; nothing changes. */
  reload(): Promise<void> {
    this.running = this.running.then(async () => {
      try {
        const snapshot = readConfigDir(this.options.dir);
        const report = await this.apply(snapshot);
        this.checkSystem(snapshot);
        this.status.lastError = null;
        this.options.log.info({ ...report }, 'configuration files applied');
      } catch (error) {
        this.status.lastError = error instanceof ConfigFileError ? error.message : `${(error as Error).message}`;
        this.options.log.error({ err: error }, `configuration files not applied: ${this.status.lastError}`);
      }
    });
    return this.running;
  }

  stop() {
    this.stopWatching?.();
    this.stopWatching = null;
  }

  private async apply(snapshot: ConfigSnapshot): Promise<ApplyReport> {
    const report = await applyConfigSnapshot(this.options.orm.em.fork(), snapshot);
    // Quotas live on user rows that every process caches: the new ones must reach them all now.
    await this.options.authCache?.changed({ all: true });
    for (const warning of report.warnings) this.options.log.warn(warning);
    Object.assign(this.status, { loadedAt: new Date(), warnings: report.warnings });
    return report;
  }

  private checkSystem(snapshot: ConfigSnapshot) {
    const before = this.options.startupSystem ?? {};
    const now = systemSettings(snapshot.system);
    const changed = [...new Set([...Object.keys(before), ...Object.keys(now)])].filter((key) => before[key] !== now[key]).sort();
    this.status.restartNeeded = changed;
    if (changed.length) this.options.log.warn({ settings: changed }, 'system_config.yaml changed: restart Atelier to apply it');
  }
}
