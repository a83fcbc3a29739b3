import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import getPort from 'get-port';
import type { Logger } from 'pino';

export interface LocalRedis {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export class RedisNotInstalledError extends Error {}

function which(command: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** Finds redis-server on PATH; as root on Debian/Ubuntu installs it, otherwise explains how to get one. */
export function ensureRedisServer(logger: Logger): string {
  const found = which('redis-server');
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync('/etc/debian_version') && which('apt-get')) {
    logger.info('redis-server not found; installing it with apt-get');
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server'], {
      stdio: 'inherit',
    });
    const installed = which('redis-server');
    if (installed) return installed;
  }
  throw new RedisNotInstalledError(
    'redis-server was not found on PATH. Install it (Debian/Ubuntu: "sudo apt-get install redis-server", ' +
      'macOS: "brew install redis") or point REDIS_URL at a running Redis.',
  );
}

/** Starts a private redis-server on a loopback port, with AOF persistence under `dir`. */
export async function startLocalRedis(dir: string, logger: Logger, port?: number): Promise<LocalRedis> {
  const binary = ensureRedisServer(logger);
  const dataDir = path.resolve(dir);
  await mkdir(dataDir, { recursive: true });
  const chosenPort = port ?? (await getPort({ host: '127.0.0.1' }));
  const child = spawn(
    binary,
    [
      '--bind', '127.0.0.1',
      '--port', String(chosenPort),
      '--dir', dataDir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--save', '',
      // BullMQ requires that Redis never evicts its keys.
      '--maxmemory-policy', 'noeviction',
      '--daemonize', 'no',
    ],
    // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and Redis must outlive the
    // API and workers' shutdown (they deregister and release jobs through it); the launcher stops it last.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`redis-server exited (code ${code}) before it was ready:\n${output}`)));
    child.once('error', reject);
  });
  // Whatever way this process ends, its redis-server must not outlive it (SIGTERM still flushes the AOF).
  process.once('exit', () => child.kill('SIGTERM'));
  child.stdout?.resume();
  child.stderr?.resume();
  logger.debug({ port: chosenPort, dir: dataDir }, 'redis-server started');
  return {
    url: `redis://127.0.0.1:${chosenPort}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        // SIGTERM makes redis-server flush its AOF before exiting.
        child.kill('SIGTERM');
      }),
  };
}
