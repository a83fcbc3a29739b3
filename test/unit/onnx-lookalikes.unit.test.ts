import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceHost } from '../../workers/engines/onnx/inference.host.ts';
import { chooseExecutionProvider, modelBytes } from '../../workers/engines/onnx/onnx.runtime.ts';
import { phonemeIds, type PiperConfig, sentencePhonemes, speakerIdFor, splitClauses, synthesiseIds, toInt16 } from '../../workers/engines/onnx/piper.pipeline.ts';
import { normalArray } from '../../workers/engines/onnx/random.ts';
import { guidanceEmbedding, loadSdPackFiles, runStableDiffusion, type SdSessions } from '../../workers/engines/onnx/sd.pipeline.ts';
import { float16Tensor, fromFloat16, halfBits, halfValue, openSession, toFloat16Bits } from '../../workers/engines/onnx/session.adapter.ts';
import { LOOK_ALIKES, writeExportLookAlikes, writeTinyStableDiffusion } from '../../workers/engines/onnx/tiny-packs.ts';
import { probeUpscaleScale, upscaleTiled } from '../../workers/engines/onnx/upscale.pipeline.ts';
import { UnetBatcher } from '../../workers/engines/onnx/unet.batcher.ts';

const root = mkdtempSync(path.join(tmpdir(), 'atelier-lookalikes-'));
const base = { prompt: 'a photo of a red cat', width: 64, height: 64, steps: 4, guidance: 7.5, seed: 42 };

async function openPack(name: string, open = (file: string) => openSession(file)) {
  const dir = path.join(root, name);
  const load = (c: string) => open(path.join(dir, c, 'model.onnx'));
  const sessions: SdSessions = { textEncoder: await load('text_encoder'), unet: await load('unet'), vaeDecoder: await load('vae_decoder'), vaeEncoder: await load('vae_encoder') };
  return { files: await loadSdPackFiles(dir), sessions };
}

