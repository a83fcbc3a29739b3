import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Asset } from '../../src/db/entities/asset.entity.ts';
import type { Job } from '../../src/db/entities/job.entity.ts';
import { ffmpeg, ffprobe } from '../../src/media/ffmpeg.tool.ts';
import { GENERATION_JOB_NAMES } from '../../src/queue/queue.names.ts';
import type { TalkingHeadJobInput } from '../../src/services/generation.inputs.ts';
import type { NewAsset } from '../../src/services/job-lifecycle.service.ts';
import type { Engine, EngineRun } from '../../workers/engine.types.ts';
import { createBuiltinTalkingHeadEngine } from '../../workers/engines/builtin/talking-head.engine.ts';
import { headBob, loudnessEnvelope, mouthRegion, renderHeadFrame, type HeadFrameTask } from '../../workers/engines/builtin/talking-head.render.ts';

const W = 40;
const H = 60;

/** A flat face colour with a dark lip line across the assumed mouth position. */
function portrait(): Uint8Array {
  const rgb = new Uint8Array(W * H * 3);
  const mouth = mouthRegion(W, H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const lip = Math.abs(y - mouth.y) < 1.5 && Math.abs(x - mouth.x) < mouth.halfWidth;
      rgb.set(lip ? [150, 40, 40] : [230, 190, 160], i);
    }
  return rgb;
}

const task = (overrides: Partial<HeadFrameTask> = {}): HeadFrameTask => ({ width: W, height: H, fps: 25, frame: 0, open: 0, sway: 0, source: portrait(), ...overrides });

/** Mean brightness of rows [y0, y1). */
function rowsMean(rgb: Uint8Array, y0: number, y1: number): number {
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) sum += rgb[(y * W + x) * 3 + c]!;
  return sum / ((y1 - y0) * W * 3);
}

describe('talking-head frame render', () => {
  it('returns the portrait unchanged with the mouth closed and no sway', () => {
    const t = task();
    expect(Buffer.from(renderHeadFrame(t)).equals(Buffer.from(t.source))).toBe(true);
    expect(Buffer.from(renderHeadFrame({ ...t, frame: 17 })).equals(Buffer.from(t.source))).toBe(true);
  });

  it('opens the mouth with loudness: the mouth region darkens and changes, the forehead does not', () => {
    const closed = renderHeadFrame(task());
    const open = renderHeadFrame(task({ open: 1 }));
    const mouth = mouthRegion(W, H);
    const from = Math.floor(mouth.y);
    const to = Math.ceil(mouth.y + H * 0.07);
    expect(rowsMean(open, from, to)).toBeLessThan(rowsMean(closed, from, to) - 10);
    // The flat forehead only shifts with the head: same pixels.
    expect(rowsMean(open, 0, 10)).toBe(rowsMean(closed, 0, 10));
    // Wider open, more of the dark opening shows.
    const wider = renderHeadFrame(task({ open: 1.5 }));
    const half = renderHeadFrame(task({ open: 0.5 }));
    expect(rowsMean(wider, 0, H)).toBeLessThan(rowsMean(open, 0, H));
    expect(rowsMean(open, 0, H)).toBeLessThan(rowsMean(half, 0, H));
    expect(rowsMean(half, 0, H)).toBeLessThan(rowsMean(closed, 0, H));
  });

  it('bobs the head: more with loudness and with sway, not at all with neither', () => {
    expect(headBob({ height: H, fps: 25, frame: 5, open: 0, sway: 0 })).toBe(0);
    expect(headBob({ height: H, fps: 25, frame: 0, open: 1, sway: 0 })).toBeGreaterThan(0);
    expect(Math.abs(headBob({ height: H, fps: 25, frame: 8, open: 0, sway: 1 }))).toBeGreaterThan(0);
    expect(Math.abs(headBob({ height: H, fps: 25, frame: 8, open: 0, sway: 2 }))).toBeCloseTo(2 * Math.abs(headBob({ height: H, fps: 25, frame: 8, open: 0, sway: 1 })), 10);
  });

  it('rejects a portrait of the wrong size', () => {
    expect(() => renderHeadFrame(task({ source: new Uint8Array(5) }))).toThrow(/40x60 RGB/);
  });
});

describe('loudness envelope', () => {
  const rate = 1000;
  /** 1 s at 1 kHz: silent first half, a loud 100 Hz tone in the second. */
  const pcm = Int16Array.from({ length: rate }, (_, i) => (i < rate / 2 ? 0 : Math.round(20_000 * Math.sin((2 * Math.PI * 100 * i) / rate))));

  it('gives one level per video frame in 0–1: zero in silence, 1 at the loudest frame', () => {
    const env = loudnessEnvelope(pcm, rate, 10, 10);
    expect(env).toHaveLength(10);
    expect(Array.from(env.slice(0, 5))).toEqual([0, 0, 0, 0, 0]);
    for (const v of env.slice(5)) expect(v).toBeCloseTo(1, 3);
  });

  it('follows the amplitude', () => {
    const ramp = Int16Array.from({ length: rate }, (_, i) => Math.round((i / rate) * 20_000 * Math.sin((2 * Math.PI * 100 * i) / rate)));
    const env = Array.from(loudnessEnvelope(ramp, rate, 10, 10));
    for (let k = 1; k < env.length; k++) expect(env[k]!).toBeGreaterThan(env[k - 1]!);
  });

  it('smooths jumps when asked', () => {
    const sharpEdge = loudnessEnvelope(pcm, rate, 10, 10, 0);
    const smooth = loudnessEnvelope(pcm, rate, 10, 10, 0.5);
    expect(smooth[5]!).toBeLessThan(sharpEdge[5]! - 0.3);
    expect(smooth[9]!).toBeGreaterThan(0.9);
  });

  it('treats near-silence (hiss) as silence', () => {
    const hiss = Int16Array.from({ length: rate }, (_, i) => (i % 2 ? 30 : -30));
    expect(Array.from(loudnessEnvelope(hiss, rate, 10, 10)).every((v) => v === 0)).toBe(true);
  });
});

