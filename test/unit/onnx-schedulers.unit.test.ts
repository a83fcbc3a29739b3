import { describe, expect, it } from 'vitest';
import { alphasCumprod, createScheduler, img2imgStartIndex, karrasSigmas, roundHalfEven, type SchedulerConfig } from '../../workers/engines/onnx/schedulers.ts';

// Reference formulas written out independently from diffusers' documentation (scheduling_euler_discrete,
// scheduling_ddim, scheduling_lcm), in numpy's terms.
const linspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
const cumprod = (xs: number[]) => xs.reduce<number[]>((out, x) => [...out, (out.at(-1) ?? 1) * x], []);
const SD: SchedulerConfig = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', timestep_spacing: 'leading', steps_offset: 1, set_alpha_to_one: false, clip_sample: false };
const refAlphas = cumprod(linspace(Math.sqrt(0.00085), Math.sqrt(0.012), 1000).map((b) => 1 - b * b));

describe('schedulers against the reference formulas', () => {
  it('builds alphas_cumprod from scaled_linear and linear betas', () => {
    const ours = alphasCumprod(SD);
    for (const t of [0, 1, 500, 998, 999]) expect(ours[t]).toBeCloseTo(refAlphas[t]!, 12);
    const linear = alphasCumprod({ ...SD, beta_schedule: 'linear', beta_start: 0.0001, beta_end: 0.02 });
    const refLinear = cumprod(linspace(0.0001, 0.02, 1000).map((b) => 1 - b));
    expect(linear[999]).toBeCloseTo(refLinear[999]!, 12);
  });

  it('Euler: leading timesteps, interpolated sigmas ending in 0, and SD 1.x noise levels', () => {
    const euler = createScheduler({ ...SD, _class_name: 'EulerDiscreteScheduler' }, 10);
    // leading: (arange(0, 10) * (1000 // 10))[::-1] + steps_offset
    expect(euler.timesteps).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    const refSigma = (t: number) => Math.sqrt((1 - refAlphas[t]!) / refAlphas[t]!);
    euler.timesteps.forEach((t, i) => expect(euler.sigmas[i]).toBeCloseTo(refSigma(t), 10));
    expect(euler.sigmas).toHaveLength(11);
    expect(euler.sigmas.at(-1)).toBe(0);
    expect(euler.initNoiseSigma).toBeCloseTo(Math.sqrt(refSigma(901) ** 2 + 1), 10);
    // Stable Diffusion's well-known sigma_max at t = 999, reached by trailing spacing.
    const trailing = createScheduler({ ...SD, _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'trailing' }, 4);
    expect(trailing.timesteps).toEqual([999, 749, 499, 249]);
    expect(trailing.sigmas[0]).toBeCloseTo(14.6146, 3);
    expect(trailing.initNoiseSigma).toBeCloseTo(14.6146, 3);
  });

  it('Euler step: x + (x - x0)/σ · (σnext - σ) for epsilon and v_prediction', () => {
    const sample = new Float32Array([0.5, -1.25]);
    const out = new Float32Array([0.1, 0.3]);
    for (const prediction_type of ['epsilon', 'v_prediction'] as const) {
      const s = createScheduler({ ...SD, _class_name: 'EulerDiscreteScheduler', prediction_type }, 5);
      const [sigma, next] = [s.sigmas[0]!, s.sigmas[1]!];
      const x0 = (x: number, m: number) =>
        prediction_type === 'epsilon' ? x - sigma * m : m * (-sigma / Math.sqrt(sigma ** 2 + 1)) + x / (sigma ** 2 + 1);
      const stepped = s.step(out, 0, sample, () => 0);
      [0, 1].forEach((i) => expect(stepped[i]).toBeCloseTo(sample[i]! + ((sample[i]! - x0(sample[i]!, out[i]!)) / sigma) * (next - sigma), 4));
      expect(s.scaleModelInput(sample, 0)[0]).toBeCloseTo(0.5 / Math.sqrt(sigma ** 2 + 1), 6);
    }
  });

  it('DDIM (eta 0): leading timesteps and the x0 / direction update, set_alpha_to_one false', () => {
    const ddim = createScheduler({ ...SD, _class_name: 'DDIMScheduler' }, 4);
    expect(ddim.timesteps).toEqual([751, 501, 251, 1]);
    const sample = new Float32Array([0.8]);
    const eps = new Float32Array([0.2]);
    const a = refAlphas[751]!;
    const aPrev = refAlphas[501]!;
    const x0 = (0.8 - Math.sqrt(1 - a) * 0.2) / Math.sqrt(a);
    expect(ddim.step(eps, 0, sample, () => 0)[0]).toBeCloseTo(Math.sqrt(aPrev) * x0 + Math.sqrt(1 - aPrev) * 0.2, 5);
    // The last step goes to t = 1 - 250 < 0, where final_alpha_cumprod = alphas_cumprod[0].
    const last = ddim.step(eps, 3, sample, () => 0)[0]!;
    const a1 = refAlphas[1]!;
    const x0Last = (0.8 - Math.sqrt(1 - a1) * 0.2) / Math.sqrt(a1);
    expect(last).toBeCloseTo(Math.sqrt(refAlphas[0]!) * x0Last + Math.sqrt(1 - refAlphas[0]!) * 0.2, 5);
    const v = createScheduler({ ...SD, _class_name: 'DDIMScheduler', prediction_type: 'v_prediction' }, 4);
    const vX0 = Math.sqrt(a) * 0.8 - Math.sqrt(1 - a) * 0.2;
    const vEps = Math.sqrt(a) * 0.2 + Math.sqrt(1 - a) * 0.8;
    expect(v.step(eps, 0, sample, () => 0)[0]).toBeCloseTo(Math.sqrt(aPrev) * vX0 + Math.sqrt(1 - aPrev) * vEps, 5);
  });

  it('LCM: the 4-step timesteps from 50 original steps, boundary conditions and a final step without noise', () => {
    const lcm = createScheduler({ ...SD, _class_name: 'LCMScheduler', original_inference_steps: 50 }, 4);
    expect(lcm.timesteps).toEqual([999, 759, 499, 259]);
    const sample = new Float32Array([0.4]);
    const eps = new Float32Array([-0.3]);
    const t = 259;
    const a = refAlphas[t]!;
    const c = t * 10;
    const cSkip = 0.25 / (c * c + 0.25);
    const cOut = c / Math.sqrt(c * c + 0.25);
    const x0 = (0.4 - Math.sqrt(1 - a) * -0.3) / Math.sqrt(a);
    expect(lcm.step(eps, 3, sample, () => 1)[0]).toBeCloseTo(cOut * x0 + cSkip * 0.4, 5);
    // Not the last step: re-noised to the next timestep with the given noise.
    const a0 = refAlphas[999]!;
    const aNext = refAlphas[759]!;
    const d0 = (999 * 10) / Math.sqrt((999 * 10) ** 2 + 0.25) * ((0.4 - Math.sqrt(1 - a0) * -0.3) / Math.sqrt(a0)) + (0.25 / ((999 * 10) ** 2 + 0.25)) * 0.4;
    expect(lcm.step(eps, 0, sample, () => 0.7)[0]).toBeCloseTo(Math.sqrt(aNext) * d0 + Math.sqrt(1 - aNext) * 0.7, 5);
  });

  it('img2img strength starts at steps − floor(steps · strength), and unknown schedulers are refused', () => {
    expect(img2imgStartIndex(10, 0.3)).toBe(7);
    expect(img2imgStartIndex(10, 0.75)).toBe(3);
    expect(img2imgStartIndex(10, 1)).toBe(0);
    expect(img2imgStartIndex(4, 0.1)).toBe(4);
    expect(() => createScheduler({ _class_name: 'DPMSolverMultistepScheduler' }, 4)).toThrow(
      /Unsupported scheduler "DPMSolverMultistepScheduler"; supported: EulerDiscreteScheduler, DDIMScheduler, LCMScheduler, PNDMScheduler/,
    );
  });
});

