import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadClipTokenizer } from '../../workers/engines/onnx/clip.tokenizer.ts';
import { discoverModels } from '../../workers/engines/onnx/model.catalog.ts';
import { createScheduler } from '../../workers/engines/onnx/schedulers.ts';
import { openSession } from '../../workers/engines/onnx/session.adapter.ts';
import { loadSdPackFiles, pngToRgb, runStableDiffusion, type SdPackFiles, type SdSessions } from '../../workers/engines/onnx/sd.pipeline.ts';
import { writeTinyPacks } from '../../workers/engines/onnx/tiny-packs.ts';

const root = mkdtempSync(path.join(tmpdir(), 'atelier-packs-'));

async function openPack(name: string) {
  const dir = path.join(root, name);
  const open = (c: string) => openSession(path.join(dir, c, 'model.onnx'));
  const sessions: SdSessions = { textEncoder: await open('text_encoder'), unet: await open('unet'), vaeDecoder: await open('vae_decoder'), vaeEncoder: await open('vae_encoder') };
  return { files: await loadSdPackFiles(dir), sessions };
}

/** Watches the real UNet: batch size and timestep of every call. */
function watchUnet(sessions: SdSessions) {
  const calls: { batch: number; timestep: number }[] = [];
  const unet = sessions.unet;
  const watched: SdSessions = {
    ...sessions,
    unet: {
      inputMetadata: unet.inputMetadata,
      run: ((feeds: Record<string, ort.Tensor>) => {
        calls.push({ batch: feeds.sample!.dims[0]!, timestep: Number(feeds.timestep!.data[0]) });
        return unet.run(feeds);
      }) as SdSessions['unet']['run'],
    },
  };
  return { calls, sessions: watched };
}

