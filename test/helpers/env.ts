import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createCore, type Core } from '../../src/core.ts';

/**
 * Environment for one test file: the shared Postgres and Redis, and a queue prefix and data directory
 * of its own, so files running in parallel never see each other's jobs.
 */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const id = randomUUID().slice(0, 8);
  const dataDir = path.join(inject('dataRoot'), `files-${id}`);
  mkdirSync(dataDir, { recursive: true });
  return {
    NODE_ENV: 'test',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: `test-${id}`,
    DATA_DIR: dataDir,
    JWT_SECRET: `test-secret-${id}-0123456789abcdefghijklmnop`,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    // Files share one database: a sweeper re-queueing "orphans" after the default 30 s would take other files'
    // QUEUED rows into its own queues. Tests of the sweeper set their own threshold.
    JOB_ORPHAN_AFTER_SECONDS: '86400',
    ...overrides,
  };
}

export function testConfig(env: Record<string, string> = testEnv()): Config {
  return loadConfig(env);
}

export async function testCore(env: Record<string, string> = testEnv()): Promise<Core> {
  return createCore(testConfig(env), 'api');
}
