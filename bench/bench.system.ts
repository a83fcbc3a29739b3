import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import { loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/config/logger.ts';
import { createCore, type Core } from '../src/core.ts';
import { ormConfig } from '../src/db/orm.config.ts';
import { connectOrm, migrate } from '../src/db/orm.ts';
import type { User } from '../src/db/entities/user.entity.ts';
import { createUser } from '../src/services/user.service.ts';
import { startEmbeddedPostgres } from '../src/system/postgres.embedded.ts';
import { startLocalRedis } from '../src/system/redis.local.ts';
import { startProcess, type RunningProcess } from '../test/helpers/processes.ts';

export interface BenchSystem {
  url: string;
  env: Record<string, string>;
  core: Core;
  user: User;
  token: string;
  api: RunningProcess;
  worker: RunningProcess;
  stop(): Promise<void>;
}

/**
 * A whole Atelier for one benchmark: its own embedded PostgreSQL and redis-server in a temp dir,
 * migrated, a user with a JWT, the real API process and one real worker. `stop` removes all of it.
 */
export async function startBenchSystem(extraEnv: Record<string, string> = {}): Promise<BenchSystem> {
  const logger = createLogger('bench', { LOG_LEVEL: 'error', LOG_FORMAT: 'json' });
  const root = mkdtempSync(path.join(os.tmpdir(), 'atelier-bench-'));
  // The postgres system user must be able to reach its cluster directory.
  chmodSync(root, 0o755);
  const cleanups: (() => Promise<unknown> | unknown)[] = [() => rmSync(root, { recursive: true, force: true })];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((error) => console.error('[bench] cleanup failed:', error));
  };
  try {
    // BENCH_SQL=1 loads pg_stat_statements, so a bench can print what each statement cost.
    const sqlStats = process.env.BENCH_SQL ? ['-c', 'shared_preload_libraries=pg_stat_statements'] : [];
    const db = await startEmbeddedPostgres(path.join(root, 'postgres'), 'atelier_bench', logger, undefined, sqlStats);
    cleanups.push(db.stop);
    const redis = await startLocalRedis(path.join(root, 'redis'), logger);
    cleanups.push(redis.stop);
    const orm = await connectOrm(db.url, { migrations: { ...ormConfig(db.url).migrations, silent: true } });
    await migrate(orm);
    await orm.close();
    const port = await getPort({ host: '127.0.0.1' });
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      DATA_DIR: root,
      PORT: String(port),
      HOST: '127.0.0.1',
      QUEUE_PREFIX: `bench-${randomUUID().slice(0, 8)}`,
      JWT_SECRET: randomUUID() + randomUUID(),
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      // Benchmarks drive the system from one client: per-client rate limits would cap them, not the system.
      RATE_LIMIT_GLOBAL: '1000000',
      RATE_LIMIT_SERVER: '1000000',
      RATE_LIMIT_GENERATE_IMAGE: '1000000',
      RATE_LIMIT_GENERATE_VIDEO: '1000000',
      ...extraEnv,
    };
    const core = await createCore(loadConfig(env), 'api');
    cleanups.push(() => core.close());
    const user = await createUser(core.orm.em.fork(), { username: `bench-${randomUUID().slice(0, 8)}`, password: `pw-${randomUUID()}` });
    const { accessToken: token } = await core.auth.issueToken(user);
    const [api, worker] = await Promise.all([startProcess('server/main.ts', env, 60_000), startProcess('workers/main.ts', env, 60_000)]);
    cleanups.push(() => Promise.all([api.stop(), worker.stop()]));
    return { url: `http://127.0.0.1:${port}`, env, core, user, token, api, worker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

/** A plain aligned text table: first column left, the rest right. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
