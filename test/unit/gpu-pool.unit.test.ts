import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/services/errors.ts';
import { writeTinyStableDiffusion } from '../../workers/engines/onnx/tiny-packs.ts';
import { InferenceHost } from '../../workers/engines/onnx/inference.host.ts';
import { SessionCache } from '../../workers/engines/onnx/session.cache.ts';
import { GpuPool } from '../../workers/gpu.pool.ts';

const GB = 1024 ** 3;
const settled = async <T>(promise: Promise<T>) => {
  let done = false;
  void promise.then(() => (done = true), () => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

describe('GPU pool admission', () => {
  it('fails at once with RESOURCE_ERROR when no GPU could ever hold the job', async () => {
    const pool = new GpuPool([
      { id: 'cuda:0', memoryBytes: 6 * GB, maxConcurrent: 2 },
      { id: 'cuda:1', memoryBytes: 4 * GB, maxConcurrent: 2 },
    ]);
    const error = await pool.acquire('j', 8 * GB).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'RESOURCE_ERROR', message: 'insufficient VRAM: needs 8 GB, largest GPU has 6 GB' });
  });

  it('refuses at once a job whose signal is already aborted, even when a device is free', async () => {
    const pool = new GpuPool([{ id: 'cuda:0', memoryBytes: 8 * GB, maxConcurrent: 2 }]);
    const reason = new Error('cancelled before admission');
    const error = await pool.acquire('gone', GB, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(pool.allocations()).toEqual([]);
  });

  it('waits for room in the VRAM budget and for a free slot, then admits in order', async () => {
    const pool = new GpuPool([{ id: 'cuda:0', memoryBytes: 8 * GB, maxConcurrent: 2 }]);
    const first = await pool.acquire('a', 5 * GB);
    const second = pool.acquire('b', 5 * GB);
    expect(await settled(second)).toBe(false);
    expect(pool.allocations()).toEqual([{ jobId: 'a', device: 'cuda:0', vramBytes: 5 * GB }]);
    const small = await pool.acquire('c', 2 * GB);
    // Both slots are taken now, so even a tiny job waits.
    const tiny = pool.acquire('d', 1);
    expect(await settled(tiny)).toBe(false);
    first.release();
    expect((await second).device.id).toBe('cuda:0');
    expect(await settled(tiny)).toBe(false);
    small.release();
    await tiny;
    expect(pool.allocations().map((a) => a.jobId)).toEqual(['b', 'd']);
  });

  it('honours a device preference when that device has room, and drops a waiter whose job is aborted', async () => {
    const pool = new GpuPool([
      { id: 'cuda:0', memoryBytes: 8 * GB, maxConcurrent: 1 },
      { id: 'cuda:1', memoryBytes: 8 * GB, maxConcurrent: 1 },
    ]);
    const lease = await pool.acquire('a', GB, { preference: 'cuda:1' });
    expect(lease.device.id).toBe('cuda:1');
    const other = await pool.acquire('b', GB, { preference: 'cuda:1' });
    expect(other.device.id).toBe('cuda:0');
    const controller = new AbortController();
    const waiting = pool.acquire('c', GB, { signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    lease.release();
    expect((await pool.acquire('d', GB)).device.id).toBe('cuda:1');
  });
});

describe('model session cache', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atelier-cache-'));
  const file = (c: string) => path.join(dir, c, 'model.onnx');
  const size = (c: string) => statSync(file(c)).size;

  beforeAll(() => writeTinyStableDiffusion(dir));

  function cache(maxBytes: number) {
    return new SessionCache({ maxBytes, load: async (key) => ({ session: await ort.InferenceSession.create(key), bytes: statSync(key).size }) });
  }

  it('evicts the least recently used idle session past MODEL_CACHE_MAX_GB, and records load times', async () => {
    // Room for text_encoder (the largest) with unet and vae_encoder, so loading it evicts exactly one.
    const c = cache(size('text_encoder') + size('unet') + size('vae_encoder'));
    for (const name of ['unet', 'vae_decoder', 'vae_encoder']) (await c.acquire(file(name))).release();
    (await c.acquire(file('unet'))).release();
    expect(c.evictions).toEqual([]);
    const text = await c.acquire(file('text_encoder'));
    text.release();
    expect(c.evictions).toEqual([file('vae_decoder')]);
    expect(c.keys().sort()).toEqual([file('text_encoder'), file('unet'), file('vae_encoder')].sort());
    const again = await c.acquire(file('unet'));
    expect(again.cached).toBe(true);
    again.release();
    expect(c.loads.map((l) => l.key)).toEqual([file('unet'), file('vae_decoder'), file('vae_encoder'), file('text_encoder')]);
    expect(c.loads.every((l) => l.ms >= 0)).toBe(true);
    await c.close();
  });

  it('never evicts a session in use, and shrinks once it is released', async () => {
    const c = cache(1);
    const held = await c.acquire(file('unet'));
    const other = await c.acquire(file('vae_decoder'));
    expect(c.keys()).toEqual([file('unet'), file('vae_decoder')]);
    held.release();
    await new Promise((r) => setImmediate(r));
    expect(c.keys()).toEqual([file('vae_decoder')]);
    other.release();
    await new Promise((r) => setImmediate(r));
    expect(c.keys()).toEqual([]);
  });
});

describe('inference thread', () => {
  it('fails calls, instead of leaving them pending for ever, once its thread has stopped', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'atelier-host-'));
    await writeTinyStableDiffusion(dir);
    const host = new InferenceHost();
    const session = await host.load(path.join(dir, 'vae_decoder', 'model.onnx'), {});
    await host.close();
    const outcome = await Promise.race([
      session.run({ latent_sample: new ort.Tensor('float32', new Float32Array(4 * 8 * 8), [1, 4, 8, 8]) }).then(
        () => 'answered',
        (error: Error) => error.message,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still pending'), 2_000)),
    ]);
    expect(outcome).toMatch(/inference thread exited/);
    expect(host.alive).toBe(false);
  });
});
