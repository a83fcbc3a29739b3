import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import getPort from 'get-port';
import pino from 'pino';
import { connectOrm } from '../../src/db/orm.ts';
import { sweepOrphanFiles } from '../../src/jobs/files.sweeper.ts';
import { S3Storage, parseS3Url } from '../../src/storage/s3.storage.ts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { collect, gql, wsClient } from '../helpers/graphql.ts';
import { postJson } from '../helpers/media.ts';
import { startProcess, type RunningProcess } from '../helpers/processes.ts';
import { type LocalRedisCluster, startRedisCluster } from '../helpers/redis-cluster.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

const LOGIN = `mutation L($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }`;
const GENERATE = `mutation G($input: GenerateImageInput!) { generateImage(input: $input) { id } }`;
const PROGRESS = `subscription P($id: ID!) { jobProgress(id: $id) { status result } }`;
const JOBS = 30;

interface Row {
  id: string;
  status: string;
  worker_id: string | null;
  attempt_workers: { worker: string }[] | null;
  finished_at: Date | null;
  assets: number;
}

/**
 * The "Running on several machines" recipe on loopback: PostgreSQL, Redis (one server, or a three-node cluster) and
 * an S3 server run apart; `migrate` runs on two "machines" at once; two APIs and three workers, each with its own
 * data directory and only the shared secrets in common. Jobs go in through GraphQL and REST on both APIs; mid-load
 * one worker and one API are killed with SIGKILL. Every accepted job must complete exactly once.
 */
