import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

export interface CliSettings {
  url: string;
  token: string | null;
}

export const DEFAULT_URL = 'http://127.0.0.1:4000';

/** The user's config directory, as each platform keeps one (XDG on Linux). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32' && env.APPDATA) return path.join(env.APPDATA, 'atelier');
  return path.join(env.XDG_CONFIG_HOME || path.join(homedir(), '.config'), 'atelier');
}

const configFile = (env: NodeJS.ProcessEnv) => path.join(configDir(env), 'config.json');

async function readStored(env: NodeJS.ProcessEnv): Promise<Partial<CliSettings>> {
  try {
    return JSON.parse(await readFile(configFile(env), 'utf8')) as Partial<CliSettings>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`${configFile(env)} is not readable JSON; delete it and run ./atelier login again`);
  }
}

/** ATELIER_URL and ATELIER_TOKEN win over what `login` stored. */
export async function loadSettings(env: NodeJS.ProcessEnv = process.env): Promise<CliSettings> {
  const stored = await readStored(env);
  return {
    url: (env.ATELIER_URL || stored.url || DEFAULT_URL).replace(/\/+$/, ''),
    token: env.ATELIER_TOKEN || stored.token || null,
  };
}

/** Written readable by the user only: it holds a credential. */
export async function saveSettings(settings: CliSettings, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = configFile(env);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(settings, null, 2) + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

export async function forgetSettings(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await rm(configFile(env), { force: true });
}