// Expected values below were computed with numpy from diffusers' set_timesteps / _convert_to_karras /
// _sigma_to_t / betas_for_alpha_bar / rescale_zero_terminal_snr formulas (float64 betas), and are checked
// here against the independent formulas above where one exists.
describe('timestep spacing, every supported one, as numpy computes it', () => {
  const ddimAt = (spacing: string, steps: number) => createScheduler({ ...SD, _class_name: 'DDIMScheduler', timestep_spacing: spacing }, steps).timesteps;

  it('rounds half to even like np.round', () => {
    expect([0.5, 1.5, 2.5, 811.5, 812.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 812, 812, 2, 3]);
  });

  it('trailing: np.round(np.arange(1000, 0, -1000/16)) - 1, where half-up would give 812, 562, 312 and 62', () => {
    expect(ddimAt('trailing', 16)).toEqual([999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61]);
    expect(ddimAt('trailing', 7)).toEqual([999, 856, 713, 570, 428, 285, 142]);
    // numpy's arange yields a 62nd value (-1) at 61 steps; the 61 meant are kept, none indexes from the end.
    const t61 = ddimAt('trailing', 61);
    expect(t61).toHaveLength(61);
    expect(t61.slice(-3)).toEqual([48, 32, 15]);
  });

  it('linspace: DDIM rounds np.linspace(0, 999, n) half to even (integers, never NaN), Euler keeps float32 fractions', () => {
    expect(ddimAt('linspace', 16)).toEqual([999, 932, 866, 799, 733, 666, 599, 533, 466, 400, 333, 266, 200, 133, 67, 0]);
    expect(ddimAt('linspace', 7)).toEqual([999, 832, 666, 500, 333, 166, 0]);
    const ddim = createScheduler({ ...SD, _class_name: 'DDIMScheduler', timestep_spacing: 'linspace' }, 16);
    const out = ddim.step(new Float32Array([0.1]), 0, new Float32Array([1]), () => 0);
    expect(Number.isFinite(out[0])).toBe(true);
    const euler = createScheduler({ ...SD, _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'linspace' }, 16);
    expect(euler.timesteps.slice(0, 4)).toEqual([999, 932.4000244140625, 865.7999877929688, 799.2000122070312]);
    // np.interp of the train sigmas at the fractional timestep.
    const refSigma = (t: number) => Math.sqrt((1 - refAlphas[t]!) / refAlphas[t]!);
    const t = euler.timesteps[1]!;
    expect(euler.sigmas[1]).toBeCloseTo(refSigma(932) + (t - 932) * (refSigma(933) - refSigma(932)), 10);
    expect(euler.initNoiseSigma).toBeCloseTo(refSigma(999), 10);
  });

  it('leading: arange(0, n) · (1000 // n) + steps_offset, reversed, for DDIM, Euler and PNDM alike', () => {
    expect(ddimAt('leading', 16)).toEqual(Array.from({ length: 16 }, (_, i) => i * 62 + 1).reverse());
    expect(createScheduler({ ...SD, _class_name: 'EulerDiscreteScheduler' }, 16).timesteps).toEqual(ddimAt('leading', 16));
  });

  it('refuses an unknown spacing by name', () => {
    expect(() => ddimAt('uniform', 4)).toThrow('DDIMScheduler: timestep_spacing "uniform" is not supported; supported: linspace, leading, trailing');
  });
});