describe('Stable Diffusion pipeline on the tiny pack', () => {
  let pack: { files: SdPackFiles; sessions: SdSessions };
  const base = { prompt: 'a photo of a red cat', width: 64, height: 64, steps: 4, guidance: 7.5, seed: 42 };

  beforeAll(async () => {
    await writeTinyPacks(root);
    pack = await openPack('tiny-sd');
  });

  it('discovers every generated pack with its kind', async () => {
    const packs = await discoverModels(root);
    expect(packs.map((p) => [p.name, p.kind])).toEqual([
      ['tiny-esrgan-x2', 'UPSCALE'],
      ['tiny-piper', 'VOICE'],
      ['tiny-sd', 'STABLE_DIFFUSION'],
      ['tiny-sd-lcm-v', 'STABLE_DIFFUSION'],
      ['tiny-sdxl', 'SDXL'],
    ]);
    expect(packs[0]!.details.scale).toBe(2);
    expect(packs[3]!.details).toMatchObject({ scheduler: 'LCMScheduler', predictionType: 'v_prediction' });
  });

  it('tokenises with CLIP BPE from vocab.json + merges.txt, padded to 77', async () => {
    const tokenizer = await loadClipTokenizer(path.join(root, 'tiny-sd', 'tokenizer'));
    const vocab = (await import(path.join(root, 'tiny-sd', 'tokenizer', 'vocab.json'), { with: { type: 'json' } })).default as Record<string, number>;
    const ids = Array.from(tokenizer.encode('A  Photo of the RED cat!'));
    expect(ids.slice(0, 8)).toEqual(['<|startoftext|>', 'a</w>', 'photo</w>', 'of</w>', 'the</w>', 'red</w>', 'cat</w>', '!</w>'].map((t) => vocab[t]));
    expect(ids).toHaveLength(77);
    expect(ids.slice(8).every((id) => id === vocab['<|endoftext|>'])).toBe(true);
  });

  it('is reproducible per seed and differs across seeds and prompts', async () => {
    const a = await runStableDiffusion(pack.files, pack.sessions, base);
    const b = await runStableDiffusion(pack.files, pack.sessions, base);
    const c = await runStableDiffusion(pack.files, pack.sessions, { ...base, seed: 43 });
    const d = await runStableDiffusion(pack.files, pack.sessions, { ...base, prompt: 'a blue dog' });
    expect(a).toHaveLength(64 * 64 * 3);
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(c).equals(Buffer.from(a))).toBe(false);
    expect(Buffer.from(d).equals(Buffer.from(a))).toBe(false);
  });

  it('reports one progress event per step and runs the scheduler timesteps in order', async () => {
    const steps: [number, number][] = [];
    const { calls, sessions } = watchUnet(pack.sessions);
    await runStableDiffusion(pack.files, sessions, { ...base, steps: 5 }, { onStep: (step, total) => steps.push([step, total]) });
    expect(steps).toEqual([1, 2, 3, 4, 5].map((s) => [s, 5]));
    expect(calls.map((c) => c.timestep)).toEqual(createScheduler(pack.files.scheduler, 5).timesteps);
  });

  it('doubles the UNet batch for classifier-free guidance, and not without it', async () => {
    const guided = watchUnet(pack.sessions);
    await runStableDiffusion(pack.files, guided.sessions, base);
    expect(guided.calls.map((c) => c.batch)).toEqual([2, 2, 2, 2]);
    const unguided = watchUnet(pack.sessions);
    await runStableDiffusion(pack.files, unguided.sessions, { ...base, guidance: 1 });
    expect(unguided.calls.map((c) => c.batch)).toEqual([1, 1, 1, 1]);
  });

  it('img2img with strength skips the first steps and starts from the image', async () => {
    const init = { rgb: new Uint8Array(64 * 64 * 3).fill(200), strength: 0.3 };
    const { calls, sessions } = watchUnet(pack.sessions);
    const progress: number[] = [];
    await runStableDiffusion(pack.files, sessions, { ...base, steps: 10, init }, { onStep: (s) => progress.push(s) });
    expect(calls.map((c) => c.timestep)).toEqual(createScheduler(pack.files.scheduler, 10).timesteps.slice(7));
    expect(progress).toEqual([1, 2, 3]);
  });

  it('keeps the event loop free while sessions run in an inference thread (heartbeats and progress keep flowing)', async () => {
    const { InferenceHost } = await import('../../workers/engines/onnx/inference.host.ts');
    const host = new InferenceHost();
    const load = (c: string) => host.load(path.join(root, 'tiny-sd', c, 'model.onnx'), { executionProviders: ['cpu'] });
    const sessions: SdSessions = { textEncoder: await load('text_encoder'), unet: await load('unet'), vaeDecoder: await load('vae_decoder') };
    const request = { ...base, width: 256, height: 256, steps: 4 };
    // Same pixels as sessions on the main thread.
    const threaded = await runStableDiffusion(pack.files, sessions, request);
    expect(Buffer.from(threaded).equals(Buffer.from(await runStableDiffusion(pack.files, pack.sessions, request)))).toBe(true);

    // A heavy run (the VAE decoding to 1024², several times) must leave the loop free: a 5 ms timer keeps
    // ticking. On the main thread, session.run holds the loop and the timer barely fires.
    const vae = await load('vae_decoder');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    for (let i = 0; i < 5; i++) await vae.run({ latent_sample: new ort.Tensor('float32', new Float32Array(4 * 128 * 128), [1, 4, 128, 128]) });
    const elapsed = performance.now() - started;
    clearInterval(timer);
    await host.close();
    expect(ticks).toBeGreaterThan(Math.min(20, elapsed / 5 / 4));
  });

  it('stops at the next step when aborted', async () => {
    const controller = new AbortController();
    const run = runStableDiffusion(pack.files, pack.sessions, { ...base, steps: 20 }, { signal: controller.signal, onStep: (s) => s === 2 && controller.abort(new Error('cancelled')) });
    await expect(run).rejects.toThrow('cancelled');
  });

  it('runs the LCM v_prediction pack', async () => {
    const lcm = await openPack('tiny-sd-lcm-v');
    const { calls, sessions } = watchUnet(lcm.sessions);
    const rgb = await runStableDiffusion(lcm.files, sessions, { ...base, steps: 4, guidance: 1 });
    expect(calls.map((c) => c.timestep)).toEqual([999, 759, 499, 259]);
    expect(rgb).toHaveLength(64 * 64 * 3);
  });
});

