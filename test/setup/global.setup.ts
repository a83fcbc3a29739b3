import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/config/logger.ts';
import { connectOrm, migrate } from '../../src/db/orm.ts';
import { startEmbeddedPostgres } from '../../src/system/postgres.embedded.ts';
import { startLocalRedis } from '../../src/system/redis.local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    dataRoot: string;
  }
}

/** One real PostgreSQL and one real Redis for the whole run, on free loopback ports, migrated. */
export default async function setup(project: TestProject) {
  const logger = createLogger('test-infra', { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });
  // The postgres system user must be able to reach the cluster directory, so not under a 0700 home.
  const dataRoot = mkdtempSync(path.join(tmpdir(), 'atelier-test-'));
  chmodSync(dataRoot, 0o755);
  const db = await startEmbeddedPostgres(path.join(dataRoot, 'postgres'), 'atelier_test', logger);
  const redis = await startLocalRedis(path.join(dataRoot, 'redis'), logger);
  const orm = await connectOrm(db.url);
  await migrate(orm);
  await orm.close();
  project.provide('databaseUrl', db.url);
  project.provide('redisUrl', redis.url);
  project.provide('dataRoot', dataRoot);
  return async () => {
    await redis.stop();
    await db.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  };
}