async function recipe(redis: { REDIS_URL?: string; REDIS_CLUSTER_NODES?: string; QUEUE_PREFIX: string }, s3: LocalS3) {
  const dbName = `atelier_recipe_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: inject('databaseUrl') });
  await admin.connect();
  await admin.query(`create database "${dbName}"`);
  const dbUrl = new URL(inject('databaseUrl'));
  dbUrl.pathname = `/${dbName}`;
  const db = new pg.Client({ connectionString: dbUrl.toString() });
  const processes: RunningProcess[] = [];
  const s3Prefix = `recipe-${randomUUID().slice(0, 6)}`;
  const shared: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL: redis.REDIS_URL ?? '',
    REDIS_CLUSTER_NODES: redis.REDIS_CLUSTER_NODES ?? '',
    QUEUE_PREFIX: redis.QUEUE_PREFIX,
    JWT_SECRET: randomUUID() + randomUUID(),
    PROVIDER_KEY_SECRET: randomUUID() + randomUUID(),
    STORAGE_URL: s3.storageUrl({ prefix: s3Prefix }),
    ADMIN_USERNAME: 'ops',
    ADMIN_PASSWORD: 'recipe-password',
    WORKER_ENGINES: 'builtin',
    WORKER_CONCURRENCY: '2',
    // A dead worker's jobs are handed on within seconds (after it is declared lost, 5 s), and the sweeper looks often.
    WORKER_LOCK_MS: '8000',
    JOB_SWEEP_INTERVAL_MS: '300',
    JOB_ORPHAN_AFTER_SECONDS: '2',
    ...s3.env,
  };
  const machine = (name: string, extra: Record<string, string> = {}) => ({ ...shared, DATA_DIR: `${inject('dataRoot')}/${dbName}-${name}`, ...extra });
  try {
    // Two machines deploy at once.
    await Promise.all(['m1', 'm2'].map((m) => run(process.execPath, ['src/db/migrate.main.ts'], { cwd: root, env: { ...process.env, ...machine(m) } })));
    await db.connect();

    const apis: { proc: RunningProcess; url: string }[] = [];
    for (const name of ['api1', 'api2']) {
      const port = await getPort({ host: '127.0.0.1' });
      const proc = await startProcess('server/main.ts', machine(name, { HOST: '127.0.0.1', PORT: String(port) }), 60_000);
      processes.push(proc);
      apis.push({ proc, url: `http://127.0.0.1:${port}` });
    }
    const workers: RunningProcess[] = [];
    for (const name of ['w1', 'w2', 'w3']) {
      // A public URL nobody can reach: it must never show up in a result.
      const proc = await startProcess('workers/main.ts', machine(name, { PUBLIC_URL: 'http://worker.invalid:9' }), 60_000);
      processes.push(proc);
      workers.push(proc);
    }

    // A token from API #1 is good on API #2: the secrets are shared, not per data directory.
    const login = await gql<{ login: { accessToken: string } }, object>(apis[0]!.url, LOGIN, { u: 'ops', p: 'recipe-password' });
    const token = login.data!.login.accessToken;
    const auth = { authorization: `Bearer ${token}` };

    // A subscription on API #1 follows a job submitted through API #2.
    const followed = await gql<{ generateImage: { id: string } }, object>(apis[1]!.url, GENERATE, { input: { prompt: 'followed', width: 64, height: 64, steps: 4 } }, token);
    const client = wsClient(apis[0]!.url.replace('http', 'ws') + '/graphql', token);
    const followedEvents = collect<{ jobProgress: { status: string; result: { urls: string[] } | null } }>(client, PROGRESS, { id: followed.data!.generateImage.id });

    const accepted: string[] = [followed.data!.generateImage.id];
    const refused: string[] = [];
    const submit = async (i: number, api: { url: string }) => {
      const input = { prompt: `recipe ${i}`, width: 128, height: 128, steps: 24 };
      try {
        if (i % 2) {
          const answer = await gql<{ generateImage: { id: string } }, object>(api.url, GENERATE, { input }, token);
          if (answer.data?.generateImage) accepted.push(answer.data.generateImage.id);
          else refused.push(JSON.stringify(answer.errors));
        } else {
          const answer = await postJson(`${api.url}/generate/image`, { prompt: input.prompt, width: 128, height: 128, num_inference_steps: 24 }, { ...auth, prefer: 'respond-async' });
          if (answer.status === 200) accepted.push(answer.body.task_id);
          else refused.push(JSON.stringify(answer.body));
        }
      } catch (error) {
        // A request in flight to the API being killed fails on the client's side: it was never accepted.
        refused.push(String(error));
      }
    };

    // First half through both APIs.
    await Promise.all(Array.from({ length: JOBS / 2 }, (_, i) => submit(i, apis[i % 2]!)));

    // Once a few jobs are done, kill the worker that is running the most jobs, and API #2, while jobs run.
    for (let tries = 0; tries < 400; tries++) {
      const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from jobs where status = 'COMPLETED'`);
      if (rows[0]!.n >= 4) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    let victim: { worker: string; proc: RunningProcess; jobs: string[] } | undefined;
    for (let tries = 0; !victim && tries < 200; tries++) {
      const { rows } = await db.query<{ worker_id: string; ids: string[] }>(
        `select worker_id, array_agg(id::text) as ids from jobs where status = 'PROCESSING' and worker_id is not null group by worker_id order by count(*) desc limit 1`,
      );
      const row = rows[0];
      const proc = row && workers.find((w) => row.worker_id.endsWith(`:${w.child.pid}`));
      if (row && proc) victim = { worker: row.worker_id, proc, jobs: row.ids };
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(victim).toBeDefined();
    const killedAt = Date.now();
    victim!.proc.child.kill('SIGKILL');
    apis[1]!.proc.child.kill('SIGKILL');

    // Second half, still through both APIs (requests to the dead one are refused on the client's side).
    await Promise.all(Array.from({ length: JOBS / 2 }, (_, i) => submit(JOBS / 2 + i, i % 3 === 2 ? apis[1]! : apis[0]!)));

    // Wait (polling the database) for every accepted job to finish.
    let rows: Row[] = [];
    for (let tries = 0; tries < 1200; tries++) {
      rows = (
        await db.query<Row>(
          `select j.id::text, j.status, j.worker_id, j.attempt_workers, j.finished_at, (select count(*)::int from assets a where a.job_id = j.id) as assets
             from jobs j where j.id = any($1::uuid[])`,
          [accepted],
        )
      ).rows;
      if (rows.length === accepted.length && rows.every((r) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.status))) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const completed = rows.filter((r) => r.status === 'COMPLETED');
    const lost = accepted.length - completed.length;
    const duplicated = rows.reduce((sum, r) => sum + Math.max(0, r.assets - 1), 0);
    // Jobs the dead API stored but could not answer for are in the table too; they must complete as well.
    let all: { status: string; n: number }[] = [];
    for (let tries = 0; tries < 400; tries++) {
      all = (await db.query<{ status: string; n: number }>(`select status, count(*)::int as n from jobs group by status`)).rows;
      if (all.every((r) => r.status === 'COMPLETED')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const { rows: assetRows } = await db.query<{ n: number }>(`select count(*)::int as n from assets`);
    const bucket = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const countObjects = async () => (await bucket.send(new ListObjectsV2Command({ Bucket: 'atelier', Prefix: `${s3Prefix}/assets/` }))).KeyCount ?? 0;
    const objects = await countObjects();
    // The hourly sweep of files no row names, seen from an hour later, takes what the killed worker left.
    const orm = await connectOrm(dbUrl.toString(), { pool: { min: 0, max: 1 } });
    const swept = await sweepOrphanFiles(orm.em.fork(), new S3Storage(parseS3Url(shared.STORAGE_URL!), bucket), {
      olderThanMs: 3_600_000,
      now: Date.now() + 3_600_001,
      log: pino({ level: 'silent' }),
    });
    await orm.close();
    const objectsAfterSweep = await countObjects();
    bucket.destroy();
    // Runs started per worker (the killed one's included) and completions per worker.
    const started: Record<string, number> = {};
    for (const r of rows) for (const a of r.attempt_workers ?? []) started[a.worker] = (started[a.worker] ?? 0) + 1;
    const spread: Record<string, number> = {};
    for (const r of completed) spread[r.worker_id!] = (spread[r.worker_id!] ?? 0) + 1;
    // Its jobs that ran again (one may have finished in the instant before the kill).
    const rescued = rows.filter((r) => victim!.jobs.includes(r.id) && (r.attempt_workers?.length ?? 0) > 1);
    const recoveredAt = Math.max(...rescued.map((r) => r.finished_at!.getTime()));
    const { rows: marks } = await db.query<{ at: Date }>(`select min(at) as at from job_logs where message = $1`, [`Worker ${victim!.worker} lost; re-queued`]);
    const figures = {
      redis: redis.REDIS_CLUSTER_NODES ? 'cluster (3 nodes)' : 'single',
      accepted: accepted.length,
      jobsInDatabase: all.reduce((sum, r) => sum + r.n, 0),
      refusedWhileApiDied: refused.length,
      completed: completed.length,
      lost,
      duplicated,
      s3Objects: objects,
      assetRows: assetRows[0]!.n,
      orphanObjectsSwept: swept.length,
      runsStartedPerWorker: started,
      completedPerWorker: spread,
      killedWorker: victim!.worker,
      killedWorkerJobs: victim!.jobs.length,
      markedLostAfterMs: marks[0]?.at ? marks[0].at.getTime() - killedAt : null,
      killedWorkersJobsDoneAfterMs: recoveredAt - killedAt,
    };
    console.log('multi-host recipe figures', JSON.stringify(figures));

    expect(accepted.length).toBeGreaterThanOrEqual(JOBS / 2 + 1);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(completed.every((r) => r.assets === 1)).toBe(true);
    expect(all.map((r) => r.status)).toEqual(['COMPLETED']);
    // One asset per job. A worker killed between writing an object and saving its row leaves that object behind,
    // unlisted (no client ever sees it): at most one per job it was running.
    expect(assetRows[0]!.n).toBe(all[0]!.n);
    expect(objects).toBeGreaterThanOrEqual(assetRows[0]!.n);
    expect(objects - assetRows[0]!.n).toBeLessThanOrEqual(victim!.jobs.length);
    expect(swept).toHaveLength(objects - assetRows[0]!.n);
    expect(objectsAfterSweep).toBe(assetRows[0]!.n);
    // The killed worker's jobs ran again elsewhere: two runs recorded, the last on a live worker; it was declared lost.
    expect(rescued.length).toBeGreaterThan(0);
    for (const r of rescued) {
      expect(r.attempt_workers!.map((a) => a.worker)).toContain(victim!.worker);
      expect(r.worker_id).not.toBe(victim!.worker);
    }
    expect(marks[0]?.at).toBeTruthy();
    const survivorsLog = workers.filter((w) => w !== victim!.proc).map((w) => w.output()).join('');
    expect(survivorsLog).toContain(`worker ${victim!.worker} lost; re-queued`);
    // At least two workers did work, none of the URLs came from a worker.
    expect(Object.keys(spread).length).toBeGreaterThanOrEqual(2);
    const events = await followedEvents.done;
    await client.dispose();
    expect(events.at(-1)!.jobProgress.status).toBe('COMPLETED');
    expect(events.at(-1)!.jobProgress.result!.urls[0]).toMatch(new RegExp(`^${apis[0]!.url}/files/`));
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await db.end().catch(() => undefined);
    await admin.query(`drop database if exists "${dbName}" with (force)`).catch(() => undefined);
    await admin.end();
  }
}

describe('several machines on loopback: two APIs, three workers, shared PostgreSQL, Redis and S3', () => {
  let s3: LocalS3;
  let cluster: LocalRedisCluster | undefined;
  beforeAll(async () => {
    s3 = await startLocalS3();
  });
  afterAll(async () => {
    await cluster?.stop();
    await s3?.stop();
  });

  it('on one Redis server: a worker and an API killed mid-load lose and duplicate nothing', async () => {
    await recipe({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: `recipe-${randomUUID().slice(0, 6)}` }, s3);
  }, 240_000);

  it('on a three-node Redis Cluster: the same', async () => {
    cluster = await startRedisCluster();
    await recipe({ REDIS_CLUSTER_NODES: cluster.nodes, QUEUE_PREFIX: `{recipe-${randomUUID().slice(0, 6)}}` }, s3);
  }, 240_000);
});
