import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Temp directories of a service process start with this, so what a killed process left can be found by its pid. */
export function tempPrefix(pid: number): string {
  return `atelier-${pid}-`;
}

/**
 * Removes what a killed process left behind: its temp directories and the half-written `.partial` files in
 * storage (LocalStorage names them `<key>.<pid>-<uuid>.partial`). Finished assets are never touched.
 */
export async function removeLeftovers(pid: number, storageDir: string): Promise<{ tempDirs: number; partials: number }> {
  let tempDirs = 0;
  const prefix = tempPrefix(pid);
  for (const entry of await readdir(tmpdir()).catch(() => [] as string[])) {
    if (!entry.startsWith(prefix)) continue;
    await rm(path.join(tmpdir(), entry), { recursive: true, force: true });
    tempDirs++;
  }
  let partials = 0;
  const marker = `.${pid}-`;
  const entries = await readdir(storageDir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.partial') || !entry.name.includes(marker)) continue;
    await rm(path.join(entry.parentPath, entry.name), { force: true });
    partials++;
  }
  return { tempDirs, partials };
}
