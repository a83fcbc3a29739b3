import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
export const DASHBOARD_DIST = path.join(here, 'dist');
const BUILT = path.join(DASHBOARD_DIST, 'index.html');
/** What the bundle is made from: a change to any of these makes it stale. */
const SOURCES = [path.join(here, 'src'), path.join(here, 'index.html'), path.join(here, 'vite.config.ts'), path.join(here, '..', 'sdk', 'src')];

function newest(entry: string): number {
  const stats = statSync(entry);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(stats.mtimeMs, ...readdirSync(entry).map((name) => newest(path.join(entry, name))));
}

export function dashboardIsStale(): boolean {
  if (!existsSync(BUILT)) return true;
  const built = statSync(BUILT).mtimeMs;
  return SOURCES.some((source) => existsSync(source) && newest(source) > built);
}

/** Builds the dashboard with Vite when it is missing or older than its sources. */
export async function buildDashboardIfStale(log: (line: string) => void = () => undefined): Promise<boolean> {
  if (!dashboardIsStale()) return false;
  log('Building the dashboard (vite)...');
  const { build } = await import('vite');
  await build({ configFile: path.join(here, 'vite.config.ts') });
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await buildDashboardIfStale((line) => process.stderr.write(`${line}\n`));
}
