import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildModel, DT, type ModelSpec, withFloat16Io } from './onnx.writer.ts';
import { normalArray } from './random.ts';

/**
 * Tiny model packs with the file layout and input/output names of the real exports (Optimum Stable
 * Diffusion, ESRGAN, Piper) and small random weights: the real pipelines run on them in tests and
 * benchmarks, where no weights can be downloaded.
 */

export const TINY_TEXT_DIM = 32;
const MAX_TOKENS = 77;

const f32 = (length: number, seed: number, scale: number) => normalArray(length, seed, scale);
const i64 = (values: number[]) => BigInt64Array.from(values.map(BigInt));

/** GPT-2 style byte-to-unicode table, as CLIP's vocab.json spells bytes. */
function bytesToUnicode(): string[] {
  const printable = [...range(33, 126), ...range(161, 172), ...range(174, 255)];
  const table: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return table;
}
function range(from: number, to: number) {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A CLIP-style BPE vocabulary: all bytes, bytes ending a word, merges of a few common words, specials. */
function clipVocab(): { vocab: Record<string, number>; merges: string[] } {
  const chars = bytesToUnicode();
  const tokens = [...chars, ...chars.map((c) => `${c}</w>`)];
  const merges: string[] = [];
  for (const word of ['a', 'the', 'cat', 'red', 'sunset', 'lighthouse', 'photo', 'of', 'dog', 'blue']) {
    // Merge left to right into the whole word, as CLIP's BPE would for frequent words.
    const symbols = [...word].map((c, i) => (i === word.length - 1 ? `${c}</w>` : c));
    let current = symbols[0]!;
    for (const next of symbols.slice(1)) {
      const merge = `${current} ${next}`;
      if (!merges.includes(merge)) merges.push(merge);
      current += next;
      if (!tokens.includes(current)) tokens.push(current);
    }
  }
  tokens.push('<|startoftext|>', '<|endoftext|>');
  return { vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges };
}

async function writeJson(file: string, value: unknown) {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}
async function writeOnnx(file: string, bytes: Uint8Array) {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
}

export interface TinySdOptions {
  scheduler?: 'EulerDiscreteScheduler' | 'DDIMScheduler' | 'LCMScheduler' | 'PNDMScheduler';
  predictionType?: 'epsilon' | 'v_prediction';
  /** Declared VRAM need written to atelier.json; omitted → the worker estimates it from the file sizes. */
  vramGb?: number;
  seed?: number;
  /**
   * Channels of two hidden 3×3 conv layers in the UNet, so a step costs real compute (benchmarks: 64 gives tens
   * of ms a step at 512² on a CPU). Omitted → one 4→4 conv, as small as the layout allows.
   */
  unetWidth?: number;
  /* Export look-alikes: what Optimum and other exporters write, each a variant the pipelines must run unchanged. */
  /** fp16 export: float16 inputs and outputs on the text encoder, UNet (timestep included) and VAE. */
  fp16?: boolean;
  /** With fp16: a VAE decoder whose float16 output overflows to NaN, as the SD/SDXL VAE does in float16. */
  vaeOverflow?: boolean;
  /** Optimum ≥ 1.24: a rank-0 `timestep`. */
  scalarTimestep?: boolean;
  /** Optimum ≥ 1.23: the VAE encoder outputs `latent_parameters` (mean and log-variance, 8 channels). */
  latentParameters?: boolean;
  /** An LCM-distilled UNet: a `timestep_cond` input of this many features (time_cond_proj_dim, 256 in LCM Dreamshaper). */
  timestepCond?: number;
  /** int64 (Optimum's default), float32, or int32 for the UNet's timestep input; fp16 exports make it float16. */
  timestepType?: 'int64' | 'float32' | 'int32';
  /** Extra or overriding scheduler_config.json fields. */
  schedulerConfig?: Record<string, unknown>;
}

/** scheduler_config.json as the Stable Diffusion 1.5 repository ships it (PNDM, PLMS steps). */
const SD15_PNDM = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.6.0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};

