import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { decodeWav } from '../../src/media/espeak.tool.ts';
import { ffprobe } from '../../src/media/ffmpeg.tool.ts';
import { renderFrame } from '../../workers/engines/builtin/video.render.ts';
import { UPSCALE_TILES, upscaleTiled } from '../../workers/engines/onnx/upscale.pipeline.ts';
import { writeTinyEsrgan, writeTinyPiper, writeTinyStableDiffusion, writeTinyStableDiffusionXL } from '../../workers/engines/onnx/tiny-packs.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { collect, gql, wsClient } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const fakeSmiDir = fileURLToPath(new URL('../fakes/nvidia-smi', import.meta.url));

const GENERATE = `mutation ($input: GenerateImageInput!) { generateImage(input: $input) { id status } }`;
const PROGRESS = `subscription ($id: ID!) { jobProgress(id: $id) { status progress message result error { code message } } }`;

interface ProgressEvent {
  jobProgress: { status: string; progress: number; message: string | null; result: { urls: string[]; model?: string } | null; error: { code: string; message: string } | null };
}

describe('onnx engine end to end (tiny Stable Diffusion pack, CPU execution provider)', () => {
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'atelier-models-'));
  const env = testEnv({
    WORKER_ENGINES: 'builtin,onnx',
    MODELS_DIR: modelsDir,
    ONNX_CPU_MEMORY_GB: '2',
    // The fake nvidia-smi reports two GPUs, so auto tries CUDA, which this build lacks, and falls back.
    PATH: `${fakeSmiDir}:${process.env.PATH}`,
  });
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    chmodSync(path.join(fakeSmiDir, 'nvidia-smi'), 0o755);
    await writeTinyStableDiffusion(path.join(modelsDir, 'tiny-sd'));
    await writeTinyStableDiffusion(path.join(modelsDir, 'tiny-sd-huge'), { vramGb: 8 });
    await writeTinyEsrgan(path.join(modelsDir, 'tiny-esrgan-x2'), 2);
    await writeTinyPiper(path.join(modelsDir, 'tiny-piper'));
    await writeTinyStableDiffusionXL(path.join(modelsDir, 'tiny-sdxl'));
    core = await testCore(env);
    [user, admin] = await Promise.all([createTestUser(core), createTestUser(core, 'admin')]);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  // A fast job may finish before its subscription starts (the first event is the current state), so steps are
  // counted from the job's record: one duration per progress report, i.e. per denoising step.
  const stepsRun = async (id: string) => {
    const res = await gql<{ job: { stepDurationsMs: number[] } }, unknown>(system.url, 'query ($id: ID!) { job(id: $id) { stepDurationsMs } }', { id }, user.token);
    return res.data!.job.stepDurationsMs.length;
  };

  async function runJob(input: Record<string, unknown>) {
    const created = await gql<{ generateImage: { id: string } }, unknown>(system.url, GENERATE, { input }, user.token);
    expect(created.errors).toBeUndefined();
    const client = wsClient(system.wsUrl, user.token);
    try {
      const id = created.data!.generateImage.id;
      const { done } = collect<ProgressEvent>(client, PROGRESS, { id });
      return Object.assign((await done).map((e) => e.jobProgress), { id });
    } finally {
      await client.dispose();
    }
  }

  it('lists the packs with kind, size and VRAM, and the worker that has them', async () => {
    const res = await gql<{ models: { name: string; kind: string; sizeBytes: number; vramBytes: number; details: Record<string, unknown>; workers: string[] }[] }, unknown>(
      system.url,
      '{ models { name kind sizeBytes vramBytes details workers } }',
      {},
      user.token,
    );
    expect(res.errors).toBeUndefined();
    const byName = (name: string) => res.data!.models.find((m) => m.name === name);
    const [tiny, huge] = [byName('tiny-sd'), byName('tiny-sd-huge')];
    expect(byName('tiny-esrgan-x2')).toMatchObject({ kind: 'UPSCALE', details: { scale: 2 } });
    expect(tiny).toMatchObject({ name: 'tiny-sd', kind: 'STABLE_DIFFUSION', details: { scheduler: 'EulerDiscreteScheduler', img2img: true } });
    expect(tiny!.sizeBytes).toBeGreaterThan(1000);
    expect(tiny!.workers).toHaveLength(1);
    expect(tiny!.workers[0]).toMatch(/:\d+$/);
    expect(huge).toMatchObject({ name: 'tiny-sd-huge', vramBytes: 8 * 1024 ** 3 });
  });

  it('generates a PNG of the asked size with one progress event per step, reproducibly per seed', async () => {
    const input = { prompt: 'a red cat at sunset', width: 128, height: 64, steps: 3, guidance: 7.5, seed: 1234, engine: 'onnx', model: 'tiny-sd' };
    const events = await runJob(input);
    const final = events.at(-1)!;
    expect(final.status).toBe('COMPLETED');
    expect(final.result!.model).toBe('tiny-sd');
    expect(await stepsRun(events.id)).toBe(3);

    const download = async (url: string) => Buffer.from(await (await fetch(url, { headers: { authorization: `Bearer ${user.token}` } })).arrayBuffer());
    const png = await download(final.result!.urls[0]!);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 128, 64]);

    const xl = (await runJob({ ...input, model: 'tiny-sdxl' })).at(-1)!;
    expect(xl.status).toBe('COMPLETED');
    expect((await sharp(await download(xl.result!.urls[0]!)).metadata()).width).toBe(128);

    const again = (await runJob(input)).at(-1)!;
    const other = (await runJob({ ...input, seed: 99 })).at(-1)!;
    const hash = async (e: typeof final) => createHash('sha256').update(await download(e.result!.urls[0]!)).digest('hex');
    expect(await hash(again)).toBe(await hash(final));
    expect(await hash(other)).not.toBe(await hash(final));
  });

  it('upscales ×2 with the ESRGAN pack and runs img2img from a stored image', async () => {
    const source = (await runJob({ prompt: 'a lighthouse', width: 128, height: 64, steps: 2, seed: 3, model: 'tiny-sd' })).at(-1)!;
    const assetId = new URL(source.result!.urls[0]!).pathname.split('/').at(-1)!;
    const created = await gql<{ upscaleImage: { id: string } }, unknown>(system.url, 'mutation ($a: ID!) { upscaleImage(assetId: $a, scale: 2) { id } }', { a: assetId }, user.token);
    expect(created.errors).toBeUndefined();
    const client = wsClient(system.wsUrl, user.token);
    const events = (await collect<ProgressEvent>(client, PROGRESS, { id: created.data!.upscaleImage.id }).done).map((e) => e.jobProgress);
    await client.dispose();
    expect(events.at(-1)!.status).toBe('COMPLETED');
    const png = Buffer.from(await (await fetch(events.at(-1)!.result!.urls[0]!, { headers: { authorization: `Bearer ${user.token}` } })).arrayBuffer());
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([256, 128]);

    const refused = await gql(system.url, 'mutation ($a: ID!) { upscaleImage(assetId: $a, scale: 4) { id } }', { a: assetId }, user.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.message).toBe('No ×4 upscale model. Available: tiny-esrgan-x2 (×2)');

    const img2img = await runJob({ prompt: 'a lighthouse at night', width: 128, height: 64, steps: 4, seed: 3, model: 'tiny-sd', initImageAssetId: assetId, strength: 0.5 });
    expect(img2img.at(-1)!.status).toBe('COMPLETED');
    // strength 0.5 of 4 steps runs the last 2.
    expect(await stepsRun(img2img.id)).toBe(2);
  });

  it('upscales a video with upscale: true: frames rendered at half size, each through the ESRGAN pack, encoded at the asked size', async () => {
    const created = await gql<{ generateVideo: { id: string; engine: string } }, unknown>(
      system.url,
      'mutation ($i: GenerateVideoInput!) { generateVideo(input: $i) { id engine } }',
      { i: { prompt: 'a harbour at dawn', numFrames: 5, seed: 21, videoConfig: { fps: 10, resolution: '96x64', upscale: true } } },
      user.token,
    );
    expect(created.errors).toBeUndefined();
    // Nothing named the engine: a live worker with an ESRGAN pack makes it the onnx engine's job.
    expect(created.data!.generateVideo.engine).toBe('onnx');
    const client = wsClient(system.wsUrl, user.token);
    const events = (await collect<ProgressEvent>(client, PROGRESS, { id: created.data!.generateVideo.id }).done).map((e) => e.jobProgress);
    await client.dispose();
    const final = events.at(-1)! as ProgressEvent['jobProgress'] & { result: { urls: string[]; upscale: unknown; width: number } };
    expect(final.error).toBeNull();
    expect(final.result.upscale).toEqual({ applied: true, model: 'tiny-esrgan-x2', scale: 2, renderedWidth: 48, renderedHeight: 32 });

    const download = async (url: string) => Buffer.from(await (await fetch(url, { headers: { authorization: `Bearer ${user.token}` } })).arrayBuffer());
    const dir = mkdtempSync(path.join(tmpdir(), 'atelier-upscaled-video-'));
    const file = path.join(dir, 'video.mp4');
    writeFileSync(file, await download(final.result.urls[0]!));
    const stream = (await ffprobe(file, ['-count_frames'])).streams.find((s) => s.codec_type === 'video') as unknown as { width: number; height: number; nb_read_frames: string };
    expect([stream.width, stream.height, Number(stream.nb_read_frames)]).toEqual([96, 64, 5]);

    // The poster (middle frame, lossless PNG) is exactly the builtin frame at 48×32 run through the same pack here.
    const session = await ort.InferenceSession.create(path.join(modelsDir, 'tiny-esrgan-x2', 'tiny-esrgan-x2.onnx'));
    const small = renderFrame({ prompt: 'a harbour at dawn', negativePrompt: null, seed: 21, width: 48, height: 32, fps: 10, motionScale: 1, frame: 2 });
    const expected = await upscaleTiled(session, small, 48, 32, 2, UPSCALE_TILES);
    const poster = await sharp(await download(final.result.urls[1]!)).raw().toBuffer({ resolveWithObject: true });
    expect([poster.info.width, poster.info.height]).toEqual([96, 64]);
    expect(Buffer.from(expected).equals(poster.data)).toBe(true);

    const logs = await gql<{ jobLogs: { message: string }[] }, unknown>(system.url, 'query ($id: ID!) { jobLogs(id: $id) { message } }', { id: created.data!.generateVideo.id }, user.token);
    expect(logs.data!.jobLogs.map((l) => l.message)).toContain('Upscaling every frame ×2 with tiny-esrgan-x2 to 96x64');

    // A job naming a pack this worker lacks (another worker's, say) is upscaled with one of its own that fits.
    const foreign = await core.jobs.submitValidated(core.orm.em.fork(), user.actor, {
      kind: 'VIDEO',
      input: { ...(await core.orm.em.fork().findOneOrFail(Job, { id: created.data!.generateVideo.id })).input, upscaleModel: 'esrgan-on-another-worker' },
      priority: 5,
      timeout: 120,
      prompt: 'a harbour at dawn',
      engine: 'onnx',
    });
    const fallback = await waitForJob(system.url, user.token, foreign.id);
    expect(fallback.result).toMatchObject({ upscale: { applied: true, model: 'tiny-esrgan-x2' } });

    // The builtin engine, named, makes the video at its size and says it did not upscale.
    const builtin = await gql<{ generateVideo: { id: string } }, unknown>(
      system.url,
      'mutation ($i: GenerateVideoInput!) { generateVideo(input: $i) { id } }',
      { i: { prompt: 'a harbour at dawn', numFrames: 2, engine: 'builtin', videoConfig: { resolution: '96x64', upscale: true } } },
      user.token,
    );
    const other = wsClient(system.wsUrl, user.token);
    const done = (await collect<ProgressEvent>(other, PROGRESS, { id: builtin.data!.generateVideo.id }).done).at(-1)!.jobProgress;
    await other.dispose();
    expect((done.result as unknown as { upscale: { applied: boolean }; width: number }).upscale.applied).toBe(false);
    expect((done.result as unknown as { width: number }).width).toBe(96);
  });

  it('lists the Piper voice beside the builtin ones and speaks with it (eSpeak NG phonemes → ids → model → WAV)', async () => {
    const voices = await gql<{ voices: { id: string; engine: string; language: string }[] }, unknown>(system.url, '{ voices { id engine language } }', {}, user.token);
    expect(voices.data!.voices.find((v) => v.id === 'en_us_female')?.engine).toBe('builtin');
    expect(voices.data!.voices.at(-1)).toEqual({ id: 'tiny-piper', engine: 'onnx', language: 'en-US' });
    const created = await gql<{ synthesizeSpeech: { id: string } }, unknown>(
      system.url,
      'mutation ($i: SynthesizeSpeechInput!) { synthesizeSpeech(input: $i) { id } }',
      { i: { text: 'Hello there. How are you?', voiceId: 'tiny-piper' } },
      user.token,
    );
    expect(created.errors).toBeUndefined();
    const client = wsClient(system.wsUrl, user.token);
    const events = (await collect<ProgressEvent>(client, PROGRESS, { id: created.data!.synthesizeSpeech.id }).done).map((e) => e.jobProgress);
    await client.dispose();
    const final = events.at(-1)!;
    expect(final.status).toBe('COMPLETED');
    const wav = Buffer.from(await (await fetch(final.result!.urls[0]!, { headers: { authorization: `Bearer ${user.token}` } })).arrayBuffer());
    const pcm = decodeWav(wav);
    expect(pcm.sampleRate).toBe(16000);
    // Two clauses, each at least BOS + a few phonemes with pads + EOS, 256 samples an id, and 0.2 s between.
    expect(pcm.samples.length).toBeGreaterThan(2 * 10 * 256 + 3200);
    const unknown = await gql(system.url, 'mutation { synthesizeSpeech(input: {text: "hi", voiceId: "nope"}) { id } }', {}, user.token);
    expect(unknown.errors?.[0]?.message).toMatch(/Unknown voiceId "nope"\. Available: .*en_us_female.*, tiny-piper$/);
  });

  it('refuses an unknown model, naming the available ones', async () => {
    const res = await gql(system.url, GENERATE, { input: { prompt: 'x', model: 'nope' } }, user.token);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toBe('Unknown model "nope". Available: tiny-sd, tiny-sd-huge, tiny-sdxl');
  });

  it('fails at once with RESOURCE_ERROR when no device could ever hold the pack', async () => {
    const final = (await runJob({ prompt: 'x', width: 64, height: 64, steps: 2, model: 'tiny-sd-huge' })).at(-1)!;
    expect(final.status).toBe('FAILED');
    expect(final.error).toEqual({ code: 'RESOURCE_ERROR', message: 'insufficient VRAM: needs 8 GB, the CPU memory budget is 2 GB' });
  });

  it('reports workers, resources and 1 Hz GPU telemetry from the heartbeats', async () => {
    const workers = await gql<{ workers: { id: string; engines: string[]; executionProvider: string; executionProviderNote: string; gpus: { name: string }[]; status: string; models: string[] }[] }, unknown>(
      system.url,
      '{ workers { id engines executionProvider executionProviderNote gpus { name } status models lastHeartbeat } }',
      {},
      admin.token,
    );
    expect(workers.errors).toBeUndefined();
    expect(workers.data!.workers).toHaveLength(1);
    expect(workers.data!.workers[0]).toMatchObject({
      engines: ['builtin', 'onnx'],
      executionProvider: 'cpu',
      status: 'ONLINE',
      models: ['tiny-esrgan-x2', 'tiny-piper', 'tiny-sd', 'tiny-sd-huge', 'tiny-sdxl'],
      gpus: [{ name: 'NVIDIA GeForce RTX 3090' }, { name: 'NVIDIA GeForce RTX 3060' }],
    });
    expect(workers.data!.workers[0]!.executionProviderNote).toMatch(/^auto: CUDA execution provider unavailable .*fell back to CPU\. .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
    // And loudly in the worker's log: an error, not an info line.
    const logged = system.worker
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logged).toContainEqual(expect.objectContaining({ level: 50, msg: 'CUDA was asked for but its execution provider did not load: the onnx engine runs on the CPU' }));

    const denied = await gql(system.url, '{ resources { system { totalRam } } }', {}, user.token);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const client = wsClient(system.wsUrl, admin.token);
    const seen: { at: string; gpus: { totalVram: number; utilization: number | null }[]; system: { totalRam: number } }[] = [];
    await new Promise<void>((resolve, reject) => {
      const stop = client.subscribe<{ gpuTelemetry: (typeof seen)[number] }>(
        { query: 'subscription { gpuTelemetry { at gpus { totalVram utilization } system { totalRam usedRam cpuPercent } } }' },
        {
          next: (result) => {
            if (result.errors) return reject(new Error(result.errors[0]!.message));
            seen.push(result.data!.gpuTelemetry);
            if (seen.length === 2) {
              stop();
              resolve();
            }
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    await client.dispose();
    expect(seen[0]!.gpus).toEqual([
      { totalVram: 24576 * 1024 * 1024, utilization: 12 },
      { totalVram: 12288 * 1024 * 1024, utilization: 98 },
    ]);
    expect(seen[0]!.system.totalRam).toBeGreaterThan(0);
    const gap = Date.parse(seen[1]!.at) - Date.parse(seen[0]!.at);
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(gap).toBeLessThan(2500);
  });
});
