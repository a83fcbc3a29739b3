import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

export class EnvFileError extends Error {}

/**
 * Reads `.env` in the working directory (or the file ENV_FILE names) into `env`. Variables already set
 * win over the file. A missing default `.env` is fine; a missing ENV_FILE is a mistake worth stopping for.
 * Returns the file read, if any.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | null {
  const named = env.ENV_FILE?.trim();
  const file = path.resolve(cwd, named || '.env');
  if (!existsSync(file)) {
    if (named) throw new EnvFileError(`ENV_FILE ${file} does not exist`);
    return null;
  }
  let values: Record<string, string>;
  try {
    values = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (error) {
    throw new EnvFileError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  for (const [key, value] of Object.entries(values)) {
    if (env[key] === undefined) env[key] = value;
  }
  return file;
}
