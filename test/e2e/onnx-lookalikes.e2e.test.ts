import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { decodeWav } from '../../src/media/espeak.tool.ts';
import { writeExportLookAlikes, writeTinyEsrgan, writeTinyStableDiffusion } from '../../workers/engines/onnx/tiny-packs.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { collect, gql, wsClient } from '../helpers/graphql.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const PROGRESS = `subscription ($id: ID!) { jobProgress(id: $id) { status result error { code message } } }`;

interface Final {
  status: string;
  result: ({ urls: string[] } & Record<string, unknown>) | null;
  error: { code: string; message: string } | null;
}

describe('export look-alike packs through the real onnx engine (worker process, CPU execution provider)', () => {
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'atelier-lookalike-models-'));
  const env = testEnv({ WORKER_ENGINES: 'builtin,onnx', MODELS_DIR: modelsDir, ONNX_CPU_MEMORY_GB: '2', ONNX_EXECUTION_PROVIDER: 'cpu' });
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;

  beforeAll(async () => {
    await writeExportLookAlikes(modelsDir);
    // A setting diffusers honours that is not implemented (refused), and one it ignores (noted in the job log).
    await writeTinyStableDiffusion(path.join(modelsDir, 'look-ddim-thresholding'), { scheduler: 'DDIMScheduler', schedulerConfig: { thresholding: true } });
    await writeTinyStableDiffusion(path.join(modelsDir, 'look-euler-from-sd15'), { schedulerConfig: { skip_prk_steps: true } });
    // A ×2 model whose file name says ×4: only running it tells.
    await writeTinyEsrgan(path.join(modelsDir, 'look-misnamed-upscaler'), 2, { file: '4x-UltraSharp.onnx', declareScale: false, seed: 38 });
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  async function run(mutation: string, input: Record<string, unknown>): Promise<Final & { id: string }> {
    const created = await gql<Record<string, { id: string }>, unknown>(system.url, mutation, { i: input }, user.token);
    expect(created.errors).toBeUndefined();
    const id = Object.values(created.data!)[0]!.id;
    const client = wsClient(system.wsUrl, user.token);
    try {
      const events = await collect<{ jobProgress: Final }>(client, PROGRESS, { id }).done;
      return { ...events.at(-1)!.jobProgress, id };
    } finally {
      await client.dispose();
    }
  }
  const image = (input: Record<string, unknown>) =>
    run('mutation ($i: GenerateImageInput!) { generateImage(input: $i) { id } }', { prompt: 'a red cat at sunset', width: 64, height: 64, steps: 4, seed: 7, ...input });
  const speech = (input: Record<string, unknown>) => run('mutation ($i: SynthesizeSpeechInput!) { synthesizeSpeech(input: $i) { id } }', input);
  const download = async (url: string) => Buffer.from(await (await fetch(url, { headers: { authorization: `Bearer ${user.token}` } })).arrayBuffer());
  const hash = async (job: Final) => createHash('sha256').update(await download(job.result!.urls[0]!)).digest('hex');
  const job = async (id: string) =>
    (await gql<{ job: { stepDurationsMs: number[] }; jobLogs: { message: string }[] }, unknown>(system.url, 'query ($id: ID!) { job(id: $id) { stepDurationsMs } jobLogs(id: $id) { message } }', { id }, user.token)).data!;

  it('fp16 export: runs, reproducibly per seed', async () => {
    const a = await image({ model: 'look-sd-fp16' });
    expect(a.error).toBeNull();
    expect(a.status).toBe('COMPLETED');
    const b = await image({ model: 'look-sd-fp16' });
    expect(await hash(b)).toBe(await hash(a));
  });

  it('fp16 VAE that overflows: the job fails saying so and what to use instead', async () => {
    const final = await image({ model: 'look-sd-fp16-nan-vae' });
    expect(final.status).toBe('FAILED');
    expect(final.error!.message).toMatch(/VAE decoder produced \d+ of 12288 values NaN or infinite.*fp16-fix VAE/);
  });

  it('PNDM (SD 1.5 config): PLMS makes steps + 1 UNet calls, each a progress step', async () => {
    const final = await image({ model: 'look-sd15-pndm' });
    expect(final.status).toBe('COMPLETED');
    expect((await job(final.id)).job.stepDurationsMs).toHaveLength(5);
  });

  it('Optimum ≥ 1.24 / 1.23 (rank-0 timestep, latent_parameters): txt2img and img2img from a stored image', async () => {
    const source = await image({ model: 'look-sd-optimum-new', width: 128 });
    expect(source.status).toBe('COMPLETED');
    const assetId = new URL(source.result!.urls[0]!).pathname.split('/').at(-1)!;
    const img2img = await image({ model: 'look-sd-optimum-new', width: 128, initImageAssetId: assetId, strength: 0.5 });
    expect(img2img.error).toBeNull();
    expect((await job(img2img.id)).job.stepDurationsMs).toHaveLength(2);
    expect(await hash(img2img)).not.toBe(await hash(source));
  });

  it('LCM-distilled UNet with timestep_cond: the guidance changes the image', async () => {
    const a = await image({ model: 'look-lcm-cond', guidance: 8.5 });
    const b = await image({ model: 'look-lcm-cond', guidance: 3 });
    expect([a.status, b.status]).toEqual(['COMPLETED', 'COMPLETED']);
    expect(await hash(a)).not.toBe(await hash(b));
  });

  it('refuses sides that are multiples of 8 but not of 64, naming the nearest that work', async () => {
    const final = await image({ model: 'look-sd-fp16', width: 72 });
    expect(final.status).toBe('FAILED');
    expect(final.error).toEqual({ code: 'BAD_USER_INPUT', message: "width 72 is not a multiple of 64, which the onnx engine's UNets need; use 64 or 128" });
  });

  it('scheduler settings: one the reference honours but is not implemented fails the job by name; one it ignores is noted', async () => {
    const refused = await image({ model: 'look-ddim-thresholding' });
    expect(refused.status).toBe('FAILED');
    expect(refused.error!.message).toBe('DDIMScheduler: thresholding (dynamic thresholding) is not supported; set it to false');
    const noted = await image({ model: 'look-euler-from-sd15' });
    expect(noted.status).toBe('COMPLETED');
    expect((await job(noted.id)).jobLogs.map((l) => l.message)).toContain('EulerDiscreteScheduler has no setting skip_prk_steps (true); ignored, as diffusers ignores it');
  });

  it('Real-ESRGAN x2plus with torch-default names: listed as ×2 (probed, not read from the name) and upscales ×2', async () => {
    const models = await gql<{ models: { name: string; details: Record<string, unknown> }[] }, unknown>(system.url, '{ models { name details } }', {}, user.token);
    expect(models.data!.models.find((m) => m.name === 'look-realesrgan-x2plus')!.details).toMatchObject({ scale: 2, inputName: 'input.1', outputName: '1895' });
    expect(models.data!.models.find((m) => m.name === 'look-misnamed-upscaler')!.details).toMatchObject({ scale: 2 });
    const source = await image({ model: 'look-sd-fp16' });
    const assetId = new URL(source.result!.urls[0]!).pathname.split('/').at(-1)!;
    const up = await run('mutation ($i: ID!) { upscaleImage(assetId: $i, scale: 2, model: "look-realesrgan-x2plus") { id } }', assetId as unknown as Record<string, unknown>);
    expect(up.error).toBeNull();
    const meta = await sharp(await download(up.result!.urls[0]!)).metadata();
    expect([meta.width, meta.height]).toEqual([128, 128]);
  });

  it('multi-speaker Piper: speakerId picks the speaker, one model call per sentence with its punctuation, peaks at full scale', async () => {
    const text = 'Hello there, friend. How are you?';
    const [alice, carol] = [await speech({ text, voiceId: 'look-piper-multi' }), await speech({ text, voiceId: 'look-piper-multi', speakerId: 2 })];
    expect([alice.status, carol.status]).toEqual(['COMPLETED', 'COMPLETED']);
    expect(carol.result!.speakerId).toBe(2);
    expect(await hash(carol)).not.toBe(await hash(alice));
    expect((await job(carol.id)).jobLogs.map((l) => l.message)).toContainEqual(expect.stringMatching(/: 3 clause\(s\), 2 sentence\(s\), speaker 2$/));
    const pcm = decodeWav(await download(carol.result!.urls[0]!));
    // Two sentences of 256 samples an id, 0.2 s (3200 samples at 16 kHz) between them.
    expect((pcm.samples.length - 3200) % 256).toBe(0);
    expect(pcm.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBe(32767);

    const wrong = await speech({ text, voiceId: 'look-piper-multi', speakerId: 5 });
    expect(wrong.status).toBe('FAILED');
    expect(wrong.error).toEqual({ code: 'BAD_USER_INPUT', message: 'Voice "look-piper-multi" has speakers 0–2, e.g. 0 (alice), 1 (bob), 2 (carol); got 5' });
  });
});
