/**
 * The job path beside its lean floor, in one run on one machine: `npm run bench:path`.
 *
 * One whole system (bench.system.ts: embedded PostgreSQL, redis-server, the real API and one real worker) and,
 * on the same PostgreSQL and Redis, the floor of bench/path.floor.ts (a bare INSERT + queue.add server; a bare
 * worker doing UPDATE, the same render and PNG, a file, UPDATE). Prints, at 32 connections:
 *   submits/s, p50, p99 and errors of REST (`POST /api/v1/images/generate`, Prefer: respond-async) and GraphQL
 *   (`generateImage`), against the floor server, with the generation queue paused (the worker idle);
 *   completed/s of the real worker draining them, against the floor worker draining its own;
 *   CPU milliseconds per job, summed over every process (API, worker, floor, PostgreSQL, Redis) from /proc;
 *   30-step jobs: CPU per job of the real worker beyond the floor's (the same render);
 *   the submits again with 100,000 rows in jobs (50k finished, 50k queued).
 * Env: PATH_N (default 2000 per face), WORKER_CONCURRENCY (default: the worker's own default), FAIR_QUEUES.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import getPort from 'get-port';
import { createRedis } from '../src/queue/redis.connection.ts';
import { startProcess, type RunningProcess } from '../test/helpers/processes.ts';
import { percentile, startBenchSystem, table } from './bench.system.ts';

/** The floor's own queue (bench/path.floor.ts reads it from FLOOR_QUEUE): the real worker never sees it. */
const FLOOR_QUEUE = 'floor-generation';

const N = Number(process.env.PATH_N ?? 2000);
const STEPS_N = Math.max(50, Math.round(N / 10));
const CONNECTIONS = 32;
const TICK_MS = 1000 / 100; // USER_HZ

// ---- CPU of every process this bench started (its descendants), from /proc ----
function processTree(): Map<number, { ppid: number; comm: string; ticks: number }> {
  const all = new Map<number, { ppid: number; comm: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // fields[0] is state (field 3); utime, stime, cutime, cstime are fields 14–17.
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      all.set(Number(entry), { ppid: Number(fields[1]), comm, ticks });
    } catch {
      // gone meanwhile
    }
  }
  const mine = new Map<number, { ppid: number; comm: string; ticks: number }>();
  const walk = (pid: number) => {
    for (const [child, info] of all) {
      if (info.ppid === pid && !mine.has(child)) {
        mine.set(child, info);
        walk(child);
      }
    }
  };
  walk(process.pid);
  return mine;
}

type Roles = Map<number, string>;
const roleOf = (roles: Roles, pid: number, comm: string) => roles.get(pid) ?? (comm.startsWith('postgres') ? 'postgres' : comm.startsWith('redis') ? 'redis' : comm);

/** CPU ms per role since the snapshot; a process that exits between the two is counted in its parent's cutime. */
function cpuSince(before: Map<number, { ticks: number }>, roles: Roles): Record<string, number> {
  const now = processTree();
  const out: Record<string, number> = {};
  for (const [pid, info] of now) {
    const role = roleOf(roles, pid, info.comm);
    out[role] = (out[role] ?? 0) + (info.ticks - (before.get(pid)?.ticks ?? 0)) * TICK_MS;
  }
  return out;
}

const sum = (cpu: Record<string, number>) => Object.values(cpu).reduce((s, v) => s + v, 0);

