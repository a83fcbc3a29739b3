import { badInput } from './errors.ts';

/** Deeper than this, a JSON value is an attack on the parser or the database, not a request. */
export const MAX_INPUT_DEPTH = 32;

export interface UnsafeInput {
  field: string;
  message: string;
}

const describeField = (path: (string | number)[]) =>
  path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${key}` : key), '') || '(input)';

/**
 * The first value PostgreSQL cannot store or Atelier will not walk: a NUL character in a string or key, or
 * nesting deeper than MAX_INPUT_DEPTH. Walked without recursion, so a 5,000-deep value costs no stack.
 */
export function findUnsafeInput(value: unknown, root: (string | number)[] = []): UnsafeInput | null {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: root }];
  while (stack.length) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return { field: describeField(path), message: 'must not contain NUL (\\u0000) characters' };
      continue;
    }
    if (!current || typeof current !== 'object') continue;
    if (path.length - root.length >= MAX_INPUT_DEPTH) return { field: describeField(path), message: `is nested deeper than ${MAX_INPUT_DEPTH} levels` };
    if (Array.isArray(current)) {
      current.forEach((item, index) => stack.push({ value: item, path: [...path, index] }));
      continue;
    }
    // Uploaded files, buffers and streams are not JSON: their contents are checked where they are read.
    // (Other objects are walked: Fastify's path params, for one, are a dictionary with a prototype of its own.)
    if (ArrayBuffer.isView(current) || current instanceof Blob || current instanceof Date || typeof (current as { pipe?: unknown }).pipe === 'function') continue;
    for (const [key, item] of Object.entries(current)) {
      if (key.includes('\u0000')) return { field: describeField(path), message: 'keys must not contain NUL (\\u0000) characters' };
      stack.push({ value: item, path: [...path, key] });
    }
  }
  return null;
}

/** Throws BAD_USER_INPUT naming the field when `value` holds something unsafe (see findUnsafeInput). */
export function assertSafeInput(value: unknown, root: (string | number)[] = []): void {
  const unsafe = findUnsafeInput(value, root);
  if (unsafe) throw badInput(`Invalid input: ${unsafe.field}: ${unsafe.message}`, { fields: [unsafe] });
}

/** Largest free-form JSON value (extraParams, metadata, workflows) accepted, serialized. */
export const MAX_JSON_BYTES = 256 * 1024;

/** Throws BAD_USER_INPUT when a free-form JSON value is larger than `maxBytes` serialized. */
export function assertJsonSize(value: unknown, field: string, maxBytes = MAX_JSON_BYTES): void {
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
  if (bytes > maxBytes) throw badInput(`Invalid input: ${field}: is ${bytes} bytes of JSON, more than the ${maxBytes} allowed`, { fields: [{ field, message: `at most ${maxBytes} bytes` }] });
}

/**
 * PostgreSQL's data exceptions (class 22: malformed or out-of-range values, bad encodings) and stack depth: a
 * value the client sent that slipped past validation. Never a server fault.
 */
export function isRefusedValue(error: unknown): boolean {
  for (let link = error as { code?: unknown; cause?: unknown; previous?: unknown } | undefined, i = 0; link && i < 8; i++) {
    if (typeof link.code === 'string' && (/^22[0-9A-Z]{3}$/.test(link.code) || link.code === '54001')) return true;
    link = (link.cause ?? link.previous) as typeof link;
  }
  return false;
}
