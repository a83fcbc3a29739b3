import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import getPort from 'get-port';

const run = promisify(execFile);

export interface LocalRedisCluster {
  /** REDIS_CLUSTER_NODES for Atelier. */
  nodes: string;
  ports: number[];
  stop(): Promise<void>;
}

/**
 * A real three-master Redis Cluster from Debian's redis-server on free loopback ports (no replicas), data in a temp
 * dir; resolves once every node reports cluster_state:ok.
 */
export async function startRedisCluster(): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'atelier-cluster-'));
  const ports: number[] = [];
  // Each node also listens on port + 10000 for its cluster bus: both must be free.
  while (ports.length < 3) {
    const port = await getPort({ host: '127.0.0.1', port: Array.from({ length: 200 }, (_, i) => 20_000 + Math.floor(Math.random() * 20_000) + i) });
    if (ports.includes(port)) continue;
    const bus = await getPort({ host: '127.0.0.1', port: port + 10_000 });
    if (bus === port + 10_000) ports.push(port);
  }
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--bind', '127.0.0.1',
        '--port', String(port),
        '--dir', dir,
        '--dbfilename', `dump-${port}.rdb`,
        '--appendonly', 'no',
        '--save', '',
        '--maxmemory-policy', 'noeviction',
        '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '5000',
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) await waitFor(async () => (await cli(port, 'ping')) === 'PONG');
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) await waitFor(async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'));
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), ports, stop };
}

async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])).stdout.trim();
  } catch {
    return '';
  }
}

async function waitFor(check: () => Promise<boolean>, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('Redis Cluster did not come up');
}