/** Every UNet call's feeds, as the pipeline hands them to the session. */
function watchUnet(sessions: SdSessions) {
  const calls: Record<string, ort.Tensor>[] = [];
  const unet = sessions.unet;
  return { calls, sessions: { ...sessions, unet: { ...unet, inputMetadata: unet.inputMetadata, run: ((feeds) => (calls.push(feeds), unet.run(feeds))) as SdSessions['unet']['run'] } } };
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const meanAbsDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length;

beforeAll(async () => {
  expect(await writeExportLookAlikes(root)).toEqual(Object.keys(LOOK_ALIKES));
  // The same weights as two look-alikes, in the classic fp32 / [1]-timestep / latent_sample layout.
  await writeTinyStableDiffusion(path.join(root, 'classic-32'), { seed: 32 });
  await writeTinyStableDiffusion(path.join(root, 'classic-34'), { seed: 34 });
});

describe('float16 at the session boundary', () => {
  it('converts like IEEE binary16 round-to-nearest-even, infinities and subnormals included', () => {
    expect([1, -2, 65504, 65520, 70000, 0.1, 2 ** -24, 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11].map(halfBits)).toEqual([
      0x3c00, 0xc000, 0x7bff, 0x7c00, 0x7c00, 0x2e66, 0x0001, 0x0000, 0x3c00, 0x3c02,
    ]);
    expect([0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x0001, 0x2e66].map(halfValue)).toEqual([1, 65504, Infinity, -Infinity, 2 ** -24, 0.0999755859375]);
    expect(halfValue(0x7e00)).toBeNaN();
    // The portable conversion agrees with the runtime's Float16Array where there is one.
    const values = normalArray(2000, 3, 300);
    const bits = toFloat16Bits(values);
    values.forEach((v, i) => expect(bits[i]).toBe(halfBits(v)));
    expect(Array.from(fromFloat16(bits)).every((v, i) => Math.abs(v - values[i]!) <= Math.abs(values[i]!) * 2 ** -11)).toBe(true);
  });

  it('feeds raw Uint16Array bits: onnxruntime-common 1.30 wraps them in a Float16Array the binding reads as 0 bytes', async () => {
    const session = await ort.InferenceSession.create(path.join(root, 'look-sd-fp16', 'vae_decoder', 'model.onnx'));
    expect(session.inputMetadata[0]).toMatchObject({ name: 'latent_sample', type: 'float16' });
    const bits = toFloat16Bits(new Float32Array(4 * 8 * 8).fill(0.5));
    const wrapped = new ort.Tensor('float16', bits, [1, 4, 8, 8]);
    if (typeof (globalThis as { Float16Array?: unknown }).Float16Array === 'function') {
      // The failure the adapter exists for (Node 24): the wrapped data never reaches the model.
      await expect(session.run({ latent_sample: wrapped })).rejects.toThrow(/expected 512, got 0/);
    }
    const out = await session.run({ latent_sample: float16Tensor(bits, [1, 4, 8, 8]) });
    expect(out.sample!.type).toBe('float16');
    expect(out.sample!.dims).toEqual([1, 3, 64, 64]);
  });
});

describe('export look-alikes through the real pipelines', () => {
  it('fp16 (optimum --dtype fp16): float16 I/O and timestep, in process and in an inference thread, close to the fp32 twin', async () => {
    const fp16 = await openPack('look-sd-fp16');
    const types = Object.fromEntries(fp16.sessions.unet.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : '']));
    expect(types).toEqual({ sample: 'float16', timestep: 'float16', encoder_hidden_states: 'float16' });
    const a = await runStableDiffusion(fp16.files, fp16.sessions, base);
    expect(same(await runStableDiffusion(fp16.files, fp16.sessions, base), a)).toBe(true);
    expect(same(await runStableDiffusion(fp16.files, fp16.sessions, { ...base, seed: 43 }), a)).toBe(false);

    const host = new InferenceHost();
    try {
      const threaded = await openPack('look-sd-fp16', (file) => host.load(file, { executionProviders: ['cpu'] }));
      expect(same(await runStableDiffusion(threaded.files, threaded.sessions, base), a)).toBe(true);
    } finally {
      await host.close();
    }
    // Same weights in fp32: the images differ only by float16 rounding at the boundaries.
    const classic = await openPack('classic-32');
    const b = await runStableDiffusion(classic.files, classic.sessions, base);
    expect(meanAbsDiff(a, b)).toBeLessThan(1);
  });

  it('fp16 VAE that overflows: a clear error naming the remedy, not a black image', async () => {
    const nan = await openPack('look-sd-fp16-nan-vae');
    await expect(runStableDiffusion(nan.files, nan.sessions, base)).rejects.toThrow(
      /VAE decoder produced \d+ of 12288 values NaN or infinite: an fp16 VAE that overflows .* fp16-fix VAE .* or export vae_decoder in fp32/,
    );
  });

  it('Stable Diffusion 1.5 PNDM: PLMS runs steps + 1 UNet calls, one progress event each, reproducibly', async () => {
    const pndm = await openPack('look-sd15-pndm');
    expect(pndm.files.scheduler._class_name).toBe('PNDMScheduler');
    const { calls, sessions } = watchUnet(pndm.sessions);
    const progress: [number, number][] = [];
    const notes: string[] = [];
    const a = await runStableDiffusion(pndm.files, sessions, base, { onStep: (s, t) => progress.push([s, t]), onNote: (n) => notes.push(n) });
    expect(calls.map((c) => c.timestep!.data[0])).toEqual([751, 501, 501, 251, 1]);
    expect(progress).toEqual([1, 2, 3, 4, 5].map((s) => [s, 5]));
    expect(notes).toEqual([]);
    expect(same(await runStableDiffusion(pndm.files, pndm.sessions, base), a)).toBe(true);
    // img2img: strength 0.5 of 4 steps starts at index 2 of the 5 calls (diffusers' t_start · order, order 1).
    const init = { rgb: new Uint8Array(64 * 64 * 3).fill(120), strength: 0.5 };
    const img = watchUnet(pndm.sessions);
    await runStableDiffusion(pndm.files, img.sessions, { ...base, init });
    expect(img.calls.map((c) => c.timestep!.data[0])).toEqual([501, 251, 1]);
  });

  it('PNDM without skip_prk_steps: the Runge-Kutta warm-up, then PLMS, through the pipeline', async () => {
    await writeTinyStableDiffusion(path.join(root, 'pndm-prk'), { scheduler: 'PNDMScheduler', seed: 31, schedulerConfig: { skip_prk_steps: false } });
    const prk = await openPack('pndm-prk');
    const { calls, sessions } = watchUnet(prk.sessions);
    const rgb = await runStableDiffusion(prk.files, sessions, base);
    expect(calls.map((c) => c.timestep!.data[0])).toEqual([751, 626, 626, 501, 501, 376, 376, 251, 251, 126, 126, 1, 1]);
    expect(rgb).toHaveLength(64 * 64 * 3);
  });

  it('Optimum ≥ 1.24 / 1.23: a rank-0 timestep, and img2img from latent_parameters (their mean) equal to the latent_sample twin', async () => {
    const fresh = await openPack('look-sd-optimum-new');
    const timestep = fresh.sessions.unet.inputMetadata.find((m) => m.name === 'timestep')!;
    expect(timestep.isTensor && timestep.shape).toEqual([]);
    // Without the adapter a [1] timestep is refused by the runtime.
    const raw = await ort.InferenceSession.create(path.join(root, 'look-sd-optimum-new', 'unet', 'model.onnx'));
    await expect(
      raw.run({
        sample: new ort.Tensor('float32', new Float32Array(4 * 8 * 8), [1, 4, 8, 8]),
        timestep: new ort.Tensor('int64', BigInt64Array.from([1n]), [1]),
        encoder_hidden_states: new ort.Tensor('float32', new Float32Array(77 * 32), [1, 77, 32]),
      }),
    ).rejects.toThrow(/rank/i);
    const encoder = fresh.sessions.vaeEncoder!.inputMetadata;
    expect(encoder[0]!.name).toBe('sample');
    const init = { rgb: Uint8Array.from(normalArray(64 * 64 * 3, 9), (v) => Math.max(0, Math.min(255, Math.round(128 + v * 60)))), strength: 0.6 };
    const a = await runStableDiffusion(fresh.files, fresh.sessions, { ...base, init });
    expect(same(await runStableDiffusion(fresh.files, fresh.sessions, { ...base, init }), a)).toBe(true);
    const classic = await openPack('classic-34');
    expect(same(await runStableDiffusion(classic.files, classic.sessions, { ...base, init }), a)).toBe(true);
    expect(same(await runStableDiffusion(fresh.files, fresh.sessions, base), a)).toBe(false);
  });

  it('LCM-distilled UNet: timestep_cond is the guidance embedding, one unguided batch of 1 per step', async () => {
    const lcm = await openPack('look-lcm-cond');
    const { calls, sessions } = watchUnet(lcm.sessions);
    const a = await runStableDiffusion(lcm.files, sessions, { ...base, guidance: 8.5 });
    expect(calls.map((c) => c.sample!.dims[0])).toEqual([1, 1, 1, 1]);
    expect(calls.map((c) => c.timestep!.data[0])).toEqual([999, 759, 499, 259]);
    const cond = calls[0]!.timestep_cond!;
    expect(cond.dims).toEqual([1, 256]);
    // diffusers' get_guidance_scale_embedding(w = 7.5, 256): sin(w·1000·e^(−i·ln(10⁴)/127)), then the cosines.
    const w = (8.5 - 1) * 1000;
    const freq = (i: number) => Math.exp((-i * Math.log(10000)) / 127);
    for (const i of [0, 1, 50, 127]) {
      expect(cond.data[i]).toBeCloseTo(Math.sin(w * freq(i)), 2);
      expect(cond.data[128 + i]).toBeCloseTo(Math.cos(w * freq(i)), 2);
    }
    expect(Array.from(guidanceEmbedding(0, 5))).toEqual([0, 0, 1, 1, 0]);
    expect(same(await runStableDiffusion(lcm.files, lcm.sessions, { ...base, guidance: 8.5 }), a)).toBe(true);
    expect(same(await runStableDiffusion(lcm.files, lcm.sessions, { ...base, guidance: 2 }), a)).toBe(false);
  });

  it('dynamic batching pads to power-of-two buckets on request, results unchanged', async () => {
    const pack = await openPack('classic-32');
    const requests = [1, 2, 3].map((seed) => ({ ...base, steps: 2, seed, guidance: seed === 3 ? 1 : 7.5 }));
    const alone: Uint8Array[] = [];
    for (const r of requests) alone.push(await runStableDiffusion(pack.files, pack.sessions, r));
    const batcher = new UnetBatcher(pack.sessions.unet, { windowMs: 1000, maxBatch: 8, bucket: true });
    const together = await Promise.all(
      requests.map(async (r) => {
        const job = batcher.forJob(r.width, r.height);
        try {
          return await runStableDiffusion(pack.files, { ...pack.sessions, unet: job.unet }, r);
        } finally {
          job.done();
        }
      }),
    );
    together.forEach((rgb, i) => expect(same(rgb, alone[i]!)).toBe(true));
    // 2 + 2 + 1 rows run as 8.
    expect(batcher.batchSizes).toEqual([8, 8]);
  });

  it('Real-ESRGAN x2plus exported with torch defaults: names and scale come from the model', async () => {
    const session = await openSession(path.join(root, 'look-realesrgan-x2plus', 'RealESRGAN_x2plus.onnx'));
    expect(session.inputMetadata[0]!.name).toBe('input.1');
    expect(session.outputNames).toEqual(['1895']);
    expect(await probeUpscaleScale(session)).toBe(2);
    const rgb = Uint8Array.from(normalArray(20 * 12 * 3, 4), (v) => Math.max(0, Math.min(255, Math.round(128 + v * 40))));
    const out = await upscaleTiled(session, rgb, 20, 12, 2, { tile: 8, overlap: 2 });
    expect(out).toHaveLength(40 * 24 * 3);
    expect(same(out, await upscaleTiled(session, rgb, 20, 12, 2, { tile: 64, overlap: 0 }))).toBe(true);
  });

  it('counts a model’s external data (model.onnx_data) in its cache size', async () => {
    const dir = path.join(root, 'external', 'unet');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.onnx'), Buffer.alloc(1000));
    writeFileSync(path.join(dir, 'model.onnx_data'), Buffer.alloc(50_000));
    writeFileSync(path.join(dir, 'config.json'), '{}');
    expect(await modelBytes(path.join(dir, 'model.onnx'))).toBe(51_000);
    // Two voices side by side: each counts its own files only.
    const voices = path.join(root, 'external', 'voices');
    mkdirSync(voices, { recursive: true });
    writeFileSync(path.join(voices, 'a.onnx'), Buffer.alloc(300));
    writeFileSync(path.join(voices, 'b.onnx'), Buffer.alloc(700));
    expect(await modelBytes(path.join(voices, 'a.onnx'))).toBe(300);
  });

  it('says loudly, with the remedy, when CUDA was asked for and did not load', async () => {
    const choice = await chooseExecutionProvider('cuda', 1, path.join(root, 'classic-32', 'vae_decoder', 'model.onnx'));
    expect(choice.provider).toBe('cpu');
    expect(choice.cudaMissing).toBe(true);
    expect(choice.note).toMatch(/^cuda: CUDA execution provider unavailable .*fell back to CPU\. .*ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node.*cuDNN/);
    expect((await chooseExecutionProvider('cpu', 1)).cudaMissing).toBeUndefined();
  });
});

