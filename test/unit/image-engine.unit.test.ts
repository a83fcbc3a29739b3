import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Asset } from '../../src/db/entities/asset.entity.ts';
import type { Job } from '../../src/db/entities/job.entity.ts';
import { GENERATION_JOB_NAMES } from '../../src/queue/queue.names.ts';
import type { ImageJobInput } from '../../src/services/generation.inputs.ts';
import type { NewAsset } from '../../src/services/job-lifecycle.service.ts';
import type { Engine, EngineRun } from '../../workers/engine.types.ts';
import { createBuiltinImageEngine } from '../../workers/engines/builtin/image.engine.ts';
import { render } from '../../workers/engines/builtin/image.render.ts';

interface FakeRun {
  run: EngineRun;
  saved: NewAsset[];
  progress: { fraction: number; message: string }[];
  notes: string[];
}

/** Our own EngineRun interface, implemented in memory: a job-like object and a recording saveAsset. */
function fakeRun(input: ImageJobInput, signal: AbortSignal = new AbortController().signal): FakeRun {
  const saved: NewAsset[] = [];
  const progress: { fraction: number; message: string }[] = [];
  const notes: string[] = [];
  const run: EngineRun = {
    job: { id: randomUUID(), input } as unknown as Job,
    em: undefined as unknown as EntityManager,
    log: pino({ level: 'silent' }),
    signal,
    progress: (fraction, message) => {
      progress.push({ fraction, message });
    },
    note: (message) => {
      notes.push(message);
    },
    readAsset: async (assetId) => {
      throw new Error(`the image engine should read no asset (asked for ${assetId})`);
    },
    saveAsset: async (asset) => {
      saved.push(asset);
      return { id: `asset-${saved.length}`, width: asset.width, height: asset.height } as unknown as Asset;
    },
  };
  return { run, saved, progress, notes };
}

const input = (overrides: Partial<ImageJobInput> = {}): ImageJobInput =>
  ({
    prompt: 'a quiet harbour',
    negativePrompt: null,
    width: 40,
    height: 24,
    steps: 5,
    guidance: 7.5,
    seed: 1234,
    numImages: 1,
    style: null,
    providerId: null,
    extraParams: null,
    characterId: null,
    projectId: null,
    ...overrides,
  }) as ImageJobInput;

describe('builtin image engine', () => {
  let engine: Engine;

  beforeAll(() => {
    engine = createBuiltinImageEngine({ threads: 1 });
  });

  afterAll(async () => {
    await engine?.close?.();
  });

  it('claims the image job name only', () => {
    expect(engine.name).toBe('builtin');
    expect(engine.jobNames).toEqual([GENERATION_JOB_NAMES.IMAGE]);
  });

  it('renders a PNG of the asked size whose pixels are the rendered image', async () => {
    const request = input();
    const fake = fakeRun(request);
    const output = await engine.run(fake.run);

    expect(fake.saved).toHaveLength(1);
    const asset = fake.saved[0]!;
    expect(asset).toMatchObject({ kind: 'IMAGE', mime: 'image/png', extension: 'png', width: 40, height: 24 });
    expect(asset.data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);

    const meta = await sharp(asset.data).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(40);
    expect(meta.height).toBe(24);
    expect(meta.channels).toBe(3);

    const { data, info } = await sharp(asset.data).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: 40, height: 24, channels: 3 });
    expect(data.equals(Buffer.from(render(request)))).toBe(true);

    expect(output.assets.map((a) => a.id)).toEqual(['asset-1']);
    expect(output.extra).toEqual({ seeds: [1234] });
  });

  it('reports one progress call per step, strictly increasing and ending at 1', async () => {
    const fake = fakeRun(input({ steps: 7 }));
    await engine.run(fake.run);
    const fractions = fake.progress.map((p) => p.fraction);
    expect(fractions).toHaveLength(7);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]!).toBeGreaterThan(fractions[i - 1]!);
    expect(fractions[0]!).toBeGreaterThan(0);
    expect(fractions.at(-1)).toBe(1);
    expect(fake.progress.at(-1)!.message).toBe('Image 1/1: step 7/7');
  });

  it('gives byte-identical PNGs for the same seed, and different ones for another seed', async () => {
    const first = fakeRun(input({ seed: 99 }));
    const second = fakeRun(input({ seed: 99 }));
    const other = fakeRun(input({ seed: 100 }));
    await engine.run(first.run);
    await engine.run(second.run);
    await engine.run(other.run);
    expect(first.saved[0]!.data.equals(second.saved[0]!.data)).toBe(true);
    expect(first.saved[0]!.data.equals(other.saved[0]!.data)).toBe(false);
  });

  it('renders numImages images with consecutive seeds, and progress spans all of them', async () => {
    const request = input({ numImages: 3, steps: 4, width: 16, height: 16, seed: 500 });
    const fake = fakeRun(request);
    const output = await engine.run(fake.run);

    expect(fake.saved).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const { data, info } = await sharp(fake.saved[i]!.data).raw().toBuffer({ resolveWithObject: true });
      expect(info).toMatchObject({ width: 16, height: 16, channels: 3 });
      expect(data.equals(Buffer.from(render({ ...request, seed: 500 + i })))).toBe(true);
    }
    expect(output.extra).toEqual({ seeds: [500, 501, 502] });
    expect(output.assets).toHaveLength(3);

    const fractions = fake.progress.map((p) => p.fraction);
    expect(fractions).toHaveLength(12);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]!).toBeGreaterThan(fractions[i - 1]!);
    expect(fractions.at(-1)).toBe(1);
    expect(fractions[3]).toBeCloseTo(4 / 12, 10);
    expect(fake.progress[4]!.message).toBe('Image 2/3: step 1/4');
  });

  it('refuses to run a job that is already aborted, and saves nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const fake = fakeRun(input(), controller.signal);
    await expect(engine.run(fake.run)).rejects.toMatchObject({ name: 'AbortError' });
    expect(fake.saved).toHaveLength(0);
  });
});
