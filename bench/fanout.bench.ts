/**
 * Subscriber fan-out and progress latency, on a whole system (bench.system.ts): `npm run bench:fanout`.
 *   A. progress latency on an idle system: one graphql-ws client follows `jobProgress` of 30-step jobs; per
 *      PROCESSING event, receive time minus the event's `at` (stamped by the worker as it publishes);
 *   B. fan-out: 1k, 5k, 10k graphql-ws sockets (one `jobs` subscription each) on ONE API process; jobs are
 *      submitted and every socket's delivery delay is measured per event (receive − `at`), with the API's RSS.
 * Clients run in this process, so their own CPU shares the machine with the server's: the figures are an upper
 * bound. Env: FANOUT_SIZES (default 1000,5000,10000), FANOUT_JOBS (default 3).
 */
import { readFileSync } from 'node:fs';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { percentile, startBenchSystem, table } from './bench.system.ts';

const SIZES = (process.env.FANOUT_SIZES ?? '1000,5000,10000').split(',').map(Number);
const JOBS = Number(process.env.FANOUT_JOBS ?? 3);
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const system = await startBenchSystem(process.env.FANOUT_PROFILE ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.FANOUT_PROFILE}` } : {});
const wsUrl = system.url.replace('http', 'ws') + '/graphql';
const auth = { authorization: `Bearer ${system.token}`, 'content-type': 'application/json' };
const submit = async (steps: number) => {
  const response = await fetch(`${system.url}/graphql`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ query: `mutation { generateImage(input: {prompt: "fan-out", width: 64, height: 64, steps: ${steps}}) { id } }` }),
  });
  const json = (await response.json()) as { data?: { generateImage: { id: string } }; errors?: unknown };
  if (!json.data) throw new Error(`submit failed: ${JSON.stringify(json.errors)}`);
  return json.data.generateImage.id;
};
const connect = () =>
  new Promise<Client>((resolve, reject) => {
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${system.token}` },
      retryAttempts: 0,
      lazy: false,
      on: { connected: () => resolve(client) },
      onNonLazyError: reject,
    });
  });

const clients: Client[] = [];
try {
  // ---- A. progress latency, idle ----
  const one = await connect();
  clients.push(one);
  const progress: number[] = [];
  const steps = new Map<string, number[]>();
  let finished: ((id: string) => void) | undefined;
  // Subscribed before the jobs exist, so no step can run ahead of the subscription.
  const stop = one.subscribe<{ jobs: { jobId: string; status: string; progress: number; at: string } }>(
    { query: 'subscription { jobs { jobId status progress at } }' },
    {
      next: ({ data }) => {
        if (!data) return;
        const event = data.jobs;
        if (event.status === 'PROCESSING') {
          progress.push(Date.now() - Date.parse(event.at));
          steps.set(event.jobId, [...(steps.get(event.jobId) ?? []), event.progress]);
        }
        if (event.status === 'COMPLETED') finished?.(event.jobId);
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  const probe = await submit(1);
  await new Promise<void>((resolve) => (finished = (id) => id === probe && resolve()));
  progress.length = 0;
  steps.clear();
  for (let i = 0; i < 10; i++) {
    const id = await submit(30);
    await new Promise<void>((resolve) => (finished = (done) => done === id && resolve()));
  }
  stop();
  const inOrder = [...steps.values()].every((list) => list.length === 31 && list.every((p, i) => i === 0 || p >= list[i - 1]!));
  console.log(`   every job: start + 30 steps delivered, in order: ${inOrder}`);
  progress.sort((a, b) => a - b);
  console.log(`A. progress worker → subscriber, 10 jobs × 30 steps, idle: n ${progress.length}, p50 ${fmt(percentile(progress, 50))} ms, p99 ${fmt(percentile(progress, 99))} ms`);

  // ---- B. fan-out ----
  const rows: string[][] = [];
  for (const size of SIZES) {
    const delays: number[] = [];
    let received = 0;
    let onEvent: (() => void) | undefined;
    const rssBefore = rssMb(system.api.child.pid!);
    // In batches of 100: a client that opened its socket but could not say hello in time (this process is busy
    // too) is closed by the server and simply opened again.
    let refused = 0;
    while (clients.length < size + 1) {
      const batch = await Promise.allSettled(Array.from({ length: Math.min(100, size + 1 - clients.length) }, connect));
      for (const result of batch) {
        if (result.status === 'fulfilled') clients.push(result.value);
        else refused++;
      }
    }
    if (refused) console.log(`   (${refused} connection attempts timed out and were retried)`);
    const probe = new Set<string>();
    let expectProbe: string | undefined;
    let probed = 0;
    let probeDone: (() => void) | undefined;
    for (const client of clients.slice(1)) {
      client.subscribe<{ jobs: { jobId: string; status: string; at: string } }>(
        { query: 'subscription { jobs { jobId status progress at } }' },
        {
          next: ({ data }) => {
            if (!data) return;
            if (data.jobs.jobId === expectProbe && data.jobs.status === 'COMPLETED') {
              if (++probed === size) probeDone?.();
              return;
            }
            if (probe.has(data.jobs.jobId)) return;
            delays.push(Date.now() - Date.parse(data.jobs.at));
            received++;
            onEvent?.();
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
    }
    // Every socket has subscribed once each has seen a probe job through.
    for (;;) {
      probed = 0;
      expectProbe = await submit(1);
      probe.add(expectProbe);
      const all = new Promise<boolean>((resolve) => (probeDone = () => resolve(true)));
      if (await Promise.race([all, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))])) break;
    }
    delays.length = 0;
    received = 0;
    // Each job: QUEUED, PROCESSING (start), PROCESSING (step), COMPLETED → 4 events per subscriber.
    const expected = JOBS * 4 * size;
    const done = new Promise<void>((resolve) => (onEvent = () => received >= expected && resolve()));
    for (let j = 0; j < JOBS; j++) await submit(1);
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 60_000))]);
    const rss = rssMb(system.api.child.pid!);
    delays.sort((a, b) => a - b);
    rows.push([String(size), `${received}/${expected}`, fmt(percentile(delays, 50)), fmt(percentile(delays, 99)), fmt(delays.at(-1) ?? NaN), fmt(rssBefore, 0), fmt(rss, 0)]);
    // Unsubscribe all but the idle-latency client before the next size (sockets stay open and are reused).
    for (const client of clients.slice(1)) client.terminate();
    clients.splice(1);
  }
  console.log(`\nB. fan-out: ${JOBS} jobs × 4 events to every \`jobs\` subscriber on one API process`);
  console.log(table(['sockets', 'delivered', 'p50 ms', 'p99 ms', 'max ms', 'API RSS before MB', 'API RSS MB'], rows));
} finally {
  for (const client of clients) client.terminate();
  await system.stop();
}
