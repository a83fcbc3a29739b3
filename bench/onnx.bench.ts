/**
 * ONNX engine benchmark: `npm run bench:onnx` (or `node bench/onnx.bench.ts`).
 *
 * On two generated Stable Diffusion packs (CPU execution provider), 512×512, 20 steps, guidance 7.5 (UNet
 * batch 2): `tiny-sd`, the smallest the layout allows (a step is a fraction of a millisecond of compute), and
 * `bench-sd`, whose UNet has two 160-channel conv layers so a step costs about what a real SD 1.5 UNet step
 * costs on a data-centre GPU (tens of ms). For each:
 *   A. a bare loop of session.run calls (text encoder, 20 UNet calls, VAE decode): the floor;
 *   B. the same through runStableDiffusion in this process (tokeniser, scheduler, guidance, the dtype adapter, PNG);
 *   B2. B with the sessions in an inference thread and the worker's session options, as the worker runs them;
 *   C. one job at a time through the real system: the worker's own time (the job's runMs: started → finished,
 *      PNG and stored asset included), and the client's (mutation → COMPLETED event over an open graphql-ws).
 * Then D. throughput on tiny-sd at 1, 4 and 16 concurrent requests, with dynamic batching on and off.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Client } from 'graphql-ws';
import { collect, gql, wsClient } from '../test/helpers/graphql.ts';
import { InferenceHost } from '../workers/engines/onnx/inference.host.ts';
import { sessionOptions } from '../workers/engines/onnx/onnx.runtime.ts';
import { loadSdPackFiles, rgbToPng, type Runner, runStableDiffusion } from '../workers/engines/onnx/sd.pipeline.ts';
import { openSession } from '../workers/engines/onnx/session.adapter.ts';
import { writeTinyStableDiffusion } from '../workers/engines/onnx/tiny-packs.ts';
import { type BenchSystem, startBenchSystem, table } from './bench.system.ts';

const SIZE = 512;
const STEPS = 20;
const JOBS = 10;
const PACKS = { 'tiny-sd': {}, 'bench-sd': { unetWidth: 160 } } as const;
type PackName = keyof typeof PACKS;
const root = mkdtempSync(path.join(os.tmpdir(), 'atelier-onnx-bench-'));
for (const [name, options] of Object.entries(PACKS)) await writeTinyStableDiffusion(path.join(root, name), options);
const ms = (start: number) => performance.now() - start;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function bare(name: PackName): Promise<number> {
  const pack = path.join(root, name);
  const open = (c: string) => ort.InferenceSession.create(path.join(pack, c, 'model.onnx'));
  const [text, unet, vae] = await Promise.all([open('text_encoder'), open('unet'), open('vae_decoder')]);
  const latent = SIZE / 8;
  const times = [];
  for (let j = 0; j < JOBS + 1; j++) {
    const start = performance.now();
    const emb = (await text.run({ input_ids: new ort.Tensor('int32', new Int32Array(2 * 77), [2, 77]) })).last_hidden_state!;
    let sample = new Float32Array(4 * latent * latent);
    for (let s = 0; s < STEPS; s++) {
      const doubled = new Float32Array(sample.length * 2);
      doubled.set(sample);
      doubled.set(sample, sample.length);
      const out = await unet.run({
        sample: new ort.Tensor('float32', doubled, [2, 4, latent, latent]),
        timestep: new ort.Tensor('int64', BigInt64Array.from([BigInt(999 - s * 50)]), [1]),
        encoder_hidden_states: emb,
      });
      sample = (out.out_sample!.data as Float32Array).slice(0, sample.length);
    }
    await vae.run({ latent_sample: new ort.Tensor('float32', sample, [1, 4, latent, latent]) });
    if (j > 0) times.push(ms(start)); // the first run warms the sessions up
  }
  return mean(times);
}

/** Mean time of JOBS runs of the whole pipeline plus PNG on sessions that `open` gives (after one warm-up run). */
async function pipeline(name: PackName, open: (file: string) => Promise<Runner>): Promise<number> {
  const pack = path.join(root, name);
  const files = await loadSdPackFiles(pack);
  const load = (c: string) => open(path.join(pack, c, 'model.onnx'));
  const sessions = { textEncoder: await load('text_encoder'), unet: await load('unet'), vaeDecoder: await load('vae_decoder') };
  const times = [];
  for (let j = 0; j < JOBS + 1; j++) {
    const start = performance.now();
    const rgb = await runStableDiffusion(files, sessions, { prompt: 'a red cat', width: SIZE, height: SIZE, steps: STEPS, guidance: 7.5, seed: j });
    await rgbToPng(rgb, SIZE, SIZE);
    if (j > 0) times.push(ms(start));
  }
  return mean(times);
}

// Behind the dtype adapter, as every session the worker runs is.
const inProcess = (name: PackName) => pipeline(name, (file) => openSession(file));

