/**
 * ONNX engine benchmark: `npm run bench:onnx` (or `node bench/onnx.bench.ts`).
 *
 * On a generated tiny Stable Diffusion pack (CPU execution provider unless the machine has CUDA), 512×512,
 * 20 steps, guidance 7.5 (UNet batch 2):
 *   A. a bare loop of session.run calls (text encoder, 20 UNet calls, VAE decode): the floor;
 *   B. the same through runStableDiffusion in this process (tokeniser, scheduler, guidance, PNG);
 *   C. per-job wall time through the real system (mutation → worker → COMPLETED event), one at a time;
 *   D. throughput at 1, 4 and 16 concurrent requests, with dynamic batching on and off (two systems).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { collect, gql, wsClient } from '../test/helpers/graphql.ts';
import { loadSdPackFiles, rgbToPng, runStableDiffusion } from '../workers/engines/onnx/sd.pipeline.ts';
import { writeTinyStableDiffusion } from '../workers/engines/onnx/tiny-packs.ts';
import { type BenchSystem, startBenchSystem, table } from './bench.system.ts';

const SIZE = 512;
const STEPS = 20;
const JOBS = 10;
const root = mkdtempSync(path.join(os.tmpdir(), 'atelier-onnx-bench-'));
const pack = path.join(root, 'tiny-sd');
await writeTinyStableDiffusion(pack);
const ms = (start: number) => performance.now() - start;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function bare(): Promise<number> {
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

async function inProcess(): Promise<number> {
  const files = await loadSdPackFiles(pack);
  const open = (c: string) => ort.InferenceSession.create(path.join(pack, c, 'model.onnx'));
  const sessions = { textEncoder: await open('text_encoder'), unet: await open('unet'), vaeDecoder: await open('vae_decoder') };
  const times = [];
  for (let j = 0; j < JOBS + 1; j++) {
    const start = performance.now();
    const rgb = await runStableDiffusion(files, sessions, { prompt: 'a red cat', width: SIZE, height: SIZE, steps: STEPS, guidance: 7.5, seed: j });
    await rgbToPng(rgb, SIZE, SIZE);
    if (j > 0) times.push(ms(start));
  }
  return mean(times);
}

async function runJob(system: BenchSystem, seed: number): Promise<number> {
  const start = performance.now();
  const created = await gql<{ generateImage: { id: string } }, unknown>(
    system.url,
    'mutation ($i: GenerateImageInput!) { generateImage(input: $i) { id } }',
    { i: { prompt: 'a red cat', width: SIZE, height: SIZE, steps: STEPS, guidance: 7.5, seed, model: 'tiny-sd' } },
    system.token,
  );
  if (created.errors) throw new Error(created.errors[0]!.message);
  const client = wsClient(system.url.replace('http', 'ws') + '/graphql', system.token);
  try {
    const events = await collect<{ jobProgress: { status: string } }>(client, 'subscription ($id: ID!) { jobProgress(id: $id) { status } }', { id: created.data!.generateImage.id }).done;
    if (events.at(-1)!.jobProgress.status !== 'COMPLETED') throw new Error(`job ended ${events.at(-1)!.jobProgress.status}`);
  } finally {
    await client.dispose();
  }
  return ms(start);
}

async function throughput(system: BenchSystem, concurrency: number): Promise<number> {
  const total = Math.max(concurrency * 2, 8);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await runJob(system, next++);
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
  const bareMs = await bare();
  const pipelineMs = await inProcess();
  const rows: string[][] = [];
  const perJob: Record<string, number> = {};
  for (const batching of [false, true]) {
    const system = await startBenchSystem(env(batching));
    try {
      await runJob(system, 0); // loads the sessions
      if (!batching) {
        const times = [];
        for (let j = 0; j < JOBS; j++) times.push(await runJob(system, j));
        perJob.worker = mean(times);
      }
      const figures = [];
      for (const c of [1, 4, 16]) figures.push((await throughput(system, c)).toFixed(2));
      rows.push([batching ? 'with batching' : 'without batching', ...figures]);
    } finally {
      await system.stop();
    }
  }
  console.log(`tiny SD pack, ${SIZE}×${SIZE}, ${STEPS} steps, guidance 7.5, ${os.cpus().length} CPUs, execution provider cpu\n`);
  console.log(
    table(
      ['per job (mean of ' + JOBS + ')', 'ms', '× bare'],
      [
        ['A. bare session.run loop', bareMs.toFixed(1), '1.00'],
        ['B. pipeline in process (+PNG)', pipelineMs.toFixed(1), (pipelineMs / bareMs).toFixed(2)],
        ['C. through API + worker', perJob.worker!.toFixed(1), (perJob.worker! / bareMs).toFixed(2)],
      ],
    ),
  );
  console.log(`\n${table(['throughput (jobs/s)', '1', '4', '16'], rows)}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