describe('PNDM (PLMS, skip_prk_steps) as Stable Diffusion 1.5 / 2 base ship it', () => {
  const PNDM: SchedulerConfig = { _class_name: 'PNDMScheduler', beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', clip_sample: false, num_train_timesteps: 1000, set_alpha_to_one: false, skip_prk_steps: true, steps_offset: 1, trained_betas: null };

  it('runs steps + 1 calls: the second repeats the first target timestep', () => {
    expect(createScheduler(PNDM, 4).timesteps).toEqual([751, 501, 501, 251, 1]);
    expect(createScheduler(PNDM, 10).timesteps).toEqual([901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(createScheduler(PNDM, 4).notes).toEqual([]);
  });

  it('follows formula (9) with the linear multi-step combinations of the last outputs', () => {
    const s = createScheduler(PNDM, 4);
    const a = (t: number) => (t >= 0 ? refAlphas[t]! : refAlphas[0]!);
    const prev = (x: number, t: number, tp: number, e: number) =>
      Math.sqrt(a(tp) / a(t)) * x - ((a(tp) - a(t)) * e) / (a(t) * Math.sqrt(1 - a(tp)) + Math.sqrt(a(t) * (1 - a(t)) * a(tp)));
    const outs = [0.3, -0.2, 0.15, 0.05, -0.1];
    const x0 = 0.9;
    // Call 1 at 751 → 501 with e0; call 2 at 501 re-does 751 → 501 from x0 with (e0 + e1)/2.
    const x1 = s.step(new Float32Array([outs[0]!]), 0, new Float32Array([x0]), () => 0)[0]!;
    expect(x1).toBeCloseTo(prev(x0, 751, 501, outs[0]!), 5);
    const x2 = s.step(new Float32Array([outs[1]!]), 1, new Float32Array([x1]), () => 0)[0]!;
    expect(x2).toBeCloseTo(prev(x0, 751, 501, (outs[0]! + outs[1]!) / 2), 5);
    // Then (3e2 − e0)/2 at 501 → 251 (e1 is not kept), (23e3 − 16e2 + 5e0)/12 at 251 → 1, then 4th order at 1 → final.
    const x3 = s.step(new Float32Array([outs[2]!]), 2, new Float32Array([x2]), () => 0)[0]!;
    expect(x3).toBeCloseTo(prev(x2, 501, 251, (3 * outs[2]! - outs[0]!) / 2), 5);
    const x4 = s.step(new Float32Array([outs[3]!]), 3, new Float32Array([x3]), () => 0)[0]!;
    expect(x4).toBeCloseTo(prev(x3, 251, 1, (23 * outs[3]! - 16 * outs[2]! + 5 * outs[0]!) / 12), 5);
    const x5 = s.step(new Float32Array([outs[4]!]), 4, new Float32Array([x4]), () => 0)[0]!;
    expect(x5).toBeCloseTo(prev(x4, 1, -249, (55 * outs[4]! - 59 * outs[3]! + 37 * outs[2]! - 9 * outs[0]!) / 24), 5);
  });

  it('without skip_prk_steps: three Runge-Kutta steps of four calls on the last timesteps, then PLMS', () => {
    const prk = createScheduler({ ...PNDM, skip_prk_steps: false }, 10);
    expect(prk.timesteps).toEqual([901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601, 601, 501, 401, 301, 201, 101, 1]);
    const s = createScheduler({ ...PNDM, skip_prk_steps: false }, 4);
    expect(s.timesteps).toEqual([751, 626, 626, 501, 501, 376, 376, 251, 251, 126, 126, 1, 1]);
    const a = (t: number) => refAlphas[t]!;
    const prev = (x: number, t: number, tp: number, e: number) =>
      Math.sqrt(a(tp) / a(t)) * x - ((a(tp) - a(t)) * e) / (a(t) * Math.sqrt(1 - a(tp)) + Math.sqrt(a(t) * (1 - a(t)) * a(tp)));
    const x = 0.7;
    const e = [0.2, -0.1, 0.3, 0.05];
    // Every call starts from the step's first sample: half step with e0, half step with e1, full step with e2,
    // then the full step with the RK4 blend (e0 + 2e1 + 2e2 + e3) / 6.
    const at = (i: number) => s.step(new Float32Array([e[i]!]), i, new Float32Array([x + 10 * i]), () => 0)[0]!;
    expect(at(0)).toBeCloseTo(prev(x, 751, 626, e[0]!), 5);
    expect(at(1)).toBeCloseTo(prev(x, 751, 626, e[1]!), 5);
    expect(at(2)).toBeCloseTo(prev(x, 751, 501, e[2]!), 5);
    expect(at(3)).toBeCloseTo(prev(x, 751, 501, (e[0]! + 2 * e[1]! + 2 * e[2]! + e[3]!) / 6), 5);
  });
});

describe('beta schedules, Karras sigmas, zero terminal SNR, clip_sample', () => {
  it('squaredcos_cap_v2: betas_for_alpha_bar with the cosine transform', () => {
    const ac = alphasCumprod({ _class_name: 'DDIMScheduler', beta_schedule: 'squaredcos_cap_v2' });
    const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    const ref = cumprod(Array.from({ length: 1000 }, (_, i) => 1 - Math.min(1 - alphaBar((i + 1) / 1000) / alphaBar(i / 1000), 0.999)));
    for (const t of [0, 1, 500, 998, 999]) expect(ac[t]! / ref[t]!).toBeCloseTo(1, 10);
    expect(ac[500]).toBeCloseTo(0.49228517244880304, 12);
    expect(ac[999]! / 2.4287669070348567e-9).toBeCloseTo(1, 8);
    // Not linear: linear betas give a very different middle.
    expect(alphasCumprod({ _class_name: 'DDIMScheduler', beta_schedule: 'linear' })[500]).not.toBeCloseTo(ac[500]!, 2);
  });

  it('rescale_betas_zero_snr: alphas_cumprod ends at exactly 0 (Euler clamps it to 2^-24), v_prediction required off Euler', () => {
    const config = { ...SD, _class_name: 'DDIMScheduler', rescale_betas_zero_snr: true, prediction_type: 'v_prediction', timestep_spacing: 'trailing' };
    const ac = alphasCumprod(config);
    expect(ac[0]).toBeCloseTo(0.99915, 12);
    expect(ac[500]).toBeCloseTo(0.24101878275731575, 10);
    expect(ac[999]).toBe(0);
    expect(createScheduler(config, 4).step(new Float32Array([0.2]), 0, new Float32Array([0.5]), () => 0)[0]).toBeCloseTo(
      // At t = 999, a = 0: x0 = −v, ε = x; to t = 749.
      Math.sqrt(ac[749]!) * -0.2 + Math.sqrt(1 - ac[749]!) * 0.5,
      5,
    );
    expect(() => createScheduler({ ...config, prediction_type: 'epsilon' }, 4)).toThrow(/rescale_betas_zero_snr needs prediction_type v_prediction/);
    const euler = createScheduler({ ...config, _class_name: 'EulerDiscreteScheduler' }, 4);
    expect(euler.sigmas[0]).toBeCloseTo(Math.sqrt((1 - 2 ** -24) / 2 ** -24), 6);
  });

  it('use_karras_sigmas: rho-7 ramp between the schedule ends, timesteps from log-sigma interpolation', () => {
    const k = createScheduler({ ...SD, _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'linspace', use_karras_sigmas: true }, 10);
    const expected = [14.614641229333643, 9.102928134047657, 5.478391986442962, 3.168603072959619, 1.7494170492511885, 0.9140722650309667, 0.44691820937343973, 0.20139829978031268, 0.08191023832026934, 0.02916715815172038];
    expected.forEach((sigma, i) => expect(k.sigmas[i]! / sigma).toBeCloseTo(1, 9));
    expect(k.sigmas[10]).toBe(0);
    const expectedT = [999, 916.283935546875, 815.044677734375, 687.1527709960938, 523.1980590820312, 327.14599609375, 145.9380645751953, 40.8564338684082, 6.732296943664551];
    expectedT.forEach((t, i) => expect(k.timesteps[i]).toBeCloseTo(t, 2));
    expect(k.timesteps[9]).toBeCloseTo(0, 6);
    karrasSigmas(0.1, 10, 2).forEach((sigma, i) => expect(sigma).toBeCloseTo([10, 0.1][i]!, 12));
    expect(k.initNoiseSigma).toBeCloseTo(expected[0]!, 8);
  });

  it('clip_sample clamps x0 for DDIM and LCM (DDIM clips by default, as diffusers)', () => {
    const sample = new Float32Array([3]);
    const eps = new Float32Array([0]);
    const ddim = createScheduler({ ...SD, _class_name: 'DDIMScheduler', clip_sample: true, clip_sample_range: 1.5 }, 4);
    const a = refAlphas[751]!;
    const aPrev = refAlphas[501]!;
    const x0 = Math.min(1.5, 3 / Math.sqrt(a));
    expect(ddim.step(eps, 0, sample, () => 0)[0]).toBeCloseTo(Math.sqrt(aPrev) * x0, 5);
    const { clip_sample: _unset, ...withoutClip } = SD;
    expect(createScheduler({ ...withoutClip, _class_name: 'DDIMScheduler' }, 4).step(eps, 0, sample, () => 0)[0]).toBeCloseTo(Math.sqrt(aPrev) * 1, 5);
    const lcm = createScheduler({ ...SD, _class_name: 'LCMScheduler', clip_sample: true }, 4);
    // Last step: c_out · clip(x0) + c_skip · x.
    const t = 259;
    const c = t * 10;
    const lcmX0 = Math.min(1, 3 / Math.sqrt(refAlphas[t]!));
    expect(lcm.step(eps, 3, sample, () => 0)[0]).toBeCloseTo((c / Math.sqrt(c * c + 0.25)) * lcmX0 + (0.25 / (c * c + 0.25)) * 3, 5);
  });

  it('refuses what the reference honours but is not implemented, and notes what it ignores', () => {
    expect(() => createScheduler({ ...SD, _class_name: 'DDIMScheduler', thresholding: true }, 4)).toThrow('DDIMScheduler: thresholding (dynamic thresholding) is not supported; set it to false');
    expect(() => createScheduler({ ...SD, _class_name: 'EulerDiscreteScheduler', use_exponential_sigmas: true }, 4)).toThrow(/use_exponential_sigmas is not supported/);
    expect(() => createScheduler({ ...SD, beta_schedule: 'sigmoid' }, 4)).toThrow(/beta_schedule "sigmoid" is not supported; supported: linear, scaled_linear, squaredcos_cap_v2/);
    expect(() => createScheduler({ ...SD, prediction_type: 'sample' }, 4)).toThrow(/prediction_type "sample" is not supported/);
    expect(createScheduler({ ...SD, _class_name: 'PNDMScheduler', skip_prk_steps: true, use_karras_sigmas: true, clip_sample: false }, 4).notes).toEqual([
      'PNDMScheduler has no setting use_karras_sigmas (true); ignored, as diffusers ignores it',
    ]);
  });
});