describe('builtin talking-head engine', () => {
  let engine: Engine;
  let dir: string;
  const originalTmp = process.env.TMPDIR;
  let png: Buffer;
  let wav: Buffer;

  beforeAll(async () => {
    engine = createBuiltinTalkingHeadEngine({ threads: 2 });
    dir = mkdtempSync(path.join(tmpdir(), 'talking-head-unit-'));
    png = await sharp(Buffer.from(portrait()), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
    // 0.5 s of a 300 Hz tone at 8 kHz, loud in its second half.
    await ffmpeg(['-y', '-f', 'lavfi', '-i', 'aevalsrc=0.7*sin(2*PI*300*t)*gte(t\\,0.25):s=8000:d=0.5', path.join(dir, 'a.wav')]);
    wav = readFileSync(path.join(dir, 'a.wav'));
  });

  afterEach(() => {
    if (originalTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = originalTmp;
  });

  afterAll(async () => {
    await engine?.close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  function fakeRun(input: TalkingHeadJobInput, signal = new AbortController().signal) {
    const saved: NewAsset[] = [];
    const fractions: number[] = [];
    const assets: Record<string, { kind: string; data: Buffer; key: string }> = {
      face: { kind: 'IMAGE', data: png, key: 'u/face.png' },
      voice: { kind: 'AUDIO', data: wav, key: 'u/voice.wav' },
    };
    const run: EngineRun = {
      job: { id: randomUUID(), input } as unknown as Job,
      em: undefined as unknown as EntityManager,
      log: pino({ level: 'silent' }),
      signal,
      progress: (fraction) => {
        fractions.push(fraction);
      },
      note: () => undefined,
      readAsset: async (assetId) => {
        const a = assets[assetId];
        if (!a) throw new Error(`no asset ${assetId}`);
        return { asset: { id: assetId, kind: a.kind, storageKey: a.key, mime: 'x' } as unknown as Asset, data: a.data };
      },
      saveAsset: async (asset) => {
        saved.push(asset);
        return { id: `asset-${saved.length}` } as unknown as Asset;
      },
    };
    return { run, saved, fractions };
  }

  const input = (overrides: Partial<TalkingHeadJobInput> = {}): TalkingHeadJobInput => ({
    imageAssetId: 'face',
    audioAssetId: 'voice',
    useCache: true,
    fps: 20,
    guidanceScale: 3.5,
    inferenceSteps: 40,
    ...overrides,
  });

  it('claims the talking-head job name only', () => {
    expect(engine.jobNames).toEqual([GENERATION_JOB_NAMES.TALKING_HEAD]);
  });

  it('makes an MP4 with video and AAC audio, one frame per 1/fps of audio, and removes its temp files', async () => {
    const scratch = mkdtempSync(path.join(dir, 'tmp-'));
    process.env.TMPDIR = scratch;
    const fake = fakeRun(input());
    const output = await engine.run(fake.run);
    expect(fake.fractions).toHaveLength(10);
    expect(fake.fractions.at(-1)).toBe(1);
    const [video, poster] = fake.saved as [NewAsset, NewAsset];
    expect(video).toMatchObject({ kind: 'VIDEO', mime: 'video/mp4', width: W, height: H, durationSeconds: 0.5 });
    expect(poster).toMatchObject({ kind: 'IMAGE', mime: 'image/png', width: W, height: H });
    writeFileSync(path.join(dir, 'out.mp4'), video.data);
    const probed = await ffprobe(path.join(dir, 'out.mp4'));
    expect(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual(['audio:aac', 'video:h264']);
    expect(Math.abs(Number(probed.format.duration) - 0.5)).toBeLessThanOrEqual(1 / 20);
    expect(output.extra).toMatchObject({ frames: 10, fps: 20, audioDurationSeconds: 0.5, guidanceScale: 3.5, inferenceSteps: 40, posterAssetId: 'asset-2' });
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('keeps the mouth still with guidanceScale 0', async () => {
    const still = fakeRun(input({ guidanceScale: 0 }));
    await engine.run(still.run);
    const { data } = await sharp(still.saved[1]!.data).raw().toBuffer({ resolveWithObject: true });
    expect(Buffer.from(data).equals(Buffer.from(portrait()))).toBe(true);
    const moving = fakeRun(input());
    await engine.run(moving.run);
    const { data: loud } = await sharp(moving.saved[1]!.data).raw().toBuffer({ resolveWithObject: true });
    expect(Buffer.from(loud).equals(Buffer.from(portrait()))).toBe(false);
  });

  it('stops when aborted and saves nothing', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    const fake = fakeRun(input(), controller.signal);
    await expect(engine.run(fake.run)).rejects.toThrow('cancelled');
    expect(fake.saved).toHaveLength(0);
  });

  it('refuses an image given as the audio', async () => {
    const fake = fakeRun(input({ audioAssetId: 'face' }));
    await expect(engine.run(fake.run)).rejects.toThrow(/not audio/);
  });
});
