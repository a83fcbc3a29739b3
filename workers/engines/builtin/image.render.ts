import { createHash } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';

export interface RenderTask {
  prompt: string;
  negativePrompt: string | null;
  seed: number;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  /** Receives the number of each finished step. */
  port?: MessagePort;
}

/** sfc32: a small, fast PRNG whose whole state comes from the prompt hash, so output is reproducible. */
function sfc32(a: number, b: number, c: number, d: number) {
  return () => {
    a |= 0; b |= 0; c |= 0; d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

export function prngFor(task: Pick<RenderTask, 'prompt' | 'negativePrompt' | 'seed'>) {
  const digest = createHash('sha256')
    .update(`${task.prompt}\u0000${task.negativePrompt ?? ''}\u0000${task.seed}`)
    .digest();
  return sfc32(digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12));
}

/** The picture the run converges to: a few interfering waves mapped onto a three-colour palette. */
export function targetImage(task: RenderTask): Float32Array {
  const random = prngFor(task);
  const palette = Array.from({ length: 3 }, () => [random() * 255, random() * 255, random() * 255]);
  const waves = Array.from({ length: 4 }, () => ({
    fx: (random() * 6 + 0.5) / task.width,
    fy: (random() * 6 + 0.5) / task.height,
    phase: random() * Math.PI * 2,
    weight: random() * 0.5 + 0.5,
  }));
  const totalWeight = waves.reduce((sum, w) => sum + w.weight, 0);
  // More guidance, more contrast: the same role it plays in a diffusion model, loosely.
  const contrast = 0.6 + task.guidance / 30;
  const out = new Float32Array(task.width * task.height * 3);
  for (let y = 0; y < task.height; y++) {
    for (let x = 0; x < task.width; x++) {
      let v = 0;
      for (const w of waves) v += w.weight * Math.sin(2 * Math.PI * (w.fx * x + w.fy * y) + w.phase);
      const t = Math.min(1, Math.max(0, 0.5 + (contrast * v) / (2 * totalWeight)));
      const [from, to] = t < 0.5 ? [palette[0]!, palette[1]!] : [palette[1]!, palette[2]!];
      const local = t < 0.5 ? t * 2 : (t - 0.5) * 2;
      const i = (y * task.width + x) * 3;
      out[i] = from[0]! + (to[0]! - from[0]!) * local;
      out[i + 1] = from[1]! + (to[1]! - from[1]!) * local;
      out[i + 2] = from[2]! + (to[2]! - from[2]!) * local;
    }
  }
  return out;
}

/**
 * Starts from seeded noise and moves a fraction of the remaining distance to the target each step,
 * arriving exactly at the last one, as a sampler denoises towards its image. Returns raw RGB bytes.
 */
export function render(task: RenderTask): Uint8Array {
  const target = targetImage(task);
  const random = prngFor({ ...task, prompt: `noise:${task.prompt}` });
  const state = new Float32Array(target.length);
  for (let i = 0; i < state.length; i++) state[i] = random() * 255;
  for (let step = 0; step < task.steps; step++) {
    const remaining = task.steps - step;
    for (let i = 0; i < state.length; i++) state[i]! += (target[i]! - state[i]!) / remaining;
    task.port?.postMessage(step + 1);
  }
  const rgb = new Uint8Array(state.length);
  for (let i = 0; i < state.length; i++) rgb[i] = Math.round(state[i]!);
  return rgb;
}

/** Piscina's entry point: runs in a worker thread, so the worker's event loop stays free. */
export default function renderTask(task: RenderTask): Uint8Array {
  const rgb = render(task);
  task.port?.close();
  return rgb;
}
