import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/services/errors.ts';
import { chooseVideoUpscaler, generateImageInput, MAX_SEED } from '../../src/services/generation.inputs.ts';
import { parseInput } from '../../src/services/validation.ts';

const parse = (input: Record<string, unknown>) => parseInput(generateImageInput, input);

/** Runs `fn`, which must throw an AppError; returns it. Fails the test when nothing is thrown. */
function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an AppError, but nothing was thrown');
}

function refusedFields(input: Record<string, unknown>): string[] {
  const error = thrown(() => parse(input));
  expect(error.code).toBe('BAD_USER_INPUT');
  const fields = error.details?.fields as { field: string; message: string }[];
  expect(Array.isArray(fields)).toBe(true);
  for (const f of fields) expect(f.message.length).toBeGreaterThan(0);
  // One field may fail more than one rule (63 is both too small and not a multiple of 8).
  return [...new Set(fields.map((f) => f.field))];
}

describe('generateImageInput via parseInput', () => {
  const DEFAULTS = { width: 512, height: 512, steps: 30, guidance: 7.5, numImages: 1, priority: 5 };

  it('applies every default to a prompt-only request', () => {
    const parsed = parse({ prompt: 'a red fox' });
    expect(parsed).toMatchObject({ prompt: 'a red fox', ...DEFAULTS });
    // No seed is invented here (the job service fixes one), and an absent negative prompt stays absent.
    expect(parsed.seed ?? null).toBeNull();
    expect(parsed.negativePrompt ?? null).toBeNull();
  });

  it('treats null like an absent field, so defaults still apply', () => {
    const parsed = parse({
      prompt: 'a red fox',
      negativePrompt: null,
      width: null,
      height: null,
      steps: null,
      guidance: null,
      seed: null,
      numImages: null,
      priority: null,
    });
    expect(parsed).toMatchObject({ prompt: 'a red fox', ...DEFAULTS });
    expect(parsed).not.toHaveProperty('seed');
    expect(parsed).not.toHaveProperty('negativePrompt');
  });

  it('keeps explicit values', () => {
    expect(
      parse({ prompt: 'p', negativePrompt: 'blurry', width: 64, height: 2048, steps: 150, guidance: 0, seed: 0, numImages: 4, priority: 10 }),
    ).toMatchObject({ prompt: 'p', negativePrompt: 'blurry', width: 64, height: 2048, steps: 150, guidance: 0, seed: 0, numImages: 4, priority: 10 });
  });

  describe('prompt', () => {
    it('is required', () => {
      expect(refusedFields({})).toEqual(['prompt']);
    });

    it('refuses empty and whitespace-only prompts', () => {
      expect(refusedFields({ prompt: '' })).toEqual(['prompt']);
      expect(refusedFields({ prompt: '   \n\t ' })).toEqual(['prompt']);
    });

    it('accepts 1 and 4000 characters, refuses 4001', () => {
      expect(parse({ prompt: 'x' }).prompt).toBe('x');
      expect(parse({ prompt: 'x'.repeat(4000) }).prompt).toHaveLength(4000);
      expect(refusedFields({ prompt: 'x'.repeat(4001) })).toEqual(['prompt']);
    });

    it('is trimmed', () => {
      expect(parse({ prompt: '  a lighthouse  ' }).prompt).toBe('a lighthouse');
    });

    it('refuses a non-string', () => {
      expect(refusedFields({ prompt: 42 })).toEqual(['prompt']);
    });
  });

  describe.each(['width', 'height'] as const)('%s', (field) => {
    it.each([64, 72, 512, 2048])('accepts %i', (value) => {
      expect(parse({ prompt: 'p', [field]: value })[field]).toBe(value);
    });

    it.each([
      [63, 'below the minimum'],
      [56, 'a multiple of 8 below the minimum'],
      [2056, 'a multiple of 8 above the maximum'],
      [2049, 'above the maximum'],
      [100, 'not a multiple of 8'],
      [64.5, 'not an integer'],
      [0, 'zero'],
      [-64, 'negative'],
    ])('refuses %s (%s)', (value) => {
      expect(refusedFields({ prompt: 'p', [field]: value })).toEqual([field]);
    });
  });

  describe('steps', () => {
    it.each([1, 150])('accepts %i', (steps) => expect(parse({ prompt: 'p', steps }).steps).toBe(steps));
    it.each([0, 151, 2.5, -1])('refuses %s', (steps) => expect(refusedFields({ prompt: 'p', steps })).toEqual(['steps']));
  });

  describe('guidance', () => {
    it.each([0, 0.5, 7.5, 30])('accepts %s', (guidance) => expect(parse({ prompt: 'p', guidance }).guidance).toBe(guidance));
    it.each([-0.1, 30.01, 31])('refuses %s', (guidance) => expect(refusedFields({ prompt: 'p', guidance })).toEqual(['guidance']));
  });

  describe('seed', () => {
    it.each([0, 1, 123456, MAX_SEED])('accepts %i', (seed) => expect(parse({ prompt: 'p', seed }).seed).toBe(seed));
    it.each([-1, 1.5, MAX_SEED + 1])('refuses %s', (seed) => expect(refusedFields({ prompt: 'p', seed })).toEqual(['seed']));
  });

  describe('numImages', () => {
    it.each([1, 4])('accepts %i', (numImages) => expect(parse({ prompt: 'p', numImages }).numImages).toBe(numImages));
    it.each([0, 5, 1.5])('refuses %s', (numImages) => expect(refusedFields({ prompt: 'p', numImages })).toEqual(['numImages']));
  });

  describe('priority', () => {
    it.each([1, 10])('accepts %i', (priority) => expect(parse({ prompt: 'p', priority }).priority).toBe(priority));
    it.each([0, 11, 2.5])('refuses %s', (priority) => expect(refusedFields({ prompt: 'p', priority })).toEqual(['priority']));
  });

  it('names every invalid field in one error, and in its message', () => {
    const error = thrown(() => parse({ prompt: '', width: 63, steps: 0, priority: 11 }));
    expect(error.code).toBe('BAD_USER_INPUT');
    const fields = [...new Set((error.details!.fields as { field: string }[]).map((f) => f.field))];
    expect([...fields].sort()).toEqual(['priority', 'prompt', 'steps', 'width']);
    for (const field of fields) expect(error.message).toContain(field);
  });

  it('names the whole input when it is not an object', () => {
    const error = thrown(() => parse('not an object' as unknown as Record<string, unknown>));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect((error.details!.fields as { field: string }[]).map((f) => f.field)).toEqual(['(input)']);
  });
});

describe('chooseVideoUpscaler', () => {
  const x2 = { name: 'esrgan-x2', details: { scale: 2 } };
  const x4 = { name: 'esrgan-x4', details: { scale: 4 } };
  const speech = { name: 'voice', details: {} };

  it('prefers ×2, whatever the order of the packs', () => {
    expect(chooseVideoUpscaler([x4, speech, x2], 1280, 768)).toBe(x2);
  });

  it('takes ×4 only when both sides divide by 4', () => {
    expect(chooseVideoUpscaler([x4], 1280, 768)).toBe(x4);
    expect(chooseVideoUpscaler([x4], 1282, 768)).toBeUndefined();
    expect(chooseVideoUpscaler([speech], 1280, 768)).toBeUndefined();
  });
});
