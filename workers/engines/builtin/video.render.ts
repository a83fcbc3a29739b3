import { prngFor } from './image.render.ts';

/** One video frame to render: a pure function of these fields, so a seed always gives the same video. */
export interface FrameTask {
  /** The scene's prompt (each scene has its own picture). */
  prompt: string;
  negativePrompt: string | null;
  seed: number;
  width: number;
  height: number;
  fps: number;
  motionScale: number;
  /** Index of the frame within its scene; time in the scene is frame / fps. */
  frame: number;
  /**
   * A still to animate instead of the procedural picture: RGB bytes already resized to width × height.
   * Pass a view of a SharedArrayBuffer so worker threads read it without a copy per frame.
   */
  source?: Uint8Array | null;
}

/** The image engine's contrast at its default guidance: frame 0 of a scene matches its still image. */
const GUIDANCE = 7.5;

/**
 * The procedural picture of image.render.ts (same seeded palette and waves) with each wave drifting
 * along its own direction: its phase advances by 2π · speed · t · motionScale.
 */
function proceduralFrame(task: FrameTask): Uint8Array {
  const { width, height } = task;
  const random = prngFor(task);
  // Drawn in the same order as targetImage, so the picture at t = 0 is the still image of the prompt.
  const palette = Array.from({ length: 3 }, () => [random() * 255, random() * 255, random() * 255] as const);
  const waves = Array.from({ length: 4 }, () => ({
    fx: (random() * 6 + 0.5) / width,
    fy: (random() * 6 + 0.5) / height,
    phase: random() * Math.PI * 2,
    weight: random() * 0.5 + 0.5,
  }));
  const motion = prngFor({ ...task, prompt: `motion:${task.prompt}` });
  const t = task.frame / task.fps;
  const totalWeight = waves.reduce((sum, w) => sum + w.weight, 0);
  const contrast = 0.6 + GUIDANCE / 30;
  const scale = contrast / (2 * totalWeight);

  // sin(a + b) = sin a · cos b + cos a · sin b: per-column and per-row tables instead of a sin per pixel.
  // Column tables are interleaved per x: [sin0, cos0, sin1, cos1, …], weights folded in.
  const count = waves.length;
  const columns = new Float64Array(width * count * 2);
  for (let x = 0; x < width; x++) {
    for (let k = 0; k < count; k++) {
      const w = waves[k]!;
      const a = 2 * Math.PI * w.fx * x;
      columns[(x * count + k) * 2] = Math.sin(a) * w.weight * scale;
      columns[(x * count + k) * 2 + 1] = Math.cos(a) * w.weight * scale;
    }
  }
  const phases = waves.map((w) => w.phase + 2 * Math.PI * (0.1 + motion() * 0.4) * (motion() < 0.5 ? -1 : 1) * t * task.motionScale);
  // Palette as flat numbers: colour 0 → 1 for levels below 0.5, 1 → 2 above.
  const [r0, g0, b0] = palette[0]!;
  const [r1, g1, b1] = palette[1]!;
  const [r2, g2, b2] = palette[2]!;

  const out = new Uint8Array(width * height * 3);
  const row = new Float64Array(count * 2);
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < count; k++) {
      const b = 2 * Math.PI * waves[k]!.fy * y + phases[k]!;
      row[k * 2] = Math.cos(b);
      row[k * 2 + 1] = Math.sin(b);
    }
    let i = y * width * 3;
    for (let x = 0, c = 0; x < width; x++) {
      let v = 0.5;
      for (let k = 0; k < count * 2; k += 2, c += 2) v += columns[c]! * row[k]! + columns[c + 1]! * row[k + 1]!;
      const level = v < 0 ? 0 : v > 1 ? 1 : v;
      if (level < 0.5) {
        const local = level * 2;
        out[i++] = Math.round(r0 + (r1 - r0) * local);
        out[i++] = Math.round(g0 + (g1 - g0) * local);
        out[i++] = Math.round(b0 + (b1 - b0) * local);
      } else {
        const local = (level - 0.5) * 2;
        out[i++] = Math.round(r1 + (r2 - r1) * local);
        out[i++] = Math.round(g1 + (g2 - g1) * local);
        out[i++] = Math.round(b1 + (b2 - b1) * local);
      }
    }
  }
  return out;
}

/** Zoom in a little per second, drifting towards a point chosen from the scene's prompt and seed. */
export function kenBurns(task: Pick<FrameTask, 'prompt' | 'negativePrompt' | 'seed' | 'frame' | 'fps' | 'motionScale'>) {
  const random = prngFor({ ...task, prompt: `camera:${task.prompt}` });
  const targetX = random() * 2 - 1;
  const targetY = random() * 2 - 1;
  const t = task.frame / task.fps;
  const zoom = Math.min(3, 1 + 0.06 * task.motionScale * t);
  // The view's centre moves towards the target as it zooms, always staying inside the picture.
  const reach = 0.5 * (1 - 1 / zoom);
  return { zoom, centerX: 0.5 + targetX * reach, centerY: 0.5 + targetY * reach };
}

function animatedStill(task: FrameTask, source: Uint8Array): Uint8Array {
  const { width, height } = task;
  if (source.length !== width * height * 3) throw new Error(`source must be ${width}x${height} RGB (${width * height * 3} bytes), got ${source.length}`);
  const { zoom, centerX, centerY } = kenBurns(task);
  const out = new Uint8Array(width * height * 3);
  const maxX = width - 1;
  const maxY = height - 1;
  for (let y = 0; y < height; y++) {
    const sy = Math.min(maxY, Math.max(0, centerY * height + (y + 0.5 - height / 2) / zoom - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(maxY, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(maxX, Math.max(0, centerX * width + (x + 0.5 - width / 2) / zoom - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(maxX, x0 + 1);
      const fx = sx - x0;
      const a = (y0 * width + x0) * 3;
      const b = (y0 * width + x1) * 3;
      const c = (y1 * width + x0) * 3;
      const d = (y1 * width + x1) * 3;
      const o = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = source[a + ch]! + (source[b + ch]! - source[a + ch]!) * fx;
        const bottom = source[c + ch]! + (source[d + ch]! - source[c + ch]!) * fx;
        out[o + ch] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return out;
}

/** Raw RGB bytes (width × height × 3) of one frame. */
export function renderFrame(task: FrameTask): Uint8Array {
  return task.source ? animatedStill(task, task.source) : proceduralFrame(task);
}

/** Piscina's entry point: runs in a worker thread, so the worker's event loop stays free. */
export default function renderFrameTask(task: FrameTask): Uint8Array {
  return renderFrame(task);
}