describe('dynamic UNet batching', () => {
  it('runs jobs of one size in lockstep as one UNet batch, with results equal to unbatched runs', async () => {
    const { UnetBatcher } = await import('../../workers/engines/onnx/unet.batcher.ts');
    const pack = await openPack('tiny-sd');
    const requests = [
      { prompt: 'a red cat', width: 64, height: 64, steps: 3, guidance: 7.5, seed: 1 },
      { prompt: 'a blue dog', width: 64, height: 64, steps: 3, guidance: 7.5, seed: 2 },
      { prompt: 'a sunset', width: 64, height: 64, steps: 3, guidance: 1, seed: 3 },
    ];
    const alone: Uint8Array[] = [];
    for (const r of requests) alone.push(await runStableDiffusion(pack.files, pack.sessions, r));

    const watched = watchUnet(pack.sessions);
    const batcher = new UnetBatcher(watched.sessions.unet, { windowMs: 1000, maxBatch: 8 });
    const progress: number[][] = requests.map(() => []);
    const together = await Promise.all(
      requests.map(async (r, i) => {
        const job = batcher.forJob(r.width, r.height);
        try {
          return await runStableDiffusion(pack.files, { ...pack.sessions, unet: job.unet }, r, { onStep: (s) => progress[i]!.push(s) });
        } finally {
          job.done();
        }
      }),
    );
    together.forEach((rgb, i) => expect(Buffer.from(rgb).equals(Buffer.from(alone[i]!))).toBe(true));
    // Two guided jobs (batch 2 each) and one unguided (batch 1): one UNet call of 5 per step.
    expect(watched.calls.map((c) => c.batch)).toEqual([5, 5, 5]);
    expect(progress).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
  });
});

describe('SDXL pipeline on the tiny SDXL pack', () => {
  it('feeds both encoders (penultimate layers), pooled text_embeds and time_ids; zeros for an empty negative prompt', async () => {
    const dir = path.join(root, 'tiny-sdxl');
    const open = (c: string) => openSession(path.join(dir, c, 'model.onnx'));
    const files = await loadSdPackFiles(dir);
    expect(files.vaeScale).toBe(0.13025);
    expect(files.zerosForEmptyPrompt).toBe(true);
    const unet = await open('unet');
    const seen: Record<string, ort.Tensor>[] = [];
    const sessions: SdSessions = {
      textEncoder: await open('text_encoder'),
      textEncoder2: await open('text_encoder_2'),
      vaeDecoder: await open('vae_decoder'),
      unet: { inputMetadata: unet.inputMetadata, run: ((feeds: Record<string, ort.Tensor>) => (seen.push(feeds), unet.run(feeds))) as SdSessions['unet']['run'] },
    };
    const request = { prompt: 'a red cat', width: 64, height: 72, steps: 2, guidance: 5, seed: 9 };
    const a = await runStableDiffusion(files, sessions, request);
    expect(a).toHaveLength(64 * 72 * 3);
    const first = seen[0]!;
    expect(first.encoder_hidden_states!.dims).toEqual([2, 77, 32]);
    expect(first.text_embeds!.dims).toEqual([2, 8]);
    expect(Array.from(first.time_ids!.data as Float32Array)).toEqual([72, 64, 0, 0, 72, 64, 72, 64, 0, 0, 72, 64]);
    const hidden = first.encoder_hidden_states!.data as Float32Array;
    expect(hidden.subarray(0, 77 * 32).every((v) => v === 0)).toBe(true);
    expect(hidden.subarray(77 * 32).some((v) => v !== 0)).toBe(true);
    // Penultimate layer: hidden_states.1 (tanh of the embedding), not the last (sin of it).
    const enc = await sessions.textEncoder.run({ input_ids: new ort.Tensor('int32', files.tokenizer.encode('a red cat'), [1, 77]) });
    expect(hidden[77 * 32]).toBeCloseTo((enc['hidden_states.1']!.data as Float32Array)[0]!, 6);
    expect(Buffer.from(await runStableDiffusion(files, sessions, request)).equals(Buffer.from(a))).toBe(true);
  });
});

describe('start images', () => {
  it('turns a photo upright by its EXIF orientation before using it', async () => {
    // Stored 4×2, left half red and right half blue, tagged "rotate 90° clockwise to view": upright it is 2×4,
    // red on top and blue below.
    const raw = Buffer.alloc(4 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) raw.set(x < 2 ? [255, 0, 0] : [0, 0, 255], (y * 4 + x) * 3);
    const jpeg = await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    const rgb = await pngToRgb(jpeg, 2, 4);
    const pixel = (x: number, y: number) => [...rgb.subarray((y * 2 + x) * 3, (y * 2 + x) * 3 + 3)];
    // Top right is red upright; read as stored and stretched it would be blue.
    expect(pixel(1, 0)[0]).toBeGreaterThan(200);
    expect(pixel(1, 0)[2]).toBeLessThan(60);
    expect(pixel(0, 3)[2]).toBeGreaterThan(200);
  });
});