/** B through an inference thread with the worker's session options: what the worker adds before any I/O. */
async function viaThread(name: PackName): Promise<number> {
  const host = new InferenceHost();
  try {
    return await pipeline(name, (file) => host.load(file, sessionOptions('cpu')));
  } finally {
    await host.close();
  }
}

interface JobTimes {
  /** Mutation sent → COMPLETED event received. */
  clientMs: number;
  /** The job's own runMs: the worker started it → finished it. */
  runMs: number;
}

async function runJob(system: BenchSystem, client: Client, seed: number, model: PackName = 'tiny-sd'): Promise<JobTimes> {
  const start = performance.now();
  const created = await gql<{ generateImage: { id: string } }, unknown>(
    system.url,
    'mutation ($i: GenerateImageInput!) { generateImage(input: $i) { id } }',
    { i: { prompt: 'a red cat', width: SIZE, height: SIZE, steps: STEPS, guidance: 7.5, seed, model } },
    system.token,
  );
  if (created.errors) throw new Error(created.errors[0]!.message);
  const id = created.data!.generateImage.id;
  const events = await collect<{ jobProgress: { status: string } }>(client, 'subscription ($id: ID!) { jobProgress(id: $id) { status } }', { id }).done;
  const clientMs = ms(start);
  if (events.at(-1)!.jobProgress.status !== 'COMPLETED') throw new Error(`job ended ${events.at(-1)!.jobProgress.status}`);
  const job = await gql<{ job: { runMs: number } }, unknown>(system.url, 'query ($id: ID!) { job(id: $id) { runMs } }', { id }, system.token);
  return { clientMs, runMs: job.data!.job.runMs };
}

async function throughput(system: BenchSystem, client: Client, concurrency: number): Promise<number> {
  const total = Math.max(concurrency * 2, 8);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await runJob(system, client, next++);
    }),
  );
  return total / (ms(start) / 1000);
}

const env = (batching: boolean) => ({
  WORKER_ENGINES: 'builtin,onnx',
  MODELS_DIR: root,
  WORKER_CONCURRENCY: '16',
  MAX_CONCURRENT_PER_GPU: '16',
  ONNX_MAX_BATCH: batching ? '16' : '1',
  ONNX_BATCH_WINDOW_MS: batching ? '20' : '0',
  LOG_LEVEL: 'error',
});

try {
  const floors = new Map<PackName, { bare: number; pipeline: number; thread: number }>();
  for (const name of Object.keys(PACKS) as PackName[]) floors.set(name, { bare: await bare(name), pipeline: await inProcess(name), thread: await viaThread(name) });
  const rows: string[][] = [];
  const perJob = new Map<PackName, { run: number; client: number }>();
  for (const batching of [false, true]) {
    const system = await startBenchSystem(env(batching));
    const client = wsClient(system.url.replace('http', 'ws') + '/graphql', system.token, { lazy: false });
    try {
      for (const name of Object.keys(PACKS) as PackName[]) {
        await runJob(system, client, 0, name); // loads the sessions
        if (batching) continue;
        const times: JobTimes[] = [];
        for (let j = 0; j < JOBS; j++) times.push(await runJob(system, client, j, name));
        perJob.set(name, { run: mean(times.map((t) => t.runMs)), client: mean(times.map((t) => t.clientMs)) });
      }
      const figures = [];
      for (const c of [1, 4, 16]) figures.push((await throughput(system, client, c)).toFixed(2));
      rows.push([batching ? 'with batching' : 'without batching', ...figures]);
    } finally {
      await client.dispose();
      await system.stop();
    }
  }
  console.log(`${SIZE}×${SIZE}, ${STEPS} steps, guidance 7.5, ${os.cpus().length} CPUs, execution provider cpu\n`);
  const ratio = (value: number, floor: number) => (value / floor).toFixed(2);
  for (const name of Object.keys(PACKS) as PackName[]) {
    const { bare: bareMs, pipeline, thread } = floors.get(name)!;
    const { run, client } = perJob.get(name)!;
    console.log(
      table(
        [`${name}: per job (mean of ${JOBS})`, 'ms', '× bare', 'over bare (ms)'],
        [
          ['A. bare session.run loop', bareMs.toFixed(1), '1.00', '0'],
          ['B. pipeline in process (+PNG)', pipeline.toFixed(1), ratio(pipeline, bareMs), (pipeline - bareMs).toFixed(1)],
          ['B2. same via an inference thread', thread.toFixed(1), ratio(thread, bareMs), (thread - bareMs).toFixed(1)],
          ['C1. worker run (job runMs)', run.toFixed(1), ratio(run, bareMs), (run - bareMs).toFixed(1)],
          ['C2. client: mutation → COMPLETED', client.toFixed(1), ratio(client, bareMs), (client - bareMs).toFixed(1)],
        ],
      ),
      '\n',
    );
  }
  console.log(`${table(['tiny-sd throughput (jobs/s)', '1', '4', '16'], rows)}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
