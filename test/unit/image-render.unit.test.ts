import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import renderTask, { prngFor, render, targetImage, type RenderTask } from '../../workers/engines/builtin/image.render.ts';

const base: RenderTask = {
  prompt: 'a lighthouse at dusk',
  negativePrompt: null,
  seed: 42,
  width: 24,
  height: 16,
  steps: 6,
  guidance: 7.5,
};

const equalBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Reads every message already queued on a port, synchronously. */
function drain(port: MessagePort): unknown[] {
  const messages: unknown[] = [];
  for (;;) {
    const received = receiveMessageOnPort(port);
    if (!received) return messages;
    messages.push(received.message);
  }
}

describe('builtin image render', () => {
  it('returns raw RGB bytes of length width * height * 3', () => {
    const rgb = render(base);
    expect(rgb).toBeInstanceOf(Uint8Array);
    expect(rgb.length).toBe(24 * 16 * 3);
    expect(render({ ...base, width: 8, height: 40 }).length).toBe(8 * 40 * 3);
  });

  it('is deterministic for the same prompt, negative prompt, seed, guidance and size', () => {
    const a = render(base);
    const b = render({ ...base });
    expect(equalBytes(a, b)).toBe(true);
    const withNegative = { ...base, negativePrompt: 'fog' };
    expect(equalBytes(render(withNegative), render({ ...withNegative }))).toBe(true);
  });

  it('is not a flat image', () => {
    const rgb = render(base);
    expect(new Set(rgb).size).toBeGreaterThan(10);
  });

  it.each([
    ['seed', { seed: 43 }],
    ['prompt', { prompt: 'a lighthouse at dawn' }],
    ['negative prompt', { negativePrompt: 'fog' }],
    ['guidance', { guidance: 20 }],
  ])('differs for another %s', (_name, change) => {
    expect(equalBytes(render(base), render({ ...base, ...change }))).toBe(false);
  });

  it('treats a null and an empty negative prompt alike (both mean "none")', () => {
    expect(equalBytes(render({ ...base, negativePrompt: null }), render({ ...base, negativePrompt: '' }))).toBe(true);
  });

  it('ends exactly at the target image, rounded', () => {
    for (const task of [base, { ...base, steps: 1 }, { ...base, steps: 37, seed: 7, guidance: 0 }]) {
      const rgb = render(task);
      const expected = Uint8Array.from(targetImage(task), (v) => Math.round(v));
      expect(equalBytes(rgb, expected)).toBe(true);
    }
  });

  it('does not depend on the number of steps for its final image', () => {
    expect(equalBytes(render({ ...base, steps: 1 }), render({ ...base, steps: 50 }))).toBe(true);
  });

  it('keeps target values within 0..255', () => {
    const target = targetImage({ ...base, guidance: 30 });
    let min = Infinity;
    let max = -Infinity;
    for (const v of target) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(255);
  });

  it('posts exactly `steps` step messages, in order 1..steps', () => {
    const { port1, port2 } = new MessageChannel();
    try {
      render({ ...base, steps: 9, port: port2 });
      expect(drain(port1)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      port1.close();
      port2.close();
    }
  });

  it('delivers the step messages to a listener too', async () => {
    const { port1, port2 } = new MessageChannel();
    const steps: number[] = [];
    const all = new Promise<void>((resolve) =>
      port1.on('message', (step: number) => {
        steps.push(step);
        if (step === 4) resolve();
      }),
    );
    render({ ...base, steps: 4, port: port2 });
    await all;
    // Anything extra would already be queued behind the last step.
    await new Promise((resolve) => setTimeout(resolve, 20));
    port1.close();
    expect(steps).toEqual([1, 2, 3, 4]);
  });

  it('the worker entry point renders the same bytes and closes its port', async () => {
    const { port1, port2 } = new MessageChannel();
    const closed = new Promise<void>((resolve) => port1.once('close', () => resolve()));
    const steps: number[] = [];
    port1.on('message', (step: number) => steps.push(step));
    const rgb = renderTask({ ...base, port: port2 });
    await closed;
    expect(equalBytes(rgb, render(base))).toBe(true);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('seeds its generator from prompt, negative prompt and seed only', () => {
    const sample = (task: Pick<RenderTask, 'prompt' | 'negativePrompt' | 'seed'>) => {
      const next = prngFor(task);
      return Array.from({ length: 5 }, () => next());
    };
    const a = sample(base);
    expect(sample(base)).toEqual(a);
    for (const v of a) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
    expect(sample({ ...base, seed: 1 })).not.toEqual(a);
    expect(sample({ ...base, prompt: 'other' })).not.toEqual(a);
  });
});
