import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { type ClipTokenizer, loadClipTokenizer } from './clip.tokenizer.ts';
import { normalArray, seededNormal } from './random.ts';
import { createScheduler, img2imgStartIndex, type SchedulerConfig } from './schedulers.ts';

/**
 * What the pipelines need of a session: one behind the dtype adapter (session.adapter.ts), in an inference
 * thread or in process. Pipelines feed float32 / int32 and read float32; tests wrap real sessions to watch the calls.
 */
export interface Runner {
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputNames?: readonly string[];
  run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType>;
}

export interface SdSessions {
  textEncoder: Runner;
  /** SDXL's second (OpenCLIP bigG) text encoder. */
  textEncoder2?: Runner;
  unet: Runner;
  vaeDecoder: Runner;
  vaeEncoder?: Runner;
}

export interface SdRequest {
  prompt: string;
  negativePrompt?: string | null;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  seed: number;
  /** img2img: RGB bytes of the start image at width×height, and how much of it to repaint (0–1]. */
  init?: { rgb: Uint8Array; strength: number };
}

export interface SdHooks {
  signal?: AbortSignal;
  /** Something the job log should say (a scheduler setting ignored as diffusers ignores it, say). */
  onNote?(message: string): void;
  /** Called once per denoising step run, with 1-based step and the number of steps that run. */
  onStep?(step: number, total: number): void;
}

export interface SdPackFiles {
  tokenizer: ClipTokenizer;
  /** SDXL only. */
  tokenizer2?: ClipTokenizer;
  scheduler: SchedulerConfig;
  /** diffusers' vae.config.scaling_factor: 0.18215 for SD 1.x/2.x, 0.13025 for SDXL. */
  vaeScale: number;
  /** SDXL: an empty negative prompt means zero embeddings rather than the encoding of "". */
  zerosForEmptyPrompt: boolean;
}

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

export async function loadSdPackFiles(dir: string): Promise<SdPackFiles> {
  const index = await readJson(path.join(dir, 'model_index.json')).catch(() => ({}) as Record<string, unknown>);
  const sdxl = 'text_encoder_2' in index || 'tokenizer_2' in index;
  const [tokenizer, tokenizer2, scheduler, vae] = await Promise.all([
    loadClipTokenizer(path.join(dir, 'tokenizer')),
    sdxl ? loadClipTokenizer(path.join(dir, 'tokenizer_2')) : undefined,
    readJson(path.join(dir, 'scheduler', 'scheduler_config.json')) as Promise<SchedulerConfig>,
    readJson(path.join(dir, 'vae_decoder', 'config.json')).catch(() => ({}) as Record<string, unknown>),
  ]);
  return {
    tokenizer,
    tokenizer2,
    scheduler,
    vaeScale: typeof vae.scaling_factor === 'number' ? vae.scaling_factor : sdxl ? 0.13025 : 0.18215,
    zerosForEmptyPrompt: sdxl && index.force_zeros_for_empty_prompt !== false,
  };
}

/** Token ids as int32; the adapter widens them for encoders exported with int64 ids. */
function idsTensor(tokenizer: ClipTokenizer, texts: string[]) {
  const length = tokenizer.maxLength;
  const ids = new Int32Array(texts.length * length);
  texts.forEach((text, i) => ids.set(tokenizer.encode(text), i * length));
  return new ort.Tensor('int32', ids, [texts.length, length]);
}

