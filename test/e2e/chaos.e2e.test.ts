/**
 * The proving ground: a real API and worker on a PostgreSQL and a Redis of this file's own, which are stopped
 * and started again under traffic. Counts what was accepted, completed and lost, and how every request was
 * answered while a part was down. (The worker kill -9 case is test/e2e/supervision.e2e.test.ts.)
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/config/logger.ts';
import type { Core } from '../../src/core.ts';
import { connectOrm, migrate } from '../../src/db/orm.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/system/postgres.embedded.ts';
import { startLocalRedis, type LocalRedis } from '../../src/system/redis.local.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const GENERATE = `mutation G($input: GenerateImageInput!) { generateImage(input: $input) { id } }`;
const STATUS = `query S($id: ID!) { job(id: $id) { status } }`;
const logger = createLogger('chaos', { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });

type Tally = Record<string, number>;
const count = (tally: Tally, key: string) => void (tally[key] = (tally[key] ?? 0) + 1);

describe('chaos: PostgreSQL and Redis stopped and started under traffic', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'atelier-chaos-'));
  chmodSync(root, 0o755);
  let pgPort: number;
  let redisPort: number;
  let db: EmbeddedDatabase;
  let redis: LocalRedis;
  let env: Record<string, string>;
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  const accepted = new Set<string>();
  /** 5xx answers whose body names a server path. */
  const leaks: string[] = [];
  const acceptedBy: Tally = {};
  const report: Record<string, unknown> = {};

  const startDb = async () => (db = await startEmbeddedPostgres(path.join(root, 'pg'), 'atelier_chaos', logger, pgPort));
  const startRedis = async () => (redis = await startLocalRedis(path.join(root, 'redis'), logger, redisPort));

  beforeAll(async () => {
    pgPort = await getPort({ host: '127.0.0.1' });
    redisPort = await getPort({ host: '127.0.0.1' });
    await Promise.all([startDb(), startRedis()]);
    const orm = await connectOrm(db.url);
    await migrate(orm);
    await orm.close();
    env = testEnv({ DATABASE_URL: db.url, REDIS_URL: redis.url, WORKER_ENGINES: 'builtin', WORKER_LOCK_MS: '2000', RATE_LIMIT_GLOBAL: '100000', RATE_LIMIT_GENERATE_IMAGE: '100000' });
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
  }, 120_000);

  afterAll(async () => {
    console.log(`chaos report: ${JSON.stringify(report)}`);
    await system?.stop();
    await core?.close().catch(() => undefined);
    await redis?.stop();
    await db?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** One GraphQL submission; the status and code it was answered with ('hang' past 10 s). */
  async function submit(tally: Tally): Promise<void> {
    try {
      const response = await fetch(`${system.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
        body: JSON.stringify({ query: GENERATE, variables: { input: { prompt: 'chaos', width: 64, height: 64, steps: 2 } } }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { data?: { generateImage?: { id: string } } | null; errors?: { extensions?: { code?: string } }[] };
      const id = body.data?.generateImage?.id;
      if (id) accepted.add(id), count(acceptedBy, 'graphql');
      count(tally, `graphql ${response.status} ${id ? 'accepted' : (body.errors?.[0]?.extensions?.code ?? 'no-code')}`);
    } catch (error) {
      count(tally, (error as Error).name === 'TimeoutError' ? 'hang' : 'connection refused');
    }
  }

  /** One REST read (Hallo2 family) and one REST submission (media-api family): their statuses. */
  async function rest(tally: Tally): Promise<void> {
    for (const [method, route, body] of [
      ['GET', '/api/v1/tasks', undefined],
      ['POST', '/generate/image', JSON.stringify({ prompt: 'chaos rest', width: 64, height: 64, steps: 2 })],
    ] as const) {
      try {
        const response = await fetch(system.url + route, {
          method,
          headers: { authorization: `Bearer ${user.token}`, ...(body ? { 'content-type': 'application/json', prefer: 'respond-async' } : {}) },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        if (response.status < 300 && method === 'POST') {
          const parsed = JSON.parse(text) as { task_id?: string; id?: string; job_id?: string };
          const id = parsed.task_id ?? parsed.job_id ?? parsed.id;
          if (id) accepted.add(id), count(acceptedBy, 'rest');
        }
        count(tally, `rest ${route} ${response.status}`);
        // Outside the catch below, which counts transport failures: a leaked server path must fail the test.
        if (response.status >= 500) leaks.push(...(text.match(/\/tmp\/|\/home\/|\/work\//) ? [`${route}: ${text.slice(0, 200)}`] : []));
      } catch (error) {
        count(tally, (error as Error).name === 'TimeoutError' ? 'hang' : 'connection refused');
      }
    }
  }

  async function traffic(rounds: number): Promise<Tally> {
    const tally: Tally = {};
    for (let i = 0; i < rounds; i++) await Promise.all([submit(tally), rest(tally)]);
    return tally;
  }

  /** Traffic until a submission is accepted again: recovery needs no restart of the API or worker. */
  async function untilRecovered(): Promise<Tally> {
    const tally: Tally = {};
    for (let i = 0; i < 600; i++) {
      const before = accepted.size;
      await submit(tally);
      if (accepted.size > before) return tally;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`never recovered: ${JSON.stringify(tally)}`);
  }

  const health = async () => {
    const [detailed, ready] = await Promise.all([fetch(`${system.url}/api/v1/health`), fetch(`${system.url}/readyz`)]);
    return { detailed: { status: detailed.status, body: (await detailed.json()) as Record<string, any> }, ready: { status: ready.status, body: (await ready.json()) as Record<string, any> } };
  };

  it('keeps answering through a PostgreSQL outage (503, never 500 or a hang), reports it, and recovers by itself', async () => {
    report.before = await traffic(5);
    await db.stop();
    const down = await traffic(10);
    const seen = await health();
    await startDb();
    report.postgresDown = down;
    report.postgresRecovery = await untilRecovered();
    expect(Object.keys(down).filter((k) => !/ 503\b| 503 SERVICE_UNAVAILABLE/.test(k))).toEqual([]);
    expect(down.hang).toBeUndefined();
    expect(seen.detailed.status).toBe(503);
    expect(seen.detailed.body.dependencies.postgres.ok).toBe(false);
    expect(seen.detailed.body.dependencies.redis.ok).toBe(true);
    expect(seen.ready.status).toBe(503);
    expect(seen.ready.body.postgres.ok).toBe(false);
    expect(leaks).toEqual([]);
  }, 180_000);

  it('keeps answering through a Redis restart, and recovers by itself', async () => {
    await redis.stop();
    const down = await traffic(10);
    const seen = await health();
    await startRedis();
    report.redisDown = down;
    report.redisRecovery = await untilRecovered();
    // Outside an outage everything answers as usual.
    expect(Object.keys(report.before as Tally).filter((k) => / 5\d\d\b/.test(k) || k === 'hang' || k === 'connection refused')).toEqual([]);
    // Reads that need only PostgreSQL may still succeed; nothing is a 500 or a hang.
    expect(Object.keys(down).filter((k) => / 5(?!03)\d\d\b/.test(k) || k === 'hang' || /INTERNAL/.test(k))).toEqual([]);
    expect(seen.detailed.status).toBe(503);
    expect(seen.ready.body.redis.ok).toBe(false);
    expect(leaks).toEqual([]);
  }, 180_000);

  it('loses nothing: every job accepted before, between and after the outages completes', async () => {
    report.after = await traffic(5);
    const final: Tally = {};
    for (const id of accepted) {
      let status = '';
      for (let i = 0; i < 1200; i++) {
        const response = await fetch(`${system.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
          body: JSON.stringify({ query: STATUS, variables: { id } }),
        });
        status = ((await response.json()) as { data?: { job?: { status: string } } }).data?.job?.status ?? 'missing';
        if (['COMPLETED', 'FAILED', 'CANCELLED', 'missing'].includes(status)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      count(final, status);
    }
    report.jobs = { accepted: accepted.size, acceptedBy, ...final, lost: accepted.size - (final.COMPLETED ?? 0) };
    expect(accepted.size).toBeGreaterThan(10);
    expect(final).toEqual({ COMPLETED: accepted.size });
  }, 300_000);
});
