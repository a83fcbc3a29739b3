/**
 * Subscriber fan-out and progress latency, on a whole system (bench.system.ts): `npm run bench:fanout`.
 *   A. progress latency on an idle system: one graphql-ws client follows `jobProgress` of 30-step jobs; per
 *      PROCESSING event, receive time minus the event's `at` (stamped by the worker as it publishes);
 *   B. fan-out: 1k, 5k, 10k graphql-ws sockets (one `jobs` subscription each) on ONE API process; jobs are
 *      submitted and every socket's delivery delay is measured per event (receive − `at`), with the API's RSS.
 * B's subscribers are lean graphql-transport-ws clients on raw `ws` sockets (fanout.clients.ts), spread over
 * FANOUT_CLIENT_PROCS processes (default 2): a full graphql-ws client per socket, all in one process, was itself the
 * bottleneck. They still share this machine's cores with the API, so the figures are an upper bound; the CPU each
 * side spent during the delivery is printed beside them. Env: FANOUT_SIZES (default 1000,5000,10000), FANOUT_JOBS
 * (default 3), FANOUT_CLIENT_PROCS, FANOUT_PROFILE (a directory: the API, worker and client processes write CPU
 * profiles there; the delivery windows are printed on the profiles' clock).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { percentile, startBenchSystem, table } from './bench.system.ts';

const SIZES = (process.env.FANOUT_SIZES ?? '1000,5000,10000').split(',').map(Number);
const JOBS = Number(process.env.FANOUT_JOBS ?? 3);
const CLIENT_PROCS = Number(process.env.FANOUT_CLIENT_PROCS ?? 2);
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
/** CPU milliseconds (user + system) a process has used so far. */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
};
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
const children: ChildProcess[] = [];

/** What one client process answers to a command. */
function answer<T>(child: ChildProcess, type: string): Promise<T> {
  const promise = new Promise<T>((resolve, reject) => {
    const listener = (message: { type: string } & T) => {
      if (message.type !== type) return;
      child.off('message', listener);
      child.off('exit', exited);
      resolve(message);
    };
    const exited = (code: number | null) => reject(new Error(`a client process exited (${code})`));
    child.on('message', listener);
    child.once('exit', exited);
  });
  // One left waiting when a client process is closed (a probe round that timed out) is no failure.
  promise.catch(() => undefined);
  return promise;
}

/** The API's graphql-ws delivery counters (messages sent, writes that carried them), from /metrics. */
async function fanOutCounters(): Promise<{ messages: number; writes: number } | undefined> {
  const text = await (await fetch(`${system.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const counters = { messages: read('atelier_graphql_ws_messages_total'), writes: read('atelier_graphql_ws_writes_total') };
  return Number.isFinite(counters.messages) ? counters : undefined;
}

async function fanOut(size: number): Promise<string[]> {
  const query = 'subscription { jobs { jobId status progress at } }';
  const procs = Array.from({ length: Math.min(CLIENT_PROCS, size) }, () => fork(new URL('./fanout.clients.ts', import.meta.url), [], {
      stdio: 'inherit',
      execArgv: process.env.FANOUT_PROFILE ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${process.env.FANOUT_PROFILE}/clients`] : process.execArgv,
    }));
  children.push(...procs);
  try {
    await Promise.all(procs.map((child) => answer(child, 'ready')));
    const rssBefore = rssMb(system.api.child.pid!);
    const share = (i: number) => Math.floor(size / procs.length) + (i < size % procs.length ? 1 : 0);
    const connected = await Promise.all(
      procs.map((child, i) => {
        const done = answer<{ refused: number }>(child, 'connected');
        child.send({ type: 'connect', url: wsUrl, token: system.token, count: share(i), query });
        return done;
      }),
    );
    const refused = connected.reduce((sum, c) => sum + c.refused, 0);
    if (refused) console.log(`   (${refused} connection attempts timed out and were retried)`);
    // Every socket has subscribed once each has seen a probe job through.
    const probes: string[] = [];
    for (;;) {
      const jobId = await submit(1);
      probes.push(jobId);
      const all = Promise.all(procs.map((child) => answer(child, 'probed')));
      for (const child of procs) child.send({ type: 'probe', jobId });
      if (await Promise.race([all.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))])) break;
    }
    // Each job: QUEUED, PROCESSING (start), PROCESSING (step), COMPLETED → 4 events per subscriber.
    const perSocket = JOBS * 4;
    const measured = Promise.all(procs.map((child) => answer(child, 'measured')));
    for (const child of procs) child.send({ type: 'measure', perSocket, ignore: probes });
    const writesBefore = await fanOutCounters();
    const apiCpu = cpuMs(system.api.child.pid!);
    const windowStart = process.hrtime.bigint() / 1000n;
    for (let j = 0; j < JOBS; j++) await submit(1);
    await Promise.race([measured, new Promise((resolve) => setTimeout(resolve, 60_000))]);
    const apiCpuUsed = cpuMs(system.api.child.pid!) - apiCpu;
    // CPU profiles count time on the same monotonic clock, in µs: this window is the delivery.
    if (process.env.FANOUT_PROFILE) console.log(`   ${size} sockets: delivery window ${windowStart}–${process.hrtime.bigint() / 1000n} µs (monotonic)`);
    const rss = rssMb(system.api.child.pid!);
    const writesAfter = await fanOutCounters();
    const reports = await Promise.all(
      procs.map((child) => {
        const report = answer<{ delays: number[]; cpuMs: number }>(child, 'report');
        child.send({ type: 'report' });
        return report;
      }),
    );
    const delays = reports.flatMap((r) => r.delays).sort((a, b) => a - b);
    const clientsCpu = reports.reduce((sum, r) => sum + r.cpuMs, 0);
    return [
      String(size),
      `${delays.length}/${perSocket * size}`,
      fmt(percentile(delays, 50)),
      fmt(percentile(delays, 99)),
      fmt(delays.at(-1) ?? NaN),
      writesBefore && writesAfter ? fmt((writesAfter.messages - writesBefore.messages) / (writesAfter.writes - writesBefore.writes), 2) : '–',
      fmt(apiCpuUsed, 0),
      fmt(clientsCpu, 0),
      fmt(rssBefore, 0),
      fmt(rss, 0),
    ];
  } finally {
    for (const child of procs) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'close' });
      await exited;
      children.splice(children.indexOf(child), 1);
    }
  }
}

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
  for (const size of SIZES) rows.push(await fanOut(size));
  console.log(`\nB. fan-out: ${JOBS} jobs × 4 events to every \`jobs\` subscriber on one API process; subscribers are lean raw-ws clients in ${CLIENT_PROCS} process(es) of their own`);
  console.log('   delay = receive time − the event\'s `at` (stamped as it is published), per event and subscriber; CPU = during the delivery');
  console.log(table(['sockets', 'delivered', 'p50 ms', 'p99 ms', 'max ms', 'msgs/write', 'API CPU ms', 'clients CPU ms', 'API RSS before MB', 'API RSS MB'], rows));
  console.log(`   load average at the end: ${loadavg().map((n) => n.toFixed(2)).join(' ')} (${cpus().length} cores)`);
} finally {
  for (const client of clients) client.terminate();
  for (const child of children) child.kill();
  await system.stop();
}