/** SDXL conditions on the penultimate layer of each encoder (hidden_states.N-1 of N). */
function penultimate(out: ort.InferenceSession.ReturnType): ort.Tensor {
  const layers = Object.keys(out)
    .map((name) => /^hidden_states\.(\d+)$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  return layers.length >= 2 ? out[`hidden_states.${layers.at(-2)}`]! : (out.last_hidden_state ?? Object.values(out)[0])!;
}

/** Concatenates [B, T, D1] and [B, T, D2] along the last axis. */
function concatLast(a: ort.Tensor, b: ort.Tensor): ort.Tensor {
  const [batch, tokens, d1] = a.dims as [number, number, number];
  const d2 = b.dims[2]!;
  const out = new Float32Array(batch * tokens * (d1 + d2));
  const ad = a.data as Float32Array;
  const bd = b.data as Float32Array;
  for (let row = 0; row < batch * tokens; row++) {
    out.set(ad.subarray(row * d1, (row + 1) * d1), row * (d1 + d2));
    out.set(bd.subarray(row * d2, (row + 1) * d2), row * (d1 + d2) + d1);
  }
  return new ort.Tensor('float32', out, [batch, tokens, d1 + d2]);
}

interface TextConditioning {
  hidden: ort.Tensor;
  /** SDXL: pooled text embeddings and the size/crop ids for the UNet's added conditions. */
  added?: { textEmbeds: ort.Tensor; timeIds: ort.Tensor };
}

async function encodeText(files: SdPackFiles, sessions: SdSessions, texts: string[], size: { width: number; height: number }): Promise<TextConditioning> {
  const out = await sessions.textEncoder.run({ input_ids: idsTensor(files.tokenizer, texts) });
  if (!sessions.textEncoder2 || !files.tokenizer2) return { hidden: (out.last_hidden_state ?? Object.values(out)[0])! };
  const out2 = await sessions.textEncoder2.run({ input_ids: idsTensor(files.tokenizer2, texts) });
  const hidden = concatLast(penultimate(out), penultimate(out2));
  const pooled = (out2.text_embeds ?? out2.pooler_output)!;
  if (files.zerosForEmptyPrompt && texts.length === 2 && !texts[0]) {
    // The unconditional half is zeros, as diffusers' SDXL pipeline does with force_zeros_for_empty_prompt.
    (hidden.data as Float32Array).fill(0, 0, hidden.data.length / 2);
    (pooled.data as Float32Array).fill(0, 0, pooled.data.length / 2);
  }
  // original size, crop top-left, target size: the same for every row.
  const ids = [size.height, size.width, 0, 0, size.height, size.width];
  const timeIds = new ort.Tensor('float32', Float32Array.from(texts.flatMap(() => ids)), [texts.length, 6]);
  return { hidden, added: { textEmbeds: pooled, timeIds } };
}

/** The timestep as float32 [1]: the adapter makes it the UNet's int64 / float16 and scalar / [1]. */
const timestepTensor = (t: number) => new ort.Tensor('float32', new Float32Array([t]), [1]);

/**
 * diffusers' get_guidance_scale_embedding for LCM-distilled UNets (`timestep_cond`): sinusoidal features of
 * w · 1000, where w = guidance − 1; sines then cosines, zero-padded to an odd dimension.
 */
export function guidanceEmbedding(w: number, dim: number): Float32Array {
  const half = Math.floor(dim / 2);
  const out = new Float32Array(dim);
  const scale = Math.log(10000) / (half - 1);
  for (let i = 0; i < half; i++) {
    // torch computes this in float32; fround keeps the frequencies bit-for-bit alike.
    const angle = Math.fround(w * 1000 * Math.fround(Math.exp(-i * scale)));
    out[i] = Math.sin(angle);
    out[half + i] = Math.cos(angle);
  }
  return out;
}

/** Dimension of the UNet's `timestep_cond` input (time_cond_proj_dim), or undefined when it has none. */
function timestepCondDim(unet: Runner): number | undefined {
  const meta = unet.inputMetadata?.find((m) => m.name === 'timestep_cond');
  if (!meta) return undefined;
  const dim = meta.isTensor ? meta.shape.at(-1) : undefined;
  return typeof dim === 'number' ? dim : 256;
}

/** Values that are not finite: what an fp16 VAE (or UNet) that overflowed gives. */
function countNonFinite(data: Float32Array): number {
  let bad = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) bad++;
  return bad;
}

/** A run whose numbers overflowed, with what to do about it. */
export class NumericOverflowError extends Error {
  constructor(stage: 'vae_decoder' | 'unet', bad: number, total: number) {
    super(
      stage === 'vae_decoder'
        ? `The VAE decoder produced ${bad} of ${total} values NaN or infinite: an fp16 VAE that overflows (the SD/SDXL VAE does in float16). ` +
            'Use the fp16-fix VAE (madebyollin/sdxl-vae-fp16-fix for SDXL) or export vae_decoder in fp32.'
        : `The UNet produced ${bad} of ${total} latent values NaN or infinite: an fp16 export that overflows. Export the UNet in fp32, or with onnxruntime's float16 converter keeping the overflowing ops in fp32.`,
    );
    this.name = 'NumericOverflowError';
  }
}

/** The mean (first 4 channels) of an 8-channel `latent_parameters` output (Optimum ≥ 1.23), or the latents as they are. */
function encodedLatents(encoded: ort.InferenceSession.ReturnType): Float32Array {
  const tensor = (encoded.latent_sample ?? encoded.latent_parameters ?? Object.values(encoded)[0])!;
  const data = tensor.data as Float32Array;
  const [batch, channels, h, w] = tensor.dims as [number, number, number, number];
  if (channels === 4) return data;
  if (channels !== 8 || batch !== 1) throw new Error(`vae_encoder output has ${channels} channels; expected 4 latents, or 8 latent parameters (mean, log-variance)`);
  return data.slice(0, 4 * h * w);
}

// Pixel loops yield to the event loop every this many pixels, so a large image never stalls heartbeats.
const PIXELS_PER_SLICE = 1 << 16;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** RGB bytes (HWC) → [1,3,H,W] in [-1, 1], the VAE's input range. */
async function rgbToTensor(rgb: Uint8Array, width: number, height: number) {
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let start = 0; start < plane; start += PIXELS_PER_SLICE) {
    const end = Math.min(plane, start + PIXELS_PER_SLICE);
    for (let p = start; p < end; p++) for (let c = 0; c < 3; c++) data[c * plane + p] = rgb[p * 3 + c]! / 127.5 - 1;
    await yieldToLoop();
  }
  return new ort.Tensor('float32', data, [1, 3, height, width]);
}