async function closedLoop(total: number, op: () => Promise<boolean>) {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < total) {
        next++;
        const t = performance.now();
        if (!(await op().catch(() => false))) errors++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: total / seconds, errors, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** pg_stat_statements, when the bench's PostgreSQL loaded it (BENCH_SQL=1). */
async function sqlStatements(em: { execute: (sql: string) => Promise<unknown> }) {
  await em.execute('create extension if not exists pg_stat_statements');
  return {
    reset: () => em.execute('select pg_stat_statements_reset()'),
    async top(jobs: number) {
      const rows = (await em.execute(
        `select calls, total_exec_time as ms, regexp_replace(left(query, 110), '\\s+', ' ', 'g') as query from pg_stat_statements
          where query not ilike '%pg_stat_statements%' order by total_exec_time desc limit 12`,
      )) as { calls: number; ms: number; query: string }[];
      return rows.map((r) => ({ callsPerJob: Number(r.calls) / jobs, msPerJob: Number(r.ms) / jobs, query: r.query }));
    },
  };
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

const concurrency = process.env.WORKER_CONCURRENCY;
const system = await startBenchSystem({
  ...(concurrency ? { WORKER_CONCURRENCY: concurrency } : {}),
  // FAIR_QUEUES=false measures the path without per-user turns, to show what fairness costs.
  ...(process.env.FAIR_QUEUES ? { FAIR_QUEUES: process.env.FAIR_QUEUES } : {}),
  ...(process.env.PATH_PROFILE ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.PATH_PROFILE}` } : {}),
});
const children: RunningProcess[] = [];
try {
  const { core, env } = system;
  const roles: Roles = new Map([
    [system.api.child.pid!, 'api'],
    [system.worker.child.pid!, 'worker'],
  ]);
  const floorPort = await getPort({ host: '127.0.0.1' });
  const floorEnv = { ...env, FLOOR_OWNER: system.user.id, PORT: String(floorPort), FLOOR_QUEUE };
  const floorServer = await startProcess('bench/path.floor.ts', { ...floorEnv, FLOOR_MODE: 'submit' }, 60_000);
  children.push(floorServer);
  roles.set(floorServer.child.pid!, 'floor-api');
  const realQueue = core.queues.get('builtin');
  await realQueue.pause();

  const auth = { authorization: `Bearer ${system.token}`, 'content-type': 'application/json' };
  const body = (i: number, steps = 1) => JSON.stringify({ prompt: `path ${i}`, width: 64, height: 64, steps, num_inference_steps: steps });
  let counter = 0;
  const rest = (steps = 1) => async () => {
    const response = await fetch(`${system.url}/api/v1/images/generate`, { method: 'POST', headers: { ...auth, prefer: 'respond-async' }, body: body(counter++, steps) });
    await response.arrayBuffer();
    return response.status === 200;
  };
  const graphql = (steps = 1) => async () => {
    const response = await fetch(`${system.url}/graphql`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        query: 'mutation($i: GenerateImageInput!) { generateImage(input: $i) { id status } }',
        variables: { i: { prompt: `path ${counter++}`, width: 64, height: 64, steps } },
      }),
    });
    const json = (await response.json()) as { errors?: unknown[] };
    return response.status === 200 && !json.errors;
  };
  const floor = (steps = 1) => async () => {
    const response = await fetch(`http://127.0.0.1:${floorPort}/`, { method: 'POST', headers: auth, body: body(counter++, steps) });
    await response.arrayBuffer();
    return response.status === 200;
  };

  const measured = async (label: string, total: number, op: () => Promise<boolean>) => {
    const before = processTree();
    const result = await closedLoop(total, op);
    const cpu = cpuSince(before, roles);
    return { label, ...result, cpuPerJob: sum(cpu) / total, cpu };
  };
  const pending = async (engine: string) => {
    const [row] = await core.orm.em.fork().execute<{ n: number }[]>(`select count(*)::int as n from jobs where engine = ? and status in ('QUEUED', 'PROCESSING')`, [engine]);
    return row?.n ?? 0;
  };
  const drain = async (label: string, engine: string, total: number) => {
    const before = processTree();
    const started = performance.now();
    while ((await pending(engine)) > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSince(before, roles);
    return { label, perSecond: total / seconds, cpuPerJob: sum(cpu) / total, cpu };
  };
  const floorConnection = createRedis(env.REDIS_URL, 'producer');
  const floorQueue = new Queue(FLOOR_QUEUE, { connection: floorConnection, prefix: env.QUEUE_PREFIX });
  await floorQueue.pause();
  const fw = await startProcess('bench/path.floor.ts', { ...floorEnv, FLOOR_MODE: 'worker' }, 60_000);
  children.push(fw);
  roles.set(fw.child.pid!, 'floor-worker');
  const drainWith = async (queue: Queue, label: string, engine: string, total: number) => {
    await queue.resume();
    const result = await drain(label, engine, total);
    await queue.pause();
    return result;
  };

  // ---- warm-up (not counted): every process has served and run jobs before anything is measured ----
  await closedLoop(200, rest());
  await closedLoop(200, graphql());
  await closedLoop(200, floor());
  await drainWith(floorQueue, 'warm-up', 'floor', 200);
  await drainWith(realQueue, 'warm-up', 'builtin', 400);

  // ---- A. submits, workers idle (their queues paused) ----
  const submits = [await measured('floor (INSERT + queue.add)', N, floor()), await measured('REST respond-async', N, rest()), await measured('GraphQL generateImage', N, graphql())];

  // ---- B. drains: the floor worker its jobs, then the real worker its own ----
  const sql = process.env.BENCH_SQL ? await sqlStatements(core.orm.em.fork()) : null;
  await sql?.reset();
  const floorDrain = await drainWith(floorQueue, 'floor worker', 'floor', N);
  const floorSql = await sql?.top(N);
  await sql?.reset();
  const realDrain = await drainWith(realQueue, 'Atelier worker', 'builtin', 2 * N);
  const realSql = await sql?.top(2 * N);

  // ---- C. 30-step jobs: CPU per job beyond the same render ----
  await closedLoop(STEPS_N, floor(30));
  await closedLoop(STEPS_N, graphql(30));
  const floor30 = await drainWith(floorQueue, 'floor worker, 30 steps', 'floor', STEPS_N);
  const real30 = await drainWith(realQueue, 'Atelier worker, 30 steps', 'builtin', STEPS_N);

  // ---- D. the same submits with 100,000 rows in jobs (half finished, half queued) ----
  await core.orm.em.fork().execute(
    `insert into jobs (id, kind, status, progress, input, priority, engine, cost, owner_id, created_at, started_at, finished_at, prompt, timeout_seconds, attempt)
     select gen_random_uuid(), 'IMAGE', case when i % 2 = 0 then 'COMPLETED' else 'QUEUED' end, 0, jsonb_build_object('prompt', 'history ' || i), 5, 'history', 0, ?,
            now() - (i || ' seconds')::interval, case when i % 2 = 0 then now() - (i || ' seconds')::interval end,
            case when i % 2 = 0 then now() - (i || ' seconds')::interval + interval '1 second' end, 'history ' || i, 300, 0
       from generate_series(1, 100000) i`,
    [system.user.id],
  );
  await core.orm.em.fork().execute('vacuum analyze jobs');
  const full = [await measured('floor at 100k rows', N, floor()), await measured('REST at 100k rows', N, rest()), await measured('GraphQL at 100k rows', N, graphql())];

  // ---- report ----
  const [floorSubmit, restSubmit, gqlSubmit] = submits;
  console.log(`\nbench:path — ${N} submits per face at ${CONNECTIONS} connections, 64×64, 1 step; worker concurrency ${core.config.WORKER_CONCURRENCY}`);
  console.log(
    table(
      ['submits', 'per s', '% floor', 'p50 ms', 'p99 ms', 'errors', 'CPU ms/job'],
      [...submits, ...full].map((r, i) => [
        r.label,
        fmt(r.perSecond),
        fmt((100 * r.perSecond) / (i < 3 ? floorSubmit!.perSecond : full[0]!.perSecond), 0),
        fmt(r.p50),
        fmt(r.p99),
        String(r.errors),
        fmt(r.cpuPerJob, 2),
      ]),
    ),
  );
  console.log(
    `100k rows / empty: REST ${fmt((100 * full[1]!.perSecond) / restSubmit!.perSecond, 0)}%, GraphQL ${fmt((100 * full[2]!.perSecond) / gqlSubmit!.perSecond, 0)}%, floor ${fmt((100 * full[0]!.perSecond) / floorSubmit!.perSecond, 0)}%`,
  );
  console.log(
    '\n' +
      table(
        ['completions', 'per s', '% floor', 'CPU ms/job'],
        [floorDrain, realDrain, floor30, real30].map((r, i) => [r.label, fmt(r.perSecond), fmt((100 * r.perSecond) / (i < 2 ? floorDrain : floor30).perSecond, 0), fmt(r.cpuPerJob, 2)]),
      ),
  );
  console.log(`30-step job: CPU beyond the floor's (same render) ${fmt(real30.cpuPerJob - floor30.cpuPerJob, 2)} ms/job`);
  const breakdown = (r: { label: string; cpu: Record<string, number> }, n: number) =>
    `${r.label}: ${Object.entries(r.cpu)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${fmt(v / n, 2)}`)
      .join(', ')}`;
  console.log('\nCPU ms/job by process');
  for (const r of submits) console.log('  ' + breakdown(r, N));
  console.log('  ' + breakdown(floorDrain, N));
  console.log('  ' + breakdown(realDrain, 2 * N));
  if (floorSql && realSql) {
    console.log('\nSQL per job while draining (BENCH_SQL=1; pg_stat_statements, the bench\'s own polling included)');
    for (const [label, rows] of [['floor worker', floorSql], ['Atelier worker', realSql]] as const) {
      console.log(`  ${label}:`);
      for (const r of rows) console.log(`    ${fmt(r.callsPerJob, 2)} calls, ${fmt(r.msPerJob, 3)} ms/job  ${r.query}`);
    }
  }
  await floorQueue.close();
  floorConnection.disconnect();
} finally {
  for (const child of children) await child.stop().catch(() => undefined);
  await system.stop();
}
