import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Asset } from '../../src/db/entities/asset.entity.ts';
import type { Job } from '../../src/db/entities/job.entity.ts';
import { ffprobe } from '../../src/media/ffmpeg.tool.ts';
import { GENERATION_JOB_NAMES } from '../../src/queue/queue.names.ts';
import type { VideoJobInput } from '../../src/services/generation.inputs.ts';
import type { NewAsset } from '../../src/services/job-lifecycle.service.ts';
import type { Engine, EngineRun } from '../../workers/engine.types.ts';
import { targetImage } from '../../workers/engines/builtin/image.render.ts';
import { createBuiltinVideoEngine, createVideoFramePool, type FrameUpscaler, renderVideo } from '../../workers/engines/builtin/video.engine.ts';
import renderFrameTask, { kenBurns, renderFrame, type FrameTask } from '../../workers/engines/builtin/video.render.ts';

const base: FrameTask = {
  prompt: 'a lighthouse at dusk',
  negativePrompt: null,
  seed: 42,
  width: 32,
  height: 24,
  fps: 12,
  motionScale: 1,
  frame: 0,
};

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const meanAbsDiff = (a: Uint8Array, b: Uint8Array) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
};

/** A still with structure in both directions, so any zoom or pan changes pixels. */
function checkerboard(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      rgb[i] = (x * 8) % 256;
      rgb[i + 1] = (y * 10) % 256;
      rgb[i + 2] = ((x >> 2) + (y >> 2)) % 2 ? 230 : 20;
    }
  return rgb;
}

