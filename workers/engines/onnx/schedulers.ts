/**
 * Diffusion schedulers, following diffusers' EulerDiscreteScheduler, DDIMScheduler, LCMScheduler and
 * PNDMScheduler (PLMS, or Runge-Kutta then PLMS; eta 0, no churn) for the fields of scheduler_config.json that exports carry.
 * A field a scheduler honours in diffusers is implemented or refused with an error naming it; a field that
 * is no setting of that scheduler (diffusers ignores it too) is named in `notes` for the job log.
 */

export interface SchedulerConfig {
  _class_name?: string;
  num_train_timesteps?: number;
  beta_start?: number;
  beta_end?: number;
  beta_schedule?: string;
  trained_betas?: number[] | null;
  prediction_type?: string;
  timestep_spacing?: string;
  steps_offset?: number;
  set_alpha_to_one?: boolean;
  original_inference_steps?: number;
  timestep_scaling?: number;
  skip_prk_steps?: boolean;
  use_karras_sigmas?: boolean;
  rescale_betas_zero_snr?: boolean;
  clip_sample?: boolean;
  clip_sample_range?: number;
  thresholding?: boolean;
  [field: string]: unknown;
}

export const SCHEDULER_NAMES = ['EulerDiscreteScheduler', 'DDIMScheduler', 'LCMScheduler', 'PNDMScheduler'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export interface Scheduler {
  readonly name: SchedulerName;
  /** Train timesteps of the UNet calls, first to last (PNDM's PLMS runs one more call than steps). */
  readonly timesteps: number[];
  /** Euler's noise levels per step plus a final 0; empty for the alpha-based schedulers. */
  readonly sigmas: number[];
  readonly initNoiseSigma: number;
  /** Config fields diffusers ignores for this scheduler, said once in the job log. */
  readonly notes: string[];
  scaleModelInput(sample: Float32Array, index: number): Float32Array;
  /** Steps from call `index`; PNDM keeps its model-output history, so calls must come in order. */
  step(modelOutput: Float32Array, index: number, sample: Float32Array, noise: () => number): Float32Array;
  /** Noises clean latents to the level of step `index` (img2img's starting point). */
  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array;
}

class SchedulerConfigError extends Error {
  constructor(name: string, message: string) {
    super(`${name}: ${message}`);
    this.name = 'SchedulerConfigError';
  }
}

/** diffusers' defaults per class (register_to_config), used for fields a config leaves out. */
const DEFAULTS: Record<SchedulerName, SchedulerConfig> = {
  EulerDiscreteScheduler: { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', timestep_spacing: 'linspace', steps_offset: 0 },
  DDIMScheduler: { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', timestep_spacing: 'leading', steps_offset: 0, set_alpha_to_one: true, clip_sample: true },
  LCMScheduler: { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', timestep_spacing: 'leading', steps_offset: 0, set_alpha_to_one: true, clip_sample: false },
  PNDMScheduler: { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', timestep_spacing: 'leading', steps_offset: 0, set_alpha_to_one: false, skip_prk_steps: false },
};

/** Which optional fields each scheduler has in diffusers; others present and set are noted as ignored. */
const FIELDS: Record<SchedulerName, string[]> = {
  EulerDiscreteScheduler: ['use_karras_sigmas', 'rescale_betas_zero_snr', 'use_exponential_sigmas', 'use_beta_sigmas', 'interpolation_type', 'timestep_type', 'final_sigmas_type', 'sigma_min', 'sigma_max'],
  DDIMScheduler: ['set_alpha_to_one', 'clip_sample', 'clip_sample_range', 'thresholding', 'rescale_betas_zero_snr'],
  LCMScheduler: ['set_alpha_to_one', 'clip_sample', 'clip_sample_range', 'thresholding', 'rescale_betas_zero_snr', 'original_inference_steps', 'timestep_scaling'],
  PNDMScheduler: ['set_alpha_to_one', 'skip_prk_steps'],
};
const OPTIONAL = [...new Set(Object.values(FIELDS).flat())];

/** numpy's round: half to even. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** np.linspace(start, stop, num) as numpy computes it: i · step + start, the last value exactly stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

function betas(name: string, config: SchedulerConfig): number[] {
  const n = config.num_train_timesteps ?? 1000;
  if (Array.isArray(config.trained_betas) && config.trained_betas.length) {
    if (config.trained_betas.length !== n) throw new SchedulerConfigError(name, `trained_betas has ${config.trained_betas.length} values, num_train_timesteps is ${n}`);
    return config.trained_betas;
  }
  const [start, end] = [config.beta_start!, config.beta_end!];
  switch (config.beta_schedule) {
    case 'linear':
      return linspace(start, end, n);
    case 'scaled_linear':
      return linspace(Math.sqrt(start), Math.sqrt(end), n).map((b) => b * b);
    case 'squaredcos_cap_v2': {
      // betas_for_alpha_bar with the cosine transform, each beta capped at 0.999.
      const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      return Array.from({ length: n }, (_, i) => Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999));
    }
    default:
      throw new SchedulerConfigError(name, `beta_schedule "${String(config.beta_schedule)}" is not supported; supported: linear, scaled_linear, squaredcos_cap_v2`);
  }
}

/** Rescales betas to zero terminal SNR (Lin et al. 2023, Algorithm 1), as diffusers' rescale_zero_terminal_snr. */
function rescaleZeroSnr(betaValues: number[]): number[] {
  let product = 1;
  const sqrtBar = betaValues.map((b) => Math.sqrt((product *= 1 - b)));
  const [first, last] = [sqrtBar[0]!, sqrtBar.at(-1)!];
  const bar = sqrtBar.map((s) => (((s - last) * first) / (first - last)) ** 2);
  return bar.map((a, i) => 1 - (i === 0 ? a : a / bar[i - 1]!));
}

export function alphasCumprod(config: SchedulerConfig): Float64Array {
  const name = (config._class_name as SchedulerName | undefined) ?? 'EulerDiscreteScheduler';
  const merged = { ...(DEFAULTS[name] ?? DEFAULTS.EulerDiscreteScheduler), ...config };
  let values = betas(name, merged);
  if (merged.rescale_betas_zero_snr) values = rescaleZeroSnr(values);
  const out = new Float64Array(values.length);
  let product = 1;
  values.forEach((beta, i) => (out[i] = product *= 1 - beta));
  return out;
}

/** Train timesteps of the denoising steps, first to last, for DDIM / PNDM (integers) and Euler (before casting). */
function spacedTimesteps(name: string, config: SchedulerConfig, steps: number): number[] {
  const n = config.num_train_timesteps ?? 1000;
  switch (config.timestep_spacing) {
    case 'linspace':
      return linspace(0, n - 1, steps).reverse();
    case 'leading': {
      const ratio = Math.floor(n / steps);
      return Array.from({ length: steps }, (_, i) => i * ratio + (config.steps_offset ?? 0)).reverse();
    }
    case 'trailing': {
      // np.round(np.arange(n, 0, -n / steps)) - 1. For a few step counts (61, 103, ...) numpy's arange yields one
      // value more, a trailing -1 that indexes alphas_cumprod from the end; these are the `steps` values meant.
      const ratio = n / steps;
      return Array.from({ length: steps }, (_, i) => roundHalfEven(n + i * -ratio) - 1);
    }
    default:
      throw new SchedulerConfigError(name, `timestep_spacing "${String(config.timestep_spacing)}" is not supported; supported: linspace, leading, trailing`);
  }
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

/** x₀ from the model output at cumulative alpha `a`, for either prediction type, clipped when the config says. */
function predictOriginal(config: SchedulerConfig, out: Float32Array, sample: Float32Array, a: number) {
  const sa = Math.sqrt(a);
  const sb = Math.sqrt(1 - a);
  const x0 = new Float32Array(sample.length);
  if (config.prediction_type === 'v_prediction') for (let i = 0; i < x0.length; i++) x0[i] = sa * sample[i]! - sb * out[i]!;
  else for (let i = 0; i < x0.length; i++) x0[i] = (sample[i]! - sb * out[i]!) / sa;
  if (config.clip_sample) {
    const range = config.clip_sample_range ?? 1;
    for (let i = 0; i < x0.length; i++) x0[i] = Math.max(-range, Math.min(range, x0[i]!));
  }
  return x0;
}

const identity = (sample: Float32Array) => sample;

/** Karras et al. (2022) noise levels between the schedule's own ends, rho 7 (diffusers' _convert_to_karras). */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number): number[] {
  const rho = 7;
  const [minInv, maxInv] = [sigmaMin ** (1 / rho), sigmaMax ** (1 / rho)];
  return linspace(0, 1, steps).map((ramp) => (maxInv + ramp * (minInv - maxInv)) ** rho);
}

/** The fractional train timestep of a noise level, interpolating log sigmas (diffusers' _sigma_to_t). */
export function sigmaToT(sigma: number, logSigmas: ArrayLike<number>): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i]! >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const [lo, hi] = [logSigmas[low]!, logSigmas[low + 1]!];
  const w = Math.max(0, Math.min(1, (lo - logSigma) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

function euler(config: SchedulerConfig, steps: number): Omit<Scheduler, 'notes'> {
  const ac = alphasCumprod(config);
  // diffusers: with zero terminal SNR the last alpha would make sigma infinite.
  if (config.rescale_betas_zero_snr) ac[ac.length - 1] = 2 ** -24;
  const trainSigmas = Array.from(ac, (a) => Math.sqrt((1 - a) / a));
  // Linear interpolation of the train sigmas at (possibly fractional) timesteps, as np.interp.
  const sigmaAt = (t: number) => {
    const lo = Math.floor(t);
    const hi = Math.min(lo + 1, trainSigmas.length - 1);
    return trainSigmas[lo]! + (t - lo) * (trainSigmas[hi]! - trainSigmas[lo]!);
  };
  // diffusers keeps Euler's timesteps as float32.
  let timesteps = spacedTimesteps('EulerDiscreteScheduler', config, steps).map(Math.fround);
  let stepSigmas = timesteps.map(sigmaAt);
  if (config.use_karras_sigmas) {
    stepSigmas = karrasSigmas(stepSigmas.at(-1)!, stepSigmas[0]!, steps);
    const logSigmas = trainSigmas.map(Math.log);
    timesteps = stepSigmas.map((s) => Math.fround(sigmaToT(s, logSigmas)));
  }
  const sigmas = [...stepSigmas, 0];
  const maxSigma = Math.max(...sigmas);
  const spacing = config.timestep_spacing;
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

function ddim(config: SchedulerConfig, steps: number): Omit<Scheduler, 'notes'> {
  const ac = alphasCumprod(config);
  const n = config.num_train_timesteps ?? 1000;
  const timesteps = spacedTimesteps('DDIMScheduler', config, steps).map(roundHalfEven);
  const finalAlpha = config.set_alpha_to_one ? 1 : ac[0]!;
  const alphaAt = (t: number) => (t >= 0 ? ac[t]! : finalAlpha);
  return {
    name: 'DDIMScheduler',
    timesteps,
    sigmas: [],
    initNoiseSigma: 1,
    scaleModelInput: identity,
    step(out, index, sample) {
      const t = timesteps[index]!;
      const a = alphaAt(t);
      const aPrev = alphaAt(t - Math.floor(n / steps));
      const x0 = predictOriginal(config, out, sample, a);
      // The direction uses the unclipped prediction (diffusers' use_clipped_model_output is off in its pipelines).
      const eps = config.prediction_type === 'v_prediction' ? combine(Math.sqrt(a), out, Math.sqrt(1 - a), sample) : out;
      return combine(Math.sqrt(aPrev), x0, Math.sqrt(1 - aPrev), eps);
    },
    addNoise: (original, noise, index) => {
      const a = alphaAt(timesteps[index]!);
      return combine(Math.sqrt(a), original, Math.sqrt(1 - a), noise);
    },
  };
}

function lcm(config: SchedulerConfig, steps: number): Omit<Scheduler, 'notes'> {
  const ac = alphasCumprod(config);
  const n = config.num_train_timesteps ?? 1000;
  const original = config.original_inference_steps ?? 50;
  const k = Math.floor(n / original);
  const origin = Array.from({ length: original }, (_, i) => (i + 1) * k - 1).reverse();
  // np.floor(np.linspace(0, len(origin), num=steps, endpoint=False)).
  const stride = origin.length / steps;
  const timesteps = Array.from({ length: steps }, (_, i) => origin[Math.floor(i * stride)]!);
  const finalAlpha = config.set_alpha_to_one ? 1 : ac[0]!;
  const alphaAt = (t: number) => (t >= 0 ? ac[t]! : finalAlpha);
  const scaling = config.timestep_scaling ?? 10;
  return {
    name: 'LCMScheduler',
    timesteps,
    sigmas: [],
    initNoiseSigma: 1,
    scaleModelInput: identity,
    step(out, index, sample, noise) {
      const t = timesteps[index]!;
      const last = index === timesteps.length - 1;
      const a = alphaAt(t);
      const aPrev = alphaAt(last ? t : timesteps[index + 1]!);
      const scaledT = t * scaling;
      const cSkip = 0.25 / (scaledT ** 2 + 0.25);
      const cOut = scaledT / Math.sqrt(scaledT ** 2 + 0.25);
      const x0 = predictOriginal(config, out, sample, a);
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

/**
 * PNDM as diffusers runs it. With skip_prk_steps (what Stable Diffusion 1.x / 2.x ship): pseudo linear
 * multi-step (PLMS), whose second call re-evaluates the first step's target (a Heun-like warm-up), so it makes
 * steps + 1 UNet calls. Without: three Runge-Kutta steps of four calls each on the last four timesteps, then
 * PLMS on the rest (steps + 8 calls).
 */
function pndm(config: SchedulerConfig, steps: number): Omit<Scheduler, 'notes'> {
  const ac = alphasCumprod(config);
  const n = config.num_train_timesteps ?? 1000;
  const ratio = Math.floor(n / steps);
  const half = Math.floor(ratio / 2);
  const base = spacedTimesteps('PNDMScheduler', config, steps).map(roundHalfEven).reverse();
  let prk: number[] = [];
  let plms: number[];
  if (config.skip_prk_steps) {
    // np.concatenate([ts[:-1], ts[-2:-1], ts[-1:]])[::-1], in ascending `base`.
    plms = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)].reverse();
  } else {
    // (ts[-4:].repeat(2) + tile([0, ratio // 2], 4))[:-1].repeat(2)[1:-1][::-1]
    const shifted = base.slice(-4).flatMap((t) => [t, t + half]).slice(0, -1);
    prk = shifted.flatMap((t) => [t, t]).slice(1, -1).reverse();
    plms = base.slice(0, -3).reverse();
  }
  const timesteps = [...prk, ...plms];
  const finalAlpha = config.set_alpha_to_one ? 1 : ac[0]!;
  const alphaAt = (t: number) => (t >= 0 ? ac[t]! : finalAlpha);
  const history: Float32Array[] = [];
  let counter = 0;
  let firstSample: Float32Array | null = null;
  let rkSum: Float32Array | null = null;

  /** Formula (9) of the PNDM paper: x_{t-δ} from x_t and the combined model output. */
  const previous = (sample: Float32Array, t: number, prevT: number, out: Float32Array) => {
    const a = alphaAt(t);
    const aPrev = alphaAt(prevT);
    const eps = config.prediction_type === 'v_prediction' ? combine(Math.sqrt(a), out, Math.sqrt(1 - a), sample) : out;
    const sampleCoeff = Math.sqrt(aPrev / a);
    const denominator = a * Math.sqrt(1 - aPrev) + Math.sqrt(a * (1 - a) * aPrev);
    return combine(sampleCoeff, sample, -(aPrev - a) / denominator, eps);
  };

  /** One of the four calls of a Runge-Kutta step (diffusers' step_prk). */
  const rungeKutta = (out: Float32Array, index: number, sample: Float32Array) => {
    const prevT = timesteps[index]! - (counter % 2 ? 0 : half);
    const t = prk[Math.floor(counter / 4) * 4]!;
    let model = out;
    const phase = counter % 4;
    if (phase === 0) {
      rkSum = combine(1 / 6, out, 0, out);
      history.push(out);
      firstSample = sample;
    } else if (phase === 3) {
      model = combine(1, rkSum!, 1 / 6, out);
      rkSum = null;
    } else rkSum = combine(1, rkSum!, 1 / 3, out);
    counter++;
    return previous(firstSample ?? sample, t, prevT, model);
  };

  return {
    name: 'PNDMScheduler',
    timesteps,
    sigmas: [],
    initNoiseSigma: 1,
    scaleModelInput: identity,
    step(out, index, sample) {
      if (counter < prk.length) return rungeKutta(out, index, sample);
      let t = timesteps[index]!;
      let prevT = t - ratio;
      let input = sample;
      let combined: Float32Array;
      if (counter !== 1) history.push(out);
      else {
        prevT = t;
        t += ratio;
      }
      const e = history;
      if (e.length === 1 && counter === 0) {
        combined = out;
        firstSample = sample;
      } else if (e.length === 1 && counter === 1) {
        combined = combine(0.5, out, 0.5, e[0]!);
        input = firstSample!;
        firstSample = null;
      } else if (e.length === 2) combined = combine(1.5, e[1]!, -0.5, e[0]!);
      else if (e.length === 3) {
        combined = new Float32Array(out.length);
        const [e1, e2, e3] = [e.at(-1)!, e.at(-2)!, e.at(-3)!];
        for (let i = 0; i < out.length; i++) combined[i] = (23 * e1[i]! - 16 * e2[i]! + 5 * e3[i]!) / 12;
      } else {
        combined = new Float32Array(out.length);
        const [e1, e2, e3, e4] = [e.at(-1)!, e.at(-2)!, e.at(-3)!, e.at(-4)!];
        for (let i = 0; i < out.length; i++) combined[i] = (55 * e1[i]! - 59 * e2[i]! + 37 * e3[i]! - 9 * e4[i]!) / 24;
        // Only the last four outputs are ever read again.
        history.shift();
      }
      counter++;
      return previous(input, t, prevT, combined);
    },
    addNoise: (original, noise, index) => {
      const a = alphaAt(timesteps[index]!);
      return combine(Math.sqrt(a), original, Math.sqrt(1 - a), noise);
    },
  };
}

/** Refuses what diffusers would honour but this code does not implement; lists set fields that do not apply. */
function check(name: SchedulerName, config: SchedulerConfig): string[] {
  const refuse = (message: string) => {
    throw new SchedulerConfigError(name, message);
  };
  const prediction = config.prediction_type ?? 'epsilon';
  if (prediction !== 'epsilon' && prediction !== 'v_prediction') refuse(`prediction_type "${prediction}" is not supported; supported: epsilon, v_prediction`);
  if (config.thresholding && FIELDS[name].includes('thresholding')) refuse('thresholding (dynamic thresholding) is not supported; set it to false');
  if (name === 'EulerDiscreteScheduler') {
    if (config.use_exponential_sigmas) refuse('use_exponential_sigmas is not supported; use_karras_sigmas is');
    if (config.use_beta_sigmas) refuse('use_beta_sigmas is not supported; use_karras_sigmas is');
    if ((config.interpolation_type ?? 'linear') !== 'linear') refuse(`interpolation_type "${String(config.interpolation_type)}" is not supported; supported: linear`);
    if ((config.timestep_type ?? 'discrete') !== 'discrete') refuse(`timestep_type "${String(config.timestep_type)}" is not supported; supported: discrete`);
    if ((config.final_sigmas_type ?? 'zero') !== 'zero') refuse(`final_sigmas_type "${String(config.final_sigmas_type)}" is not supported; supported: zero`);
    if (config.use_karras_sigmas && (config.sigma_min != null || config.sigma_max != null)) refuse('sigma_min / sigma_max overrides are not supported with use_karras_sigmas');
  }
  if (config.rescale_betas_zero_snr && FIELDS[name].includes('rescale_betas_zero_snr') && name !== 'EulerDiscreteScheduler' && prediction !== 'v_prediction') {
    // The last alpha is exactly 0 then: an epsilon model's x0 divides by it.
    refuse('rescale_betas_zero_snr needs prediction_type v_prediction (zero terminal SNR leaves nothing to divide an epsilon prediction by)');
  }
  return OPTIONAL.filter((field) => !FIELDS[name].includes(field) && config[field] != null && config[field] !== false).map(
    (field) => `${name} has no setting ${field} (${JSON.stringify(config[field])}); ignored, as diffusers ignores it`,
  );
}

/**
 * The scheduler named in the config, set for `steps` steps. An unsupported scheduler or setting is an error
 * naming what is supported; nothing the reference honours is silently dropped.
 */
export function createScheduler(raw: SchedulerConfig, steps: number): Scheduler {
  const name = (raw._class_name ?? 'EulerDiscreteScheduler') as SchedulerName;
  if (!SCHEDULER_NAMES.includes(name)) throw new Error(`Unsupported scheduler "${name}"; supported: ${SCHEDULER_NAMES.join(', ')}`);
  // A JSON null means "the default", as diffusers' from_config treats it.
  const given = Object.fromEntries(Object.entries(raw).filter(([, v]) => v != null));
  const config: SchedulerConfig = { ...DEFAULTS[name], ...given, _class_name: name };
  const notes = check(name, config);
  const built = name === 'EulerDiscreteScheduler' ? euler(config, steps) : name === 'DDIMScheduler' ? ddim(config, steps) : name === 'LCMScheduler' ? lcm(config, steps) : pndm(config, steps);
  return { ...built, notes };
}

/** img2img: the index of the first step to run for `strength` (1 runs every step, 0 none), as diffusers. */
export function img2imgStartIndex(steps: number, strength: number): number {
  const initSteps = Math.min(Math.floor(steps * strength), steps);
  return Math.max(steps - initSteps, 0);
}
