/**
 * Mixed workload: `./atelier bench:mixed`. 100 jobs through the real API and ONE worker (default
 * concurrency): 25 images (512×512, 30 steps), 25 videos (48 frames, 512×512), 25 speech syntheses
 * (about 8 s of audio) and 25 talking heads (2 s of audio, a 256×320 portrait). Prints jobs/min for the
 * whole mix and the run time of each kind (job.runMs: time on the worker, not counting the queue).
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import sharp from 'sharp';
import { Asset, type AssetKind } from '../src/db/entities/asset.entity.ts';
import { Job } from '../src/db/entities/job.entity.ts';
import { ffmpeg } from '../src/media/ffmpeg.tool.ts';
import { percentile, startBenchSystem, table, type BenchSystem } from './bench.system.ts';

const PER_KIND = 25;
const DEADLINE_MS = 15 * 60_000;

async function storeAsset(system: BenchSystem, kind: AssetKind, mime: string, extension: string, data: Buffer) {
  const em = system.core.orm.em.fork();
  const asset = em.create(Asset, {
    kind,
    mime,
    bytes: data.byteLength,
    sha256: createHash('sha256').update(data).digest('hex'),
    storageKey: '',
    owner: system.user,
  });
  asset.storageKey = `assets/${system.user.id}/${asset.id}.${extension}`;
  await system.core.storage.put(asset.storageKey, data);
  await em.flush();
  return asset.id;
}

async function gql(system: BenchSystem, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${system.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${system.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, { id: string }>; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return Object.values(body.data!)[0]!.id;
}

const system = await startBenchSystem();
try {
  const portrait = await sharp({ create: { width: 256, height: 320, channels: 3, background: { r: 200, g: 160, b: 140 } } }).png().toBuffer();
  const audio = await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=220:duration=2', '-af', 'volume=0.5', '-f', 'wav', '-']);
  const imageAssetId = await storeAsset(system, 'IMAGE', 'image/png', 'png', portrait);
  const audioAssetId = await storeAsset(system, 'AUDIO', 'audio/wav', 'wav', audio);
  const text = 'Atelier turns requests into images, videos, voices and talking heads, and follows every job live.';

  const started = performance.now();
  const submissions: Promise<string>[] = [];
  for (let i = 0; i < PER_KIND; i++) {
    submissions.push(
      gql(system, `mutation ($input: GenerateImageInput!) { generateImage(input: $input) { id } }`, {
        input: { prompt: `mixed image ${i}`, width: 512, height: 512, steps: 30, seed: i },
      }),
      gql(system, `mutation ($input: GenerateVideoInput!) { generateVideo(input: $input) { id } }`, {
        input: { prompt: `mixed video ${i}`, numFrames: 48, fps: 24, videoConfig: { resolution: '512x512' }, seed: i },
      }),
      gql(system, `mutation ($input: SynthesizeSpeechInput!) { synthesizeSpeech(input: $input) { id } }`, {
        input: { text, voiceId: i % 2 ? 'en_us_female' : 'pt_br_male' },
      }),
      gql(system, `mutation ($input: GenerateTalkingHeadInput!) { generateTalkingHead(input: $input) { id } }`, {
        input: { imageAssetId, audioAssetId },
      }),
    );
  }
  const ids = await Promise.all(submissions);
  const submitMs = performance.now() - started;

  let jobs: Job[] = [];
  for (;;) {
    jobs = await system.core.orm.em.fork().find(Job, { id: { $in: ids } });
    if (jobs.every((j) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(j.status))) break;
    if (performance.now() - started > DEADLINE_MS) throw new Error('jobs did not finish in time');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const wallMs = Math.max(...jobs.map((j) => j.finishedAt!.getTime())) - Math.min(...jobs.map((j) => j.createdAt.getTime()));
  const failed = jobs.filter((j) => j.status !== 'COMPLETED');

  const rows = (['IMAGE', 'VIDEO', 'SPEECH', 'TALKING_HEAD'] as const).map((kind) => {
    const runs = jobs
      .filter((j) => j.kind === kind && j.startedAt && j.finishedAt)
      .map((j) => j.finishedAt!.getTime() - j.startedAt!.getTime())
      .sort((a, b) => a - b);
    const total = runs.reduce((s, v) => s + v, 0);
    return [kind, String(runs.length), percentile(runs, 50).toFixed(0), percentile(runs, 95).toFixed(0), (total / runs.length).toFixed(0)];
  });

  console.log(`\nMixed workload: ${ids.length} jobs (${PER_KIND} of each kind), one worker (concurrency ${process.env.WORKER_CONCURRENCY ?? 2})`);
  console.log(`machine: ${os.cpus().length} cpus, node ${process.version}, load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}\n`);
  console.log(`submitted in ${(submitMs / 1000).toFixed(1)} s; all finished ${(wallMs / 1000).toFixed(1)} s after the first was created`);
  console.log(`throughput: ${((ids.length / wallMs) * 60_000).toFixed(1)} jobs/min; failed: ${failed.length}\n`);
  console.log(table(['kind', 'jobs', 'run p50 ms', 'run p95 ms', 'run mean ms'], rows));
  for (const job of failed) console.log(`FAILED ${job.kind} ${job.id}: ${job.errorCode} ${job.errorMessage}`);
  if (failed.length) process.exitCode = 1;
} finally {
  await system.stop();
}
