/**
 * Diffusion schedulers, following diffusers' EulerDiscreteScheduler, DDIMScheduler and LCMScheduler
 * (eta 0, no churn) for the fields of scheduler_config.json that Stable Diffusion exports use.
 */

export interface SchedulerConfig {
  _class_name?: string;
  num_train_timesteps?: number;
  beta_start?: number;
  beta_end?: number;
  beta_schedule?: 'linear' | 'scaled_linear';
  prediction_type?: 'epsilon' | 'v_prediction';
  timestep_spacing?: 'leading' | 'trailing' | 'linspace';
  steps_offset?: number;
  set_alpha_to_one?: boolean;
  original_inference_steps?: number;
  timestep_scaling?: number;
}

export const SCHEDULER_NAMES = ['EulerDiscreteScheduler', 'DDIMScheduler', 'LCMScheduler'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export interface Scheduler {
  readonly name: SchedulerName;
  /** Train timesteps of the denoising steps, first to last. */
  readonly timesteps: number[];
  /** Euler's noise levels per step plus a final 0; empty for the alpha-based schedulers. */
  readonly sigmas: number[];
  readonly initNoiseSigma: number;
  scaleModelInput(sample: Float32Array, index: number): Float32Array;
  step(modelOutput: Float32Array, index: number, sample: Float32Array, noise: () => number): Float32Array;
  /** Noises clean latents to the level of step `index` (img2img's starting point). */
  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array;
}

export function alphasCumprod(config: SchedulerConfig): Float64Array {
  const n = config.num_train_timesteps ?? 1000;
  const start = config.beta_start ?? 0.00085;
  const end = config.beta_end ?? 0.012;
  const out = new Float64Array(n);
  let product = 1;
  for (let i = 0; i < n; i++) {
    const fraction = n === 1 ? 0 : i / (n - 1);
    const beta =
      (config.beta_schedule ?? 'scaled_linear') === 'scaled_linear'
        ? (Math.sqrt(start) + fraction * (Math.sqrt(end) - Math.sqrt(start))) ** 2
        : start + fraction * (end - start);
    product *= 1 - beta;
    out[i] = product;
  }
  return out;
}

function spacedTimesteps(config: SchedulerConfig, steps: number): number[] {
  const n = config.num_train_timesteps ?? 1000;
  const spacing = config.timestep_spacing ?? 'leading';
  if (spacing === 'linspace') return Array.from({ length: steps }, (_, i) => (steps === 1 ? 0 : ((n - 1) * i) / (steps - 1))).reverse();
  if (spacing === 'trailing') {
    const ratio = n / steps;
    return Array.from({ length: steps }, (_, i) => Math.round(n - i * ratio) - 1);
  }
  const ratio = Math.floor(n / steps);
  return Array.from({ length: steps }, (_, i) => i * ratio + (config.steps_offset ?? 0)).reverse();
}

/*
 * Element-wise updates are written as plain loops: they run on every latent value at every step, and a shared
 * map(array, closure) helper sees too many closures for V8 to inline them (it cost ~1 ms a step at 512²).
 */

/** out[i] = a·x[i] + b·y[i]. */
function combine(a: number, x: Float32Array, b: number, y: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = a * x[i]! + b * y[i]!;
  return out;
}

/** x₀ from the model output at cumulative alpha `a`, for either prediction type. */
function predictOriginal(type: SchedulerConfig['prediction_type'], out: Float32Array, sample: Float32Array, a: number) {
  const sa = Math.sqrt(a);
  const sb = Math.sqrt(1 - a);
  const x0 = new Float32Array(sample.length);
  if (type === 'v_prediction') for (let i = 0; i < x0.length; i++) x0[i] = sa * sample[i]! - sb * out[i]!;
  else for (let i = 0; i < x0.length; i++) x0[i] = (sample[i]! - sb * out[i]!) / sa;
  return x0;
}

function euler(config: SchedulerConfig, steps: number): Scheduler {
  const ac = alphasCumprod(config);
  const timesteps = spacedTimesteps(config, steps);
  const trainSigmas = Array.from(ac, (a) => Math.sqrt((1 - a) / a));
  // Linear interpolation of the train sigmas at (possibly fractional) timesteps, as np.interp.
  const sigmaAt = (t: number) => {
    const lo = Math.floor(t);
    const hi = Math.min(lo + 1, trainSigmas.length - 1);
    return trainSigmas[lo]! + (t - lo) * (trainSigmas[hi]! - trainSigmas[lo]!);
  };
  const sigmas = [...timesteps.map(sigmaAt), 0];
  const maxSigma = Math.max(...sigmas);
  const spacing = config.timestep_spacing ?? 'leading';
  return {
    name: 'EulerDiscreteScheduler',
    timesteps,
    sigmas,
    initNoiseSigma: spacing === 'linspace' || spacing === 'trailing' ? maxSigma : Math.sqrt(maxSigma ** 2 + 1),
    scaleModelInput: (sample, index) => {
      const scale = 1 / Math.sqrt(sigmas[index]! ** 2 + 1);
      const scaled = new Float32Array(sample.length);
      for (let i = 0; i < scaled.length; i++) scaled[i] = sample[i]! * scale;
      return scaled;
    },
    step(out, index, sample) {
      const sigma = sigmas[index]!;
      const dt = sigmas[index + 1]! - sigma;
      const x0 = new Float32Array(sample.length);
      if (config.prediction_type === 'v_prediction') {
        for (let i = 0; i < x0.length; i++) x0[i] = out[i]! * (-sigma / Math.sqrt(sigma ** 2 + 1)) + sample[i]! / (sigma ** 2 + 1);
      } else {
        for (let i = 0; i < x0.length; i++) x0[i] = sample[i]! - sigma * out[i]!;
      }
      const next = new Float32Array(sample.length);
      for (let i = 0; i < next.length; i++) next[i] = sample[i]! + ((sample[i]! - x0[i]!) / sigma) * dt;
      return next;
    },
    addNoise: (original, noise, index) => combine(1, original, sigmas[index]!, noise),
  };
}

function ddim(config: SchedulerConfig, steps: number): Scheduler {
  const ac = alphasCumprod(config);
  const n = config.num_train_timesteps ?? 1000;
  const timesteps = spacedTimesteps(config, steps);
  const finalAlpha = config.set_alpha_to_one === false ? ac[0]! : 1;
  const alphaAt = (t: number) => (t >= 0 ? ac[t]! : finalAlpha);
  return {
    name: 'DDIMScheduler',
    timesteps,
    sigmas: [],
    initNoiseSigma: 1,
    scaleModelInput: (sample) => sample,
    step(out, index, sample) {
      const t = timesteps[index]!;
      const a = alphaAt(t);
      const aPrev = alphaAt(t - Math.floor(n / steps));
      const x0 = predictOriginal(config.prediction_type, out, sample, a);
      const eps = config.prediction_type === 'v_prediction' ? combine(Math.sqrt(a), out, Math.sqrt(1 - a), sample) : out;
      return combine(Math.sqrt(aPrev), x0, Math.sqrt(1 - aPrev), eps);
    },
    addNoise: (original, noise, index) => {
      const a = alphaAt(timesteps[index]!);
      return combine(Math.sqrt(a), original, Math.sqrt(1 - a), noise);
    },
  };
}

function lcm(config: SchedulerConfig, steps: number): Scheduler {
  const ac = alphasCumprod(config);
  const n = config.num_train_timesteps ?? 1000;
  const original = config.original_inference_steps ?? 50;
  const k = Math.floor(n / original);
  const origin = Array.from({ length: original }, (_, i) => (i + 1) * k - 1).reverse();
  const timesteps = Array.from({ length: steps }, (_, i) => origin[Math.floor((i * origin.length) / steps)]!);
  const finalAlpha = config.set_alpha_to_one === false ? ac[0]! : 1;
  const alphaAt = (t: number) => (t >= 0 ? ac[t]! : finalAlpha);
  const scaling = config.timestep_scaling ?? 10;
  return {
    name: 'LCMScheduler',
    timesteps,
    sigmas: [],
    initNoiseSigma: 1,
    scaleModelInput: (sample) => sample,
    step(out, index, sample, noise) {
      const t = timesteps[index]!;
      const last = index === timesteps.length - 1;
      const a = alphaAt(t);
      const aPrev = alphaAt(last ? t : timesteps[index + 1]!);
      const scaledT = t * scaling;
      const cSkip = 0.25 / (scaledT ** 2 + 0.25);
      const cOut = scaledT / Math.sqrt(scaledT ** 2 + 0.25);
      const x0 = predictOriginal(config.prediction_type, out, sample, a);
      const denoised = combine(cOut, x0, cSkip, sample);
      if (last) return denoised;
      const [keep, fresh] = [Math.sqrt(aPrev), Math.sqrt(1 - aPrev)];
      const next = new Float32Array(denoised.length);
      for (let i = 0; i < next.length; i++) next[i] = keep * denoised[i]! + fresh * noise();
      return next;
    },
    addNoise: (original, noiseValues, index) => {
      const a = alphaAt(timesteps[index]!);
      return combine(Math.sqrt(a), original, Math.sqrt(1 - a), noiseValues);
    },
  };
}

/** The scheduler named in the config, set for `steps` steps; an unsupported one is an error naming those supported. */
export function createScheduler(config: SchedulerConfig, steps: number): Scheduler {
  const name = config._class_name ?? 'EulerDiscreteScheduler';
  if (name === 'EulerDiscreteScheduler') return euler(config, steps);
  if (name === 'DDIMScheduler') return ddim(config, steps);
  if (name === 'LCMScheduler') return lcm(config, steps);
  throw new Error(`Unsupported scheduler "${name}"; supported: ${SCHEDULER_NAMES.join(', ')}`);
}

/** img2img: the index of the first step to run for `strength` (1 runs every step, 0 none), as diffusers. */
export function img2imgStartIndex(steps: number, strength: number): number {
  const initSteps = Math.min(Math.floor(steps * strength), steps);
  return Math.max(steps - initSteps, 0);
}