const fp16If = (on: boolean | undefined, spec: ModelSpec) => buildModel(on ? withFloat16Io(spec) : spec);

export async function writeTinyStableDiffusion(dir: string, options: TinySdOptions = {}) {
  const seed = options.seed ?? 1;
  const W = options.unetWidth;
  const D = TINY_TEXT_DIM;
  const { vocab, merges } = clipVocab();
  const V = Object.keys(vocab).length;
  const scheduler = options.scheduler ?? 'EulerDiscreteScheduler';

  await writeJson(path.join(dir, 'model_index.json'), {
    _class_name: 'ORTStableDiffusionPipeline',
    _diffusers_version: '0.30.0',
    requires_safety_checker: false,
    scheduler: ['diffusers', scheduler],
    text_encoder: ['optimum', 'ORTModelTextEncoder'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: ['optimum', 'ORTModelUnet'],
    vae_decoder: ['optimum', 'ORTModelVaeDecoder'],
    vae_encoder: ['optimum', 'ORTModelVaeEncoder'],
  });
  await writeJson(path.join(dir, 'tokenizer', 'vocab.json'), vocab);
  await mkdir(path.join(dir, 'tokenizer'), { recursive: true });
  await writeFile(path.join(dir, 'tokenizer', 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
  await writeJson(path.join(dir, 'tokenizer', 'tokenizer_config.json'), {
    tokenizer_class: 'CLIPTokenizer',
    model_max_length: MAX_TOKENS,
    do_lower_case: true,
    bos_token: '<|startoftext|>',
    eos_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
  });
  await writeJson(path.join(dir, 'tokenizer', 'special_tokens_map.json'), {
    bos_token: '<|startoftext|>',
    eos_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
  });
  await writeJson(
    path.join(dir, 'scheduler', 'scheduler_config.json'),
    scheduler === 'PNDMScheduler'
      ? { ...SD15_PNDM, ...(options.predictionType ? { prediction_type: options.predictionType } : {}), ...options.schedulerConfig }
      : {
          _class_name: scheduler,
          num_train_timesteps: 1000,
          beta_start: 0.00085,
          beta_end: 0.012,
          beta_schedule: 'scaled_linear',
          prediction_type: options.predictionType ?? 'epsilon',
          timestep_spacing: 'leading',
          steps_offset: 1,
          set_alpha_to_one: false,
          clip_sample: false,
          ...(scheduler === 'LCMScheduler' ? { original_inference_steps: 50 } : {}),
          ...options.schedulerConfig,
        },
  );
  if (options.vramGb !== undefined) await writeJson(path.join(dir, 'atelier.json'), { vramGb: options.vramGb });

  await writeOnnx(
    path.join(dir, 'text_encoder', 'model.onnx'),
    fp16If(options.fp16, {
      name: 'text_encoder',
      inputs: [{ name: 'input_ids', type: DT.INT32, shape: ['batch_size', 'sequence_length'] }],
      outputs: [
        { name: 'last_hidden_state', type: DT.FLOAT, shape: ['batch_size', 'sequence_length', D] },
        { name: 'pooler_output', type: DT.FLOAT, shape: ['batch_size', D] },
      ],
      initializers: [{ name: 'embedding', dims: [V, D], data: f32(V * D, seed + 1, 1) }],
      nodes: [
        { op: 'Gather', inputs: ['embedding', 'input_ids'], outputs: ['embedded'], attrs: { axis: 0 } },
        { op: 'Tanh', inputs: ['embedded'], outputs: ['last_hidden_state'] },
        { op: 'ReduceMean', inputs: ['last_hidden_state'], outputs: ['pooler_output'], attrs: { axes: [1], keepdims: 0 } },
      ],
    }),
  );
  const timestepType = { int64: DT.INT64, float32: DT.FLOAT, int32: DT.INT32 }[options.fp16 ? 'float32' : (options.timestepType ?? 'int64')];
  const cond = options.timestepCond;
  await writeOnnx(
    path.join(dir, 'unet', 'model.onnx'),
    fp16If(options.fp16, {
      name: 'unet',
      inputs: [
        { name: 'sample', type: DT.FLOAT, shape: ['batch_size', 4, 'height', 'width'] },
        { name: 'timestep', type: timestepType, shape: options.scalarTimestep ? [] : ['steps'] },
        { name: 'encoder_hidden_states', type: DT.FLOAT, shape: ['batch_size', 'sequence_length', D] },
        ...(cond ? [{ name: 'timestep_cond', type: DT.FLOAT, shape: ['batch_size', cond] as (string | number)[] }] : []),
      ],
      outputs: [{ name: 'out_sample', type: DT.FLOAT, shape: ['batch_size', 4, 'height', 'width'] }],
      initializers: [
        { name: 'conv_w', dims: [4, 4, 3, 3], data: f32(144, seed + 2, 0.15) },
        { name: 'conv_b', dims: [4], data: f32(4, seed + 3, 0.05) },
        { name: 'text_w', dims: [1, 4, 1, 1], data: f32(4, seed + 4, 2) },
        { name: 'to_4d', dims: [4], data: i64([-1, 1, 1, 1]) },
        { name: 'time_w', dims: [1], data: new Float32Array([0.0005]) },
        ...(cond ? [{ name: 'cond_w', dims: [1, 4, 1, 1], data: f32(4, seed + 10, 3) }] : []),
        ...(options.scalarTimestep
          ? [
              { name: 'axes0', dims: [1], data: i64([0]) },
              { name: 't_pad', dims: [1], data: i64([0]) },
            ]
          : []),
        ...(W
          ? [
              { name: 'in_w', dims: [W, 4, 3, 3], data: f32(W * 36, seed + 7, 0.1) },
              { name: 'mid_w', dims: [W, W, 3, 3], data: f32(W * W * 9, seed + 8, 0.02) },
              { name: 'out_w', dims: [4, W, 3, 3], data: f32(W * 36, seed + 9, 0.01) },
            ]
          : []),
      ],
      nodes: [
        ...(W
          ? [
              { op: 'Conv', inputs: ['sample', 'in_w'], outputs: ['hidden_in'], attrs: { pads: [1, 1, 1, 1] } },
              { op: 'Relu', inputs: ['hidden_in'], outputs: ['hidden_act'] },
              { op: 'Conv', inputs: ['hidden_act', 'mid_w'], outputs: ['hidden_mid'], attrs: { pads: [1, 1, 1, 1] } },
              { op: 'Relu', inputs: ['hidden_mid'], outputs: ['hidden_mid_act'] },
              { op: 'Conv', inputs: ['hidden_mid_act', 'out_w'], outputs: ['hidden_out'], attrs: { pads: [1, 1, 1, 1] } },
              { op: 'Add', inputs: ['sample', 'hidden_out'], outputs: ['unet_in'] },
            ]
          : []),
        { op: 'Conv', inputs: [W ? 'unet_in' : 'sample', 'conv_w', 'conv_b'], outputs: ['conv'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'ReduceMean', inputs: ['encoder_hidden_states'], outputs: ['text_mean'], attrs: { axes: [1, 2], keepdims: 1 } },
        { op: 'Reshape', inputs: ['text_mean', 'to_4d'], outputs: ['text_4d'] },
        { op: 'Mul', inputs: ['text_4d', 'text_w'], outputs: ['text_term'] },
        // As a traced UNet does with a rank-0 timestep (timestep[None], then ops that need rank 1): a [1] feed fails.
        ...(options.scalarTimestep
          ? [
              { op: 'Unsqueeze', inputs: ['timestep', 'axes0'], outputs: ['t_vec'] },
              { op: 'Concat', inputs: ['t_vec', 't_pad'], outputs: ['t_pair'], attrs: { axis: 0 } },
              { op: 'Gather', inputs: ['t_pair', 'axes0'], outputs: ['t_first'], attrs: { axis: 0 } },
            ]
          : []),
        { op: 'Cast', inputs: [options.scalarTimestep ? 't_first' : 'timestep'], outputs: ['time_f'], attrs: { to: DT.FLOAT } },
        { op: 'Mul', inputs: ['time_f', 'time_w'], outputs: ['time_scaled'] },
        { op: 'Reshape', inputs: ['time_scaled', 'to_4d'], outputs: ['time_term'] },
        { op: 'Add', inputs: ['conv', 'text_term'], outputs: ['with_text'] },
        { op: 'Add', inputs: ['with_text', 'time_term'], outputs: cond ? ['with_time'] : ['out_sample'] },
        // The guidance embedding's mean, per batch row, shifts the output: a different guidance, a different image.
        ...(cond
          ? [
              { op: 'ReduceMean', inputs: ['timestep_cond'], outputs: ['cond_mean'], attrs: { axes: [1], keepdims: 1 } },
              { op: 'Reshape', inputs: ['cond_mean', 'to_4d'], outputs: ['cond_4d'] },
              { op: 'Mul', inputs: ['cond_4d', 'cond_w'], outputs: ['cond_term'] },
              { op: 'Add', inputs: ['with_time', 'cond_term'], outputs: ['out_sample'] },
            ]
          : []),
      ],
    }),
  );
  await writeOnnx(
    path.join(dir, 'vae_decoder', 'model.onnx'),
    fp16If(options.fp16, {
      name: 'vae_decoder',
      inputs: [{ name: 'latent_sample', type: DT.FLOAT, shape: ['batch_size', 4, 'latent_height', 'latent_width'] }],
      outputs: [{ name: 'sample', type: DT.FLOAT, shape: ['batch_size', 3, 'height', 'width'] }],
      initializers: [
        { name: 'dec_w', dims: [192, 4, 1, 1], data: f32(768, seed + 5, 0.3) },
        ...(options.vaeOverflow ? [{ name: 'huge', dims: [1], data: new Float32Array([1e6]) }] : []),
      ],
      nodes: [
        { op: 'Conv', inputs: ['latent_sample', 'dec_w'], outputs: ['features'] },
        { op: 'DepthToSpace', inputs: ['features'], outputs: ['pixels'], attrs: { blocksize: 8, mode: 'DCR' } },
        ...(options.vaeOverflow
          ? [
              // An activation past float16's 65504 becomes inf there, and inf / inf is NaN: the fp16 VAE failure.
              { op: 'Mul', inputs: ['pixels', 'huge'], outputs: ['big'] },
              { op: 'Cast', inputs: ['big'], outputs: ['big16'], attrs: { to: DT.FLOAT16 } },
              { op: 'Cast', inputs: ['big16'], outputs: ['overflowed'], attrs: { to: DT.FLOAT } },
              { op: 'Div', inputs: ['overflowed', 'overflowed'], outputs: ['nan'] },
              { op: 'Add', inputs: ['pixels', 'nan'], outputs: ['poisoned'] },
              { op: 'Tanh', inputs: ['poisoned'], outputs: ['sample'] },
            ]
          : [{ op: 'Tanh', inputs: ['pixels'], outputs: ['sample'] }]),
      ],
    }),
  );
  const latentOutput = options.latentParameters ? 'latent_parameters' : 'latent_sample';
  const latentChannels = options.latentParameters ? 8 : 4;
  await writeOnnx(
    path.join(dir, 'vae_encoder', 'model.onnx'),
    fp16If(options.fp16, {
      name: 'vae_encoder',
      inputs: [{ name: 'sample', type: DT.FLOAT, shape: ['batch_size', 3, 'height', 'width'] }],
      outputs: [{ name: latentOutput, type: DT.FLOAT, shape: ['batch_size', latentChannels, 'latent_height', 'latent_width'] }],
      // The first 4 output channels are the same weights either way: the mean of latent_parameters is latent_sample.
      initializers: [{ name: 'enc_w', dims: [latentChannels, 3, 8, 8], data: f32(768 * (latentChannels / 4), seed + 6, 0.05) }],
      nodes: [{ op: 'Conv', inputs: ['sample', 'enc_w'], outputs: [latentOutput], attrs: { strides: [8, 8] } }],
    }),
  );
}

/**
 * SDXL in the Optimum layout: a second tokenizer and text encoder whose pooled `text_embeds` and the
 * `time_ids` are the UNet's added conditions; encoders export `hidden_states.N` (SDXL uses the penultimate).
 */
export async function writeTinyStableDiffusionXL(dir: string, options: { seed?: number; vramGb?: number } = {}) {
  const seed = options.seed ?? 21;
  await writeTinyStableDiffusion(dir, { seed, vramGb: options.vramGb });
  const { vocab, merges } = clipVocab();
  const V = Object.keys(vocab).length;
  const [D1, D2, POOLED] = [16, 16, 8];
  const index = JSON.parse(await readFile(path.join(dir, 'model_index.json'), 'utf8')) as Record<string, unknown>;
  await writeJson(path.join(dir, 'model_index.json'), {
    ...index,
    _class_name: 'ORTStableDiffusionXLPipeline',
    force_zeros_for_empty_prompt: true,
    text_encoder_2: ['optimum', 'ORTModelTextEncoder'],
    tokenizer_2: ['transformers', 'CLIPTokenizer'],
  });
  await writeJson(path.join(dir, 'tokenizer_2', 'vocab.json'), vocab);
  await writeFile(path.join(dir, 'tokenizer_2', 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
  // SDXL's second tokenizer pads with "!" (id 0 in the real vocabulary).
  await writeJson(path.join(dir, 'tokenizer_2', 'tokenizer_config.json'), {
    tokenizer_class: 'CLIPTokenizer',
    model_max_length: MAX_TOKENS,
    bos_token: '<|startoftext|>',
    eos_token: '<|endoftext|>',
    pad_token: '!',
    unk_token: '<|endoftext|>',
  });
  await writeJson(path.join(dir, 'vae_decoder', 'config.json'), { scaling_factor: 0.13025 });
  const encoder = (name: string, D: number, s: number, pooled: boolean) =>
    buildModel({
      name,
      inputs: [{ name: 'input_ids', type: name === 'text_encoder' ? DT.INT32 : DT.INT64, shape: ['batch_size', 'sequence_length'] }],
      outputs: [
        { name: pooled ? 'text_embeds' : 'pooler_output', type: DT.FLOAT, shape: ['batch_size', pooled ? POOLED : D] },
        { name: 'last_hidden_state', type: DT.FLOAT, shape: ['batch_size', 'sequence_length', D] },
        ...[0, 1, 2].map((i) => ({ name: `hidden_states.${i}`, type: DT.FLOAT, shape: ['batch_size', 'sequence_length', D] as (string | number)[] })),
      ],
      initializers: [
        { name: 'embedding', dims: [V, D], data: f32(V * D, s, 1) },
        { name: 'proj', dims: [D, pooled ? POOLED : D], data: f32(D * (pooled ? POOLED : D), s + 1, 0.5) },
      ],
      nodes: [
        { op: 'Gather', inputs: ['embedding', 'input_ids'], outputs: ['hidden_states.0'], attrs: { axis: 0 } },
        { op: 'Tanh', inputs: ['hidden_states.0'], outputs: ['hidden_states.1'] },
        { op: 'Sin', inputs: ['hidden_states.1'], outputs: ['hidden_states.2'] },
        { op: 'Identity', inputs: ['hidden_states.2'], outputs: ['last_hidden_state'] },
        { op: 'ReduceMean', inputs: ['hidden_states.2'], outputs: ['mean'], attrs: { axes: [1], keepdims: 0 } },
        { op: 'MatMul', inputs: ['mean', 'proj'], outputs: [pooled ? 'text_embeds' : 'pooler_output'] },
      ],
    });
  await writeOnnx(path.join(dir, 'text_encoder', 'model.onnx'), encoder('text_encoder', D1, seed + 10, false));
  await writeOnnx(path.join(dir, 'text_encoder_2', 'model.onnx'), encoder('text_encoder_2', D2, seed + 20, true));
  await writeOnnx(
    path.join(dir, 'unet', 'model.onnx'),
    buildModel({
      name: 'unet',
      inputs: [
        { name: 'sample', type: DT.FLOAT, shape: ['batch_size', 4, 'height', 'width'] },
        { name: 'timestep', type: DT.INT64, shape: ['steps'] },
        { name: 'encoder_hidden_states', type: DT.FLOAT, shape: ['batch_size', 'sequence_length', D1 + D2] },
        { name: 'text_embeds', type: DT.FLOAT, shape: ['batch_size', POOLED] },
        { name: 'time_ids', type: DT.FLOAT, shape: ['batch_size', 6] },
      ],
      outputs: [{ name: 'out_sample', type: DT.FLOAT, shape: ['batch_size', 4, 'height', 'width'] }],
      initializers: [
        { name: 'conv_w', dims: [4, 4, 3, 3], data: f32(144, seed + 30, 0.15) },
        { name: 'text_w', dims: [1, 4, 1, 1], data: f32(4, seed + 31, 2) },
        { name: 'pooled_w', dims: [1, 4, 1, 1], data: f32(4, seed + 32, 2) },
        { name: 'ids_w', dims: [1], data: new Float32Array([0.001]) },
        { name: 'to_4d', dims: [4], data: i64([-1, 1, 1, 1]) },
      ],
      nodes: [
        { op: 'Conv', inputs: ['sample', 'conv_w'], outputs: ['conv'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'ReduceMean', inputs: ['encoder_hidden_states'], outputs: ['text_mean'], attrs: { axes: [1, 2], keepdims: 1 } },
        { op: 'Reshape', inputs: ['text_mean', 'to_4d'], outputs: ['text_4d'] },
        { op: 'Mul', inputs: ['text_4d', 'text_w'], outputs: ['text_term'] },
        { op: 'ReduceMean', inputs: ['text_embeds'], outputs: ['pooled_mean'], attrs: { axes: [1], keepdims: 1 } },
        { op: 'Reshape', inputs: ['pooled_mean', 'to_4d'], outputs: ['pooled_4d'] },
        { op: 'Mul', inputs: ['pooled_4d', 'pooled_w'], outputs: ['pooled_term'] },
        { op: 'ReduceMean', inputs: ['time_ids'], outputs: ['ids_mean'], attrs: { axes: [1], keepdims: 1 } },
        { op: 'Mul', inputs: ['ids_mean', 'ids_w'], outputs: ['ids_scaled'] },
        { op: 'Reshape', inputs: ['ids_scaled', 'to_4d'], outputs: ['ids_term'] },
        { op: 'Add', inputs: ['conv', 'text_term'], outputs: ['a'] },
        { op: 'Add', inputs: ['a', 'pooled_term'], outputs: ['b'] },
        { op: 'Add', inputs: ['b', 'ids_term'], outputs: ['out_sample'] },
      ],
    }),
  );
}

export interface TinyEsrganOptions {
  seed?: number;
  /** The .onnx file name; real packs are named RealESRGAN_x4plus.onnx, RealESRGAN_x2plus.onnx, 4x-UltraSharp.onnx. */
  file?: string;
  /** torch.onnx.export without names gives `input.1` and a number for the output. */
  inputName?: string;
  outputName?: string;
  /** Write atelier.json with the scale (the worker reads the scale from the model either way). */
  declareScale?: boolean;
  fp16?: boolean;
}

/** ESRGAN-family upscaler: [1,3,H,W] → [1,3,sH,sW]; a 3×3 receptive field, so a 1-pixel tile overlap is exact. */
export async function writeTinyEsrgan(dir: string, scale: 2 | 4, seedOrOptions: number | TinyEsrganOptions = {}) {
  const options = typeof seedOrOptions === 'number' ? { seed: seedOrOptions } : seedOrOptions;
  const [input, output] = [options.inputName ?? 'input', options.outputName ?? 'output'];
  const out = 3 * scale * scale;
  const weights = f32(out * 3 * 9, options.seed ?? 7, 0.02);
  // Nearest-neighbour upscale plus noise: DepthToSpace (DCR) takes channel (i*s + j)*3 + c to pixel (i, j) of c.
  for (let block = 0; block < scale * scale; block++) for (let c = 0; c < 3; c++) weights[((block * 3 + c) * 3 + c) * 9 + 4]! += 1;
  await writeOnnx(
    path.join(dir, options.file ?? `tiny-esrgan-x${scale}.onnx`),
    fp16If(options.fp16, {
      name: 'esrgan',
      inputs: [{ name: input, type: DT.FLOAT, shape: [1, 3, 'height', 'width'] }],
      outputs: [{ name: output, type: DT.FLOAT, shape: [1, 3, 'out_height', 'out_width'] }],
      initializers: [{ name: 'w', dims: [out, 3, 3, 3], data: weights }],
      nodes: [
        { op: 'Conv', inputs: [input, 'w'], outputs: ['features'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'DepthToSpace', inputs: ['features'], outputs: [output], attrs: { blocksize: scale, mode: 'DCR' } },
      ],
    }),
  );
  if (options.declareScale ?? true) await writeJson(path.join(dir, 'atelier.json'), { kind: 'upscale', scale });
}

export interface TinyPiperOptions {
  seed?: number;
  /** A multi-speaker voice (`sid` input, speaker_id_map), as Piper's libritts / vctk voices. */
  speakers?: string[];
  /** Piper's phoneme_map: phonemes replaced before ids are looked up. */
  phonemeMap?: Record<string, string[]>;
}

/** A Piper voice: phoneme ids → waveform (256 samples an id), with Piper's input names and its .onnx.json config. */
export async function writeTinyPiper(dir: string, name = 'en_US-tiny-medium', seedOrOptions: number | TinyPiperOptions = {}) {
  const options = typeof seedOrOptions === 'number' ? { seed: seedOrOptions } : seedOrOptions;
  const seed = options.seed ?? 11;
  const speakers = options.speakers ?? [];
  const phonemes = ['_', '^', '$', ' ', ...'abcdefghijklmnopqrstuvwxyzæðŋɑɔəɛɜɪʃʊʌʒθˈˌː.,!?;:ɚɹ'];
  const symbols = phonemes.length;
  const samplesPerId = 256;
  const multi = speakers.length > 1;
  await writeOnnx(
    path.join(dir, `${name}.onnx`),
    buildModel({
      name: 'piper',
      inputs: [
        { name: 'input', type: DT.INT64, shape: [1, 'phonemes'] },
        { name: 'input_lengths', type: DT.INT64, shape: [1] },
        { name: 'scales', type: DT.FLOAT, shape: [3] },
        ...(multi ? [{ name: 'sid', type: DT.INT64, shape: [1] as (string | number)[] }] : []),
      ],
      outputs: [{ name: 'output', type: DT.FLOAT, shape: [1, 1, 'time'] }],
      initializers: [
        { name: 'wave', dims: [symbols, samplesPerId], data: f32(symbols * samplesPerId, seed, 0.5) },
        { name: 'flat', dims: [3], data: i64([1, 1, -1]) },
        // Each speaker scales the voice differently, so the same text sounds (and peaks) unlike another speaker's.
        ...(multi ? [{ name: 'speaker_gain', dims: [speakers.length, 1], data: Float32Array.from(speakers, (_, i) => 0.2 + 0.3 * i) }] : []),
      ],
      nodes: [
        { op: 'Gather', inputs: ['wave', 'input'], outputs: ['frames'], attrs: { axis: 0 } },
        { op: 'Reshape', inputs: ['frames', 'flat'], outputs: ['audio'] },
        ...(multi
          ? [
              { op: 'Gather', inputs: ['speaker_gain', 'sid'], outputs: ['gain'], attrs: { axis: 0 } },
              { op: 'Mul', inputs: ['audio', 'gain'], outputs: ['spoken'] },
              { op: 'Tanh', inputs: ['spoken'], outputs: ['output'] },
            ]
          : [{ op: 'Tanh', inputs: ['audio'], outputs: ['output'] }]),
      ],
    }),
  );
  await writeJson(path.join(dir, `${name}.onnx.json`), {
    dataset: 'tiny',
    audio: { sample_rate: 16000, quality: 'medium' },
    espeak: { voice: 'en-us' },
    language: { code: 'en_US' },
    inference: { noise_scale: 0.667, length_scale: 1, noise_w: 0.8 },
    phoneme_type: 'espeak',
    phoneme_map: options.phonemeMap ?? {},
    phoneme_id_map: Object.fromEntries(phonemes.map((p, i) => [p, [i]])),
    num_symbols: symbols,
    num_speakers: Math.max(1, speakers.length),
    speaker_id_map: Object.fromEntries(speakers.map((speaker, i) => [speaker, i])),
  });
}

/** Writes the standard set of tiny packs under `root`, one folder per pack. */
export async function writeTinyPacks(root: string) {
  await writeTinyStableDiffusion(path.join(root, 'tiny-sd'));
  await writeTinyStableDiffusion(path.join(root, 'tiny-sd-lcm-v'), { scheduler: 'LCMScheduler', predictionType: 'v_prediction', seed: 2 });
  await writeTinyEsrgan(path.join(root, 'tiny-esrgan-x2'), 2);
  await writeTinyPiper(path.join(root, 'tiny-piper'));
  await writeTinyStableDiffusionXL(path.join(root, 'tiny-sdxl'));
  return ['tiny-sd', 'tiny-sd-lcm-v', 'tiny-esrgan-x2', 'tiny-piper', 'tiny-sdxl'];
}

/**
 * Export look-alikes: one pack per layout the community's exporters write, each with the inputs, outputs and
 * config that tripped older pipelines. Returns the pack names, each a folder under `root`.
 */
export const LOOK_ALIKES = {
  /** Stable Diffusion 1.5 / 2 base: PNDMScheduler (PLMS). */
  'look-sd15-pndm': (dir: string) => writeTinyStableDiffusion(dir, { scheduler: 'PNDMScheduler', seed: 31 }),
  /** optimum-cli export with --dtype fp16: float16 everywhere, the timestep included. */
  'look-sd-fp16': (dir: string) => writeTinyStableDiffusion(dir, { fp16: true, seed: 32 }),
  /** fp16 with the stock SD VAE, which overflows in float16. */
  'look-sd-fp16-nan-vae': (dir: string) => writeTinyStableDiffusion(dir, { fp16: true, vaeOverflow: true, seed: 33 }),
  /** Optimum ≥ 1.24 (rank-0 timestep) and ≥ 1.23 (vae_encoder → latent_parameters). */
  'look-sd-optimum-new': (dir: string) => writeTinyStableDiffusion(dir, { scalarTimestep: true, latentParameters: true, seed: 34 }),
  /** An LCM-distilled UNet (LCM Dreamshaper): timestep_cond, the guidance embedding. */
  'look-lcm-cond': (dir: string) =>
    writeTinyStableDiffusion(dir, { scheduler: 'LCMScheduler', timestepCond: 256, timestepType: 'float32', seed: 35, schedulerConfig: { timestep_spacing: 'leading' } }),
  /** Real-ESRGAN's x2plus exported with torch.onnx defaults: `input.1`, a numbered output, no declared scale. */
  'look-realesrgan-x2plus': (dir: string) => writeTinyEsrgan(dir, 2, { file: 'RealESRGAN_x2plus.onnx', inputName: 'input.1', outputName: '1895', declareScale: false, seed: 36 }),
  /** A multi-speaker Piper voice (sid input, speaker_id_map) with a phoneme_map. */
  'look-piper-multi': (dir: string) => writeTinyPiper(dir, 'en_US-multi-medium', { seed: 37, speakers: ['alice', 'bob', 'carol'], phonemeMap: { ɚ: ['ə', 'ɹ'] } }),
} as const;

export async function writeExportLookAlikes(root: string): Promise<string[]> {
  for (const [name, write] of Object.entries(LOOK_ALIKES)) await write(path.join(root, name));
  return Object.keys(LOOK_ALIKES);
}