describe('Piper as piper-phonemize and piper run it', () => {
  it('keeps clause punctuation, splitting sentences at . ? ! only', () => {
    expect(splitClauses('Hello there, friend. How are you?Fine: 3.5 kg; thanks!  And you')).toEqual([
      { text: 'Hello there', terminator: ',' },
      { text: 'friend', terminator: '.' },
      { text: 'How are you?Fine', terminator: ':' },
      { text: '3.5 kg', terminator: ';' },
      { text: 'thanks', terminator: '!' },
      { text: 'And you', terminator: '' },
    ]);
    expect(
      sentencePhonemes([
        { phonemes: 'həlˈoʊ', terminator: ',' },
        { phonemes: 'fɹˈɛnd', terminator: '.' },
        { phonemes: 'hˈaʊ', terminator: '?' },
        { phonemes: 'ænd', terminator: '' },
      ]),
    ).toEqual(['həlˈoʊ, fɹˈɛnd.', 'hˈaʊ?', 'ænd']);
  });

  it('applies phoneme_map before ids, and checks speakerId against the voice', () => {
    const config: PiperConfig = { phoneme_id_map: { _: [0], '^': [1], $: [2], ə: [3], ɹ: [4], ɚ: [9] }, phoneme_map: { ɚ: ['ə', 'ɹ'] }, num_speakers: 3, speaker_id_map: { alice: 0, bob: 1, carol: 2 } };
    expect(phonemeIds(config, 'ɚ')).toEqual([1, 0, 3, 0, 4, 0, 2]);
    expect(speakerIdFor(config, 'multi', 2)).toBe(2);
    expect(speakerIdFor(config, 'multi', null)).toBe(0);
    expect(() => speakerIdFor(config, 'multi', 3)).toThrow('Voice "multi" has speakers 0–2, e.g. 0 (alice), 1 (bob), 2 (carol); got 3');
    expect(() => speakerIdFor({ phoneme_id_map: {} }, 'single', 1)).toThrow('Voice "single" has a single speaker; leave speakerId out (or 0)');
  });

  it('feeds sid to a multi-speaker voice: each speaker sounds different, each sentence peaks at full scale', async () => {
    const dir = path.join(root, 'look-piper-multi');
    const { readFile } = await import('node:fs/promises');
    const config = JSON.parse(await readFile(path.join(dir, 'en_US-multi-medium.onnx.json'), 'utf8')) as PiperConfig;
    const session = await openSession(path.join(dir, 'en_US-multi-medium.onnx'));
    expect(session.inputMetadata.map((m) => m.name)).toEqual(['input', 'input_lengths', 'scales', 'sid']);
    const ids = phonemeIds(config, 'hɚ, ðɛɹ?');
    // ɚ became ə ɹ; the comma, the space and the question mark are ids too.
    expect(ids).toContain(config.phoneme_id_map[',']![0]);
    expect(ids).toContain(config.phoneme_id_map['?']![0]);
    expect(ids).not.toContain(config.phoneme_id_map['ɚ']![0]);
    const [alice, carol] = [await synthesiseIds(session, config, ids, 1, 0), await synthesiseIds(session, config, ids, 1, 2)];
    expect(alice).toHaveLength(ids.length * 256);
    expect(Buffer.from(alice.buffer).equals(Buffer.from(carol.buffer))).toBe(false);
    const pcm = toInt16([alice, carol], 10);
    const peak = (from: number, to: number) => pcm.subarray(from, to).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect([peak(0, alice.length), peak(alice.length + 10, pcm.length)]).toEqual([32767, 32767]);
  });
});
