import { describe, expect, it } from 'vitest';
import { alphasCumprod, createScheduler, img2imgStartIndex, type SchedulerConfig } from '../../workers/engines/onnx/schedulers.ts';

// Reference formulas written out independently from diffusers' documentation (scheduling_euler_discrete,
// scheduling_ddim, scheduling_lcm), in numpy's terms.
const linspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
const cumprod = (xs: number[]) => xs.reduce<number[]>((out, x) => [...out, (out.at(-1) ?? 1) * x], []);
const SD: SchedulerConfig = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', timestep_spacing: 'leading', steps_offset: 1, set_alpha_to_one: false };
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
    expect(() => createScheduler({ _class_name: 'PNDMScheduler' }, 4)).toThrow(/Unsupported scheduler "PNDMScheduler"; supported: EulerDiscreteScheduler, DDIMScheduler, LCMScheduler/);
  });
});
