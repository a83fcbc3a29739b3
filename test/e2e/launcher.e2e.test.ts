import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the launcher (`./atelier start` after install) under Ctrl-C', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'atelier-launcher-'));
  // The postgres system user must be able to reach its cluster directory.
  chmodSync(dataDir, 0o755);

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts embedded PostgreSQL, its own Redis, the API and a worker; SIGINT to the whole group stops every one of them cleanly', async () => {
    const port = await getPort({ host: '127.0.0.1' });
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_FORMAT: 'json', LOG_LEVEL: 'info' };
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'QUEUE_PREFIX']) delete env[name];
    // Its own process group, as a shell gives a foreground command: a terminal's Ctrl-C signals the whole group.
    const launcher = spawn(process.execPath, ['src/system/launcher.main.ts'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    launcher.stdout.on('data', (chunk) => (output += chunk));
    launcher.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes('Atelier ready') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      expect(output).toContain(`Atelier ready at http://127.0.0.1:${port}/graphql`);
      const health = await fetch(`http://127.0.0.1:${port}/livez`);
      expect(health.status).toBe(200);
      const pids = [...output.matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1]));
      const services = [...new Set(pids)].filter((pid) => pid !== launcher.pid);
      expect(services.length).toBeGreaterThanOrEqual(2);

      // Redis sits outside the group Ctrl-C reaches: the API and worker still deregister through it while they stop.
      const children = execFileSync('ps', ['--ppid', String(launcher.pid), '-o', 'pid=,pgid=,comm='], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/));
      const redis = children.find(([, , comm]) => comm === 'redis-server');
      expect(redis).toBeDefined();
      expect(Number(redis![1])).not.toBe(launcher.pid);

      process.kill(-launcher.pid!, 'SIGINT');
      expect(await exited).toBe(0);
      for (const pid of [...services, Number(redis![0])]) expect(alive(pid)).toBe(false);
      // Each service stopped by itself: none had to be killed, gave up waiting, or lost Redis on the way.
      expect(output).not.toMatch(/did not stop in 15 s|did not finish|ECONNREFUSED/);
    } finally {
      if (launcher.exitCode === null) process.kill(-launcher.pid!, 'SIGKILL');
    }
  }, 120_000);
});
