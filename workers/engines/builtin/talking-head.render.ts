/** One talking-head frame: the portrait, its mouth opened by `open` and the head moved a little. */
export interface HeadFrameTask {
  width: number;
  height: number;
  fps: number;
  frame: number;
  /** How far the mouth opens, 0 (closed) to 1.5: the audio's loudness at this frame times the motion amplitude. */
  open: number;
  /** Scales the idle head bob (0 = still). */
  sway: number;
  /** The portrait as RGB bytes, width × height × 3; a view of a SharedArrayBuffer, so threads share it. */
  source: Uint8Array;
}

/** The widest the mouth opens, as a fraction of the picture's height. */
export const MAX_OPENING = 0.07;

const smoothstep = (edge0: number, edge1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - edge0) / (edge1 - edge0)));
  return t * t * (3 - 2 * t);
};

/**
 * Where the builtin engine assumes the mouth is, having no face detector: centred, in the lower third
 * of a head-and-shoulders portrait.
 */
export function mouthRegion(width: number, height: number) {
  return { x: width * 0.5, y: height * 0.7, halfWidth: width * 0.14, halfHeight: height * 0.035 };
}

/** Vertical head offset in pixels: a slow idle bob plus a small nod with loudness. */
export function headBob(task: Pick<HeadFrameTask, 'height' | 'fps' | 'frame' | 'open' | 'sway'>): number {
  const t = task.frame / task.fps;
  return task.height * (0.006 * task.sway * Math.sin(2 * Math.PI * 0.8 * t) + 0.01 * task.open);
}

/**
 * Stretches the band around the mouth vertically (the chin drops by up to MAX_OPENING of the height,
 * easing back to nothing at the bottom edge), darkens the opening, and moves the whole head by headBob.
 * Returns raw RGB bytes.
 */
export function renderHeadFrame(task: HeadFrameTask): Uint8Array {
  const { width, height, source } = task;
  if (source.length !== width * height * 3) throw new Error(`source must be ${width}x${height} RGB (${width * height * 3} bytes), got ${source.length}`);
  const open = Math.min(1.5, Math.max(0, task.open));
  const mouth = mouthRegion(width, height);
  const drop = height * MAX_OPENING * open;
  const bob = headBob({ ...task, open });
  const out = new Uint8Array(width * height * 3);
  const maxY = height - 1;
  // The horizontal weight of the stretch: full at the mouth's centre, none past 1.5 half-widths.
  const weights = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const u = (x - mouth.x) / (mouth.halfWidth * 1.5);
    weights[x] = u * u < 1 ? (1 - u * u) ** 2 : 0;
  }
  const cavityY = mouth.y + drop / 2;
  const cavityRy = Math.max(0.5, drop / 2);
  const cavityRx = mouth.halfWidth * 0.7;
  const darkness = Math.min(1, open * 2) * 0.85;

  for (let y = 0; y < height; y++) {
    const headY = y - bob;
    const band = smoothstep(mouth.y - mouth.halfHeight, mouth.y + mouth.halfHeight, headY) * (1 - smoothstep(mouth.y + 4 * mouth.halfHeight, height, headY));
    for (let x = 0; x < width; x++) {
      const sy = Math.min(maxY, Math.max(0, headY - drop * weights[x]! * band));
      const y0 = Math.floor(sy);
      const y1 = Math.min(maxY, y0 + 1);
      const fy = sy - y0;
      const a = (y0 * width + x) * 3;
      const b = (y1 * width + x) * 3;
      const o = (y * width + x) * 3;
      let r = source[a]! + (source[b]! - source[a]!) * fy;
      let g = source[a + 1]! + (source[b + 1]! - source[a + 1]!) * fy;
      let bl = source[a + 2]! + (source[b + 2]! - source[a + 2]!) * fy;
      if (darkness > 0) {
        const ex = (x - mouth.x) / cavityRx;
        const ey = (headY - cavityY) / cavityRy;
        const e = ex * ex + ey * ey;
        if (e < 1) {
          const k = (1 - e) * darkness;
          r += (70 - r) * k;
          g += (25 - g) * k;
          bl += (30 - bl) * k;
        }
      }
      out[o] = Math.round(r);
      out[o + 1] = Math.round(g);
      out[o + 2] = Math.round(bl);
    }
  }
  return out;
}

/**
 * Loudness per video frame from mono 16-bit PCM: the RMS of the frame's samples relative to the
 * loudest frame (0–1), eased with `smoothing` (0 = none, towards 1 = heavy). Silence stays 0.
 */
export function loudnessEnvelope(pcm: Int16Array, sampleRate: number, fps: number, frames: number, smoothing = 0): Float32Array {
  const rms = new Float64Array(frames);
  for (let k = 0; k < frames; k++) {
    const from = Math.floor((k * sampleRate) / fps);
    const to = Math.min(pcm.length, Math.floor(((k + 1) * sampleRate) / fps));
    let sum = 0;
    for (let i = from; i < to; i++) sum += pcm[i]! * pcm[i]!;
    rms[k] = to > from ? Math.sqrt(sum / (to - from)) : 0;
  }
  const peak = rms.reduce((max, v) => Math.max(max, v), 0);
  const out = new Float32Array(frames);
  // Below about -50 dBFS everything counts as silence: no mouth movement from hiss.
  if (peak < 100) return out;
  const s = Math.min(0.95, Math.max(0, smoothing));
  let previous = 0;
  for (let k = 0; k < frames; k++) {
    const level = Math.min(1, rms[k]! / peak) ** 0.7;
    previous = k === 0 ? level : s * previous + (1 - s) * level;
    out[k] = previous;
  }
  return out;
}

/** Piscina's entry point: runs in a worker thread, so the worker's event loop stays free. */
export default function renderHeadFrameTask(task: HeadFrameTask): Uint8Array {
  return renderHeadFrame(task);
}
