/**
 * REST compatibility layer figures, on a whole system (bench.system.ts):
 *   A. submission: 1,000 `POST /api/v1/images/generate` with `Prefer: respond-async` against 1,000 GraphQL
 *      `generateImage` mutations, 16 concurrent clients each — the REST face's cost over GraphQL's;
 *   B. a synchronous `POST /generate/image` (64×64, 4 steps): request to finished image, 20 in a row;
 *   C. the Redis rate limiter's cost: `GET /api/v1/tasks` latency with the limits on (a second API process
 *      on the same database and Redis with default limits) against the bench's own process (limits lifted).
 * Run: node bench/rest.bench.ts
 */
import getPort from 'get-port';
import { startProcess } from '../test/helpers/processes.ts';
import { percentile, startBenchSystem } from './bench.system.ts';

const TOTAL = 1000;
const CONCURRENCY = 16;

async function closedLoop(total: number, concurrency: number, op: () => Promise<boolean>) {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t = performance.now();
        if (!(await op())) errors++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: total / seconds, errors, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) };
}

const fmt = (n: number) => n.toFixed(1);

const system = await startBenchSystem({ WORKER_CONCURRENCY: '2' });
try {
  const auth = { authorization: `Bearer ${system.token}`, 'content-type': 'application/json' };
  const restSubmit = async () => {
    const response = await fetch(`${system.url}/api/v1/images/generate`, {
      method: 'POST',
      headers: { ...auth, prefer: 'respond-async' },
      body: JSON.stringify({ prompt: 'bench', width: 64, height: 64, steps: 1 }),
    });
    await response.arrayBuffer();
    return response.status === 200;
  };
  const graphqlSubmit = async () => {
    const response = await fetch(`${system.url}/graphql`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ query: 'mutation { generateImage(input: {prompt: "bench", width: 64, height: 64, steps: 1}) { id status } }' }),
    });
    const json = (await response.json()) as { errors?: unknown[] };
    return response.status === 200 && !json.errors;
  };
  await closedLoop(100, CONCURRENCY, restSubmit);
  await closedLoop(100, CONCURRENCY, graphqlSubmit);
  const rest = await closedLoop(TOTAL, CONCURRENCY, restSubmit);
  const graphql = await closedLoop(TOTAL, CONCURRENCY, graphqlSubmit);
  console.log(`A. submission, ${TOTAL} each, ${CONCURRENCY} concurrent clients (64×64, 1 step, respond-async)`);
  console.log(`   REST    ${fmt(rest.perSecond)}/s  p50 ${fmt(rest.p50)} ms  p95 ${fmt(rest.p95)} ms  p99 ${fmt(rest.p99)} ms  errors ${rest.errors}`);
  console.log(`   GraphQL ${fmt(graphql.perSecond)}/s  p50 ${fmt(graphql.p50)} ms  p95 ${fmt(graphql.p95)} ms  p99 ${fmt(graphql.p99)} ms  errors ${graphql.errors}`);

  // Let the worker drain the submissions before timing synchronous requests.
  const drain = Date.now() + 300_000;
  while (Date.now() < drain) {
    const [row] = await system.core.orm.em.fork().getConnection().execute<{ n: number }[]>(`select count(*)::int as n from jobs where status in ('QUEUED', 'PROCESSING')`);
    if (!row?.n) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const sync: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const response = await fetch(`${system.url}/generate/image`, { method: 'POST', headers: auth, body: JSON.stringify({ prompt: `sync ${i}`, width: 64, height: 64, num_inference_steps: 4 }) });
    const body = (await response.json()) as { status: string };
    if (body.status !== 'completed') throw new Error(`sync request ended ${JSON.stringify(body)}`);
    sync.push(performance.now() - t);
  }
  sync.sort((a, b) => a - b);
  console.log(`B. synchronous POST /generate/image (64×64, 4 steps), 20 in a row: p50 ${fmt(percentile(sync, 50))} ms  p95 ${fmt(percentile(sync, 95))} ms`);

  const port = await getPort({ host: '127.0.0.1' });
  const limitedEnv = { ...system.env, PORT: String(port), RATE_LIMIT_GLOBAL: '500', RATE_LIMIT_GENERATE_IMAGE: '100', RATE_LIMIT_GENERATE_VIDEO: '20' };
  const limited = await startProcess('server/main.ts', limitedEnv, 60_000);
  try {
    const read = (base: string) => async () => {
      const response = await fetch(`${base}/api/v1/tasks`, { headers: auth });
      await response.arrayBuffer();
      return response.status === 200 || response.status === 429;
    };
    const limitedUrl = `http://127.0.0.1:${port}`;
    await closedLoop(200, 4, read(limitedUrl));
    await closedLoop(200, 4, read(system.url));
    const on = await closedLoop(400, 4, read(limitedUrl));
    const off = await closedLoop(400, 4, read(system.url));
    console.log(`C. GET /api/v1/tasks, 400 requests, 4 concurrent clients`);
    console.log(`   limits on (500/s)  ${fmt(on.perSecond)}/s  p50 ${fmt(on.p50)} ms  p95 ${fmt(on.p95)} ms`);
    console.log(`   limits lifted      ${fmt(off.perSecond)}/s  p50 ${fmt(off.p50)} ms  p95 ${fmt(off.p95)} ms`);
  } finally {
    await limited.stop();
  }
} finally {
  await system.stop();
}