/** [1,3,H,W] in [-1, 1] → RGB bytes (HWC). */
export async function tensorToRgb(data: Float32Array, width: number, height: number): Promise<Uint8Array> {
  const plane = width * height;
  // A clamped array rounds and clamps on store, in one step.
  const rgb = new Uint8ClampedArray(plane * 3);
  for (let start = 0; start < plane; start += PIXELS_PER_SLICE) {
    const end = Math.min(plane, start + PIXELS_PER_SLICE);
    for (let c = 0; c < 3; c++) {
      const offset = c * plane;
      for (let p = start; p < end; p++) rgb[p * 3 + c] = (data[offset + p]! / 2 + 0.5) * 255;
    }
    await yieldToLoop();
  }
  return new Uint8Array(rgb.buffer);
}

/**
 * Text (+ optional start image) → RGB: CLIP text encoding, classifier-free guidance (the unconditional and
 * conditional halves run as one UNet batch of 2), the pack's scheduler, VAE decode.
 */
export async function runStableDiffusion(files: SdPackFiles, sessions: SdSessions, request: SdRequest, hooks: SdHooks = {}): Promise<Uint8Array> {
  const { width, height } = request;
  const latentShape = [1, 4, height / 8, width / 8];
  const size = 4 * (height / 8) * (width / 8);
  // An LCM-distilled UNet takes the guidance as an embedding, in one unguided batch of 1.
  const condDim = timestepCondDim(sessions.unet);
  const guided = condDim === undefined && request.guidance > 1;
  const texts = guided ? [request.negativePrompt ?? '', request.prompt] : [request.prompt];
  const conditioning = await encodeText(files, sessions, texts, { width, height });
  const timestepCond = condDim === undefined ? undefined : new ort.Tensor('float32', guidanceEmbedding(request.guidance - 1, condDim), [1, condDim]);

  const scheduler = createScheduler(files.scheduler, request.steps);
  for (const note of scheduler.notes) hooks.onNote?.(note);
  const calls = scheduler.timesteps.length;
  const noise = normalArray(size, request.seed);
  const stepNoise = seededNormal(request.seed ^ 0x5bd1e995);
  let start = 0;
  let latents: Float32Array;
  if (request.init) {
    if (!sessions.vaeEncoder) throw new Error('This pack has no vae_encoder, so it cannot start from an image');
    start = img2imgStartIndex(request.steps, request.init.strength);
    const encoded = await sessions.vaeEncoder.run({ sample: await rgbToTensor(request.init.rgb, width, height) });
    const scaled = encodedLatents(encoded).map((v) => v * files.vaeScale);
    latents = start < calls ? scheduler.addNoise(scaled, noise, start) : scaled;
  } else {
    latents = noise.map((v) => v * scheduler.initNoiseSigma);
  }

  const total = calls - start;
  for (let index = start; index < calls; index++) {
    hooks.signal?.throwIfAborted();
    const scaled = scheduler.scaleModelInput(latents, index);
    const batch = guided ? 2 : 1;
    const sample = new Float32Array(size * batch);
    for (let b = 0; b < batch; b++) sample.set(scaled, b * size);
    const out = await sessions.unet.run({
      sample: new ort.Tensor('float32', sample, [batch, ...latentShape.slice(1)]),
      timestep: timestepTensor(scheduler.timesteps[index]!),
      encoder_hidden_states: conditioning.hidden,
      ...(timestepCond ? { timestep_cond: timestepCond } : {}),
      ...(conditioning.added ? { text_embeds: conditioning.added.textEmbeds, time_ids: conditioning.added.timeIds } : {}),
    });
    const predicted = (out.out_sample ?? Object.values(out)[0])!.data as Float32Array;
    let modelOutput = predicted;
    if (guided) {
      modelOutput = new Float32Array(size);
      for (let i = 0; i < size; i++) {
        const uncond = predicted[i]!;
        modelOutput[i] = uncond + request.guidance * (predicted[size + i]! - uncond);
      }
    }
    latents = scheduler.step(modelOutput, index, latents, stepNoise);
    hooks.onStep?.(index - start + 1, total);
  }

  hooks.signal?.throwIfAborted();
  const badLatents = countNonFinite(latents);
  if (badLatents) throw new NumericOverflowError('unet', badLatents, latents.length);
  const decoded = await sessions.vaeDecoder.run({
    latent_sample: new ort.Tensor('float32', latents.map((v) => v / files.vaeScale), latentShape),
  });
  const pixels = (decoded.sample ?? Object.values(decoded)[0])!.data as Float32Array;
  const badPixels = countNonFinite(pixels);
  if (badPixels) throw new NumericOverflowError('vae_decoder', badPixels, pixels.length);
  return tensorToRgb(pixels, width, height);
}

export const rgbToPng = (rgb: Uint8Array, width: number, height: number) => sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
/** A stored image as RGB at width × height, turned upright first (a phone photo's EXIF orientation). */
export const pngToRgb = async (data: Buffer, width: number, height: number) =>
  new Uint8Array(await sharp(data).rotate().removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer());