describe('builtin video frame render', () => {
  it('returns width × height × 3 RGB bytes, not a flat picture', () => {
    const rgb = renderFrame(base);
    expect(rgb).toBeInstanceOf(Uint8Array);
    expect(rgb.length).toBe(32 * 24 * 3);
    expect(new Set(rgb).size).toBeGreaterThan(10);
    expect(renderFrame({ ...base, width: 8, height: 40 }).length).toBe(8 * 40 * 3);
  });

  it('is deterministic per seed, prompt and frame, and the worker entry point renders the same bytes', () => {
    for (const frame of [0, 5, 30]) {
      const task = { ...base, frame };
      expect(same(renderFrame(task), renderFrame({ ...task }))).toBe(true);
      expect(same(renderFrameTask(task), renderFrame(task))).toBe(true);
    }
  });

  it.each([
    ['seed', { seed: 43 }],
    ['prompt (another scene)', { prompt: 'a forest at noon' }],
    ['negative prompt', { negativePrompt: 'fog' }],
  ])('differs for another %s', (_name, change) => {
    expect(same(renderFrame({ ...base, frame: 3 }), renderFrame({ ...base, frame: 3, ...change }))).toBe(false);
  });

  it('starts each scene at the image engine picture of its prompt (within rounding)', () => {
    const target = targetImage({ ...base, steps: 1, guidance: 7.5 });
    const frame = renderFrame(base);
    let worst = 0;
    for (let i = 0; i < frame.length; i++) worst = Math.max(worst, Math.abs(frame[i]! - target[i]!));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('moves over time, more with a larger motionScale, and not at all with motionScale 0', () => {
    const first = renderFrame(base);
    const later = renderFrame({ ...base, frame: 6 });
    expect(same(first, later)).toBe(false);
    const slow = meanAbsDiff(first, renderFrame({ ...base, frame: 1, motionScale: 0.5 }));
    const fast = meanAbsDiff(first, renderFrame({ ...base, frame: 1, motionScale: 2 }));
    expect(slow).toBeGreaterThan(0);
    expect(fast).toBeGreaterThan(slow);
    for (const frame of [1, 12, 100]) expect(same(renderFrame({ ...base, motionScale: 0, frame }), first)).toBe(true);
  });

  it('depends on time (frame / fps), not on the frame index alone', () => {
    expect(same(renderFrame({ ...base, frame: 6, fps: 12 }), renderFrame({ ...base, frame: 12, fps: 24 }))).toBe(true);
    expect(same(renderFrame({ ...base, frame: 6, fps: 12 }), renderFrame({ ...base, frame: 6, fps: 24 }))).toBe(false);
  });

  describe('with a still image', () => {
    const source = checkerboard(base.width, base.height);

    it('shows the still unchanged at the first frame and when motionScale is 0', () => {
      expect(same(renderFrame({ ...base, source }), source)).toBe(true);
      expect(same(renderFrame({ ...base, source, frame: 40, motionScale: 0 }), source)).toBe(true);
    });

    it('zooms in over time, further with more motion, capped at 3×', () => {
      const zoom = (frame: number, motionScale = 1) => kenBurns({ ...base, frame, motionScale }).zoom;
      expect(zoom(0)).toBe(1);
      expect(zoom(12)).toBeGreaterThan(zoom(6));
      expect(zoom(12, 2)).toBeGreaterThan(zoom(12, 1));
      expect(zoom(100_000, 10)).toBe(3);
      const view = kenBurns({ ...base, frame: 100_000, motionScale: 10 });
      // The view stays inside the picture: its half-size is 1 / (2 · zoom).
      for (const center of [view.centerX, view.centerY]) {
        expect(center - 1 / 6).toBeGreaterThanOrEqual(-1e-9);
        expect(center + 1 / 6).toBeLessThanOrEqual(1 + 1e-9);
      }
    });

    it('animates the still, deterministically, and differently from the procedural picture', () => {
      const moved = renderFrame({ ...base, source, frame: 24 });
      expect(same(moved, source)).toBe(false);
      expect(same(moved, renderFrame({ ...base, source, frame: 24 }))).toBe(true);
      expect(meanAbsDiff(moved, renderFrame({ ...base, frame: 24 }))).toBeGreaterThan(20);
    });

    it('rejects a source of the wrong size', () => {
      expect(() => renderFrame({ ...base, source: new Uint8Array(10) })).toThrow(/32x24 RGB/);
    });
  });
});

interface FakeRun {
  run: EngineRun;
  saved: NewAsset[];
  progress: { fraction: number; message: string }[];
  notes: string[];
  reads: string[];
}

function fakeRun(input: VideoJobInput, options: { signal?: AbortSignal; assets?: Record<string, Buffer>; onProgress?: (count: number) => void } = {}): FakeRun {
  const saved: NewAsset[] = [];
  const progress: { fraction: number; message: string }[] = [];
  const notes: string[] = [];
  const reads: string[] = [];
  const run: EngineRun = {
    job: { id: randomUUID(), input } as unknown as Job,
    em: undefined as unknown as EntityManager,
    log: pino({ level: 'silent' }),
    signal: options.signal ?? new AbortController().signal,
    progress: (fraction, message) => {
      progress.push({ fraction, message });
      options.onProgress?.(progress.length);
    },
    note: (message) => {
      notes.push(message);
    },
    readAsset: async (assetId) => {
      reads.push(assetId);
      const data = options.assets?.[assetId];
      if (!data) throw new Error(`no asset ${assetId}`);
      return { asset: { id: assetId, kind: 'IMAGE', mime: 'image/png' } as unknown as Asset, data };
    },
    saveAsset: async (asset) => {
      saved.push(asset);
      return { id: `asset-${saved.length}`, kind: asset.kind } as unknown as Asset;
    },
  };
  return { run, saved, progress, notes, reads };
}

const videoInput = (overrides: Partial<VideoJobInput> = {}): VideoJobInput => ({
  prompt: 'waves on a pier',
  negativePrompt: null,
  width: 48,
  height: 32,
  fps: 10,
  motionScale: 1,
  seed: 7,
  imageAssetId: null,
  scenes: [{ prompt: 'waves on a pier', frames: 6 }],
  upscale: false,
  characterId: null,
  projectId: null,
  ...overrides,
});

async function probe(data: Buffer) {
  const dir = mkdtempSync(path.join(tmpdir(), 'video-unit-probe-'));
  try {
    const file = path.join(dir, 'v.mp4');
    writeFileSync(file, data);
    return await ffprobe(file, ['-count_frames']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('builtin video engine', () => {
  let engine: Engine;
  const originalTmp = process.env.TMPDIR;
  let scratch: string;

  beforeAll(() => {
    engine = createBuiltinVideoEngine({ threads: 2 });
  });

  afterEach(() => {
    if (originalTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = originalTmp;
  });

  afterAll(async () => {
    await engine?.close?.();
  });

  /** Points the engine's temp files at a fresh directory of our own, so the test can see them cleaned. */
  function useScratchTmp(): string {
    scratch = mkdtempSync(path.join(tmpdir(), 'video-unit-tmp-'));
    process.env.TMPDIR = scratch;
    return scratch;
  }

  it('claims the video job name only', () => {
    expect(engine.name).toBe('builtin');
    expect(engine.jobNames).toEqual([GENERATION_JOB_NAMES.VIDEO]);
  });

  it('renders every scene, one progress call per frame across all scenes, into one H.264 MP4 plus a PNG poster', async () => {
    const dir = useScratchTmp();
    const input = videoInput({ scenes: [{ prompt: 'a red harbour', frames: 4 }, { prompt: 'a blue field', frames: 3 }] });
    const fake = fakeRun(input);
    const output = await engine.run(fake.run);

    expect(fake.progress.map((p) => p.fraction)).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => n / 7));
    expect(fake.progress[4]!.message).toBe('Frame 5/7 (scene 2/2)');
    expect(fake.notes.some((n) => n.startsWith('Scene 1/2: 4 frames'))).toBe(true);
    expect(fake.notes.some((n) => n.startsWith('Scene 2/2: 3 frames'))).toBe(true);

    expect(fake.saved).toHaveLength(2);
    const [video, poster] = fake.saved as [NewAsset, NewAsset];
    expect(video).toMatchObject({ kind: 'VIDEO', mime: 'video/mp4', extension: 'mp4', width: 48, height: 32 });
    expect(video.durationSeconds).toBeCloseTo(0.7, 10);
    const probed = await probe(video.data);
    const stream = probed.streams.find((s) => s.codec_type === 'video')!;
    expect(stream).toMatchObject({ codec_name: 'h264', width: 48, height: 32, r_frame_rate: '10/1' });
    expect(Number((stream as { nb_read_frames?: string }).nb_read_frames)).toBe(7);

    // The poster is the middle frame (index 3: the last of scene 1), exactly as rendered.
    expect(poster).toMatchObject({ kind: 'IMAGE', mime: 'image/png', extension: 'png', width: 48, height: 32 });
    const { data, info } = await sharp(poster.data).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: 48, height: 32, channels: 3 });
    const expected = renderFrame({ prompt: 'a red harbour', negativePrompt: null, seed: 7, width: 48, height: 32, fps: 10, motionScale: 1, frame: 3 });
    expect(same(data, expected)).toBe(true);

    expect(output.assets.map((a) => a.id)).toEqual(['asset-1', 'asset-2']);
    expect(output.extra).toMatchObject({ posterAssetId: 'asset-2', frames: 7, fps: 10, durationSeconds: 0.7, scenes: [4, 3] });
    expect(output.extra).not.toHaveProperty('upscale');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('gives the same poster for the same seed and another for another seed', async () => {
    const a = fakeRun(videoInput({ seed: 99 }));
    const b = fakeRun(videoInput({ seed: 99 }));
    const c = fakeRun(videoInput({ seed: 100 }));
    await engine.run(a.run);
    await engine.run(b.run);
    await engine.run(c.run);
    expect(a.saved[1]!.data.equals(b.saved[1]!.data)).toBe(true);
    expect(a.saved[1]!.data.equals(c.saved[1]!.data)).toBe(false);
  });

  it('animates the given image (resized to the frame) instead of the procedural picture', async () => {
    const still = await sharp(Buffer.from(checkerboard(96, 64)), { raw: { width: 96, height: 64, channels: 3 } }).png().toBuffer();
    const input = videoInput({ imageAssetId: 'still-1', scenes: [{ prompt: 'x', frames: 5 }] });
    const fake = fakeRun(input, { assets: { 'still-1': still } });
    await engine.run(fake.run);
    expect(fake.reads).toEqual(['still-1']);
    const source = await sharp(still).rotate().resize(48, 32, { fit: 'cover' }).flatten({ background: '#000000' }).toColourspace('srgb').raw().toBuffer();
    const { data } = await sharp(fake.saved[1]!.data).raw().toBuffer({ resolveWithObject: true });
    expect(same(data, renderFrame({ ...base, prompt: 'x', seed: 7, width: 48, height: 32, fps: 10, frame: 2, source }))).toBe(true);
    expect(same(data, renderFrame({ ...base, prompt: 'x', seed: 7, width: 48, height: 32, fps: 10, frame: 2 }))).toBe(false);
  });

  it('renders at the asked size when upscale is asked, and says so', async () => {
    const fake = fakeRun(videoInput({ upscale: true }));
    const output = await engine.run(fake.run);
    expect(output.extra).toMatchObject({ upscale: { applied: false, reason: expect.stringContaining('no upscale model') }, width: 48, height: 32 });
    expect(fake.saved[0]).toMatchObject({ width: 48, height: 32 });
    expect(fake.notes.some((n) => n.includes('Upscale requested'))).toBe(true);
  });

  it('upscales every frame through the given upscaler, and stops the ones in flight when one fails', async () => {
    const pool = createVideoFramePool(2);
    try {
      // Nearest-neighbour ×2, so the output is checkable; the third frame's upscale fails.
      let calls = 0;
      let finishedAfterFailure = 0;
      let failedAt = 0;
      const upscaler: FrameUpscaler = {
        model: 'test-x2',
        scale: 2,
        upscale: async (rgb, width, height, signal) => {
          const call = ++calls;
          if (call === 3) {
            failedAt = Date.now();
            throw new Error('frame 3 failed');
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
          signal.throwIfAborted();
          if (failedAt) finishedAfterFailure++;
          const out = new Uint8Array(width * height * 12);
          for (let y = 0; y < height * 2; y++)
            for (let x = 0; x < width * 2; x++) out.set(rgb.subarray(((y >> 1) * width + (x >> 1)) * 3, ((y >> 1) * width + (x >> 1)) * 3 + 3), (y * width * 2 + x) * 3);
          return out;
        },
      };
      const ok = fakeRun(videoInput({ upscale: true, scenes: [{ prompt: 'waves', frames: 2 }] }));
      calls = -10; // this run never reaches the failing call
      const output = await renderVideo(ok.run, pool, 2, upscaler);
      expect(output.extra).toMatchObject({ upscale: { applied: true, model: 'test-x2', scale: 2, renderedWidth: 24, renderedHeight: 16 }, width: 48, height: 32 });
      const { data } = await sharp(ok.saved[1]!.data).raw().toBuffer({ resolveWithObject: true });
      const small = renderFrame({ ...base, prompt: 'waves', seed: 7, width: 24, height: 16, fps: 10, frame: 1 });
      expect(data[(3 * 48 + 5) * 3]).toBe(small[(1 * 24 + 2) * 3]);

      calls = 0;
      const failing = fakeRun(videoInput({ upscale: true, scenes: [{ prompt: 'waves', frames: 12 }] }));
      await expect(renderVideo(failing.run, pool, 2, upscaler)).rejects.toThrow('frame 3 failed');
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Frames already being upscaled when frame 3 failed were stopped rather than finished.
      expect(finishedAfterFailure).toBe(0);
    } finally {
      await pool.destroy();
    }
  });

  it('stops soon after an abort, saves nothing, and removes its temp files', async () => {
    const dir = useScratchTmp();
    const controller = new AbortController();
    const reason = new Error('stop now');
    const fake = fakeRun(videoInput({ width: 64, height: 64, scenes: [{ prompt: 'long', frames: 400 }] }), {
      signal: controller.signal,
      onProgress: (count) => {
        if (count === 3) controller.abort(reason);
      },
    });
    await expect(engine.run(fake.run)).rejects.toBe(reason);
    expect(fake.progress.length).toBe(3);
    expect(fake.saved).toHaveLength(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses to run a job that is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const fake = fakeRun(videoInput(), { signal: controller.signal });
    await expect(engine.run(fake.run)).rejects.toMatchObject({ name: 'AbortError' });
    expect(fake.progress).toHaveLength(0);
    expect(fake.saved).toHaveLength(0);
  });
});
