import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { type MultipartOptions, parseMultipartOperation, removeUploadTemps } from '../../server/graphql-uploads.ts';

const BOUNDARY = 'atelier-unit';
const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** A spec multipart body: operations, map, then one file part holding `file`. */
function body(file: Buffer, map: Record<string, string[]> = { 0: ['variables.file'] }): Buffer[] {
  const field = (name: string, value: string) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head = Buffer.from(
    field('operations', JSON.stringify({ query: 'mutation ($file: File!) { up(file: $file) }', variables: { file: null } })) +
      field('map', JSON.stringify(map)) +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  return [head, file, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)];
}

/** Delivers the chunks one event-loop turn apart, as a socket would. */
function source(chunks: Buffer[]): Readable {
  const stream = new PassThrough();
  void (async () => {
    for (const chunk of chunks) {
      stream.write(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    stream.end();
  })();
  return stream;
}

const options = (tempDir: string): MultipartOptions => ({
  tempDir,
  maxFileBytes: 1024 * 1024,
  maxBodyBytes: 2 * 1024 * 1024,
  tooLarge: (midBody) => new GraphQLError('too large', { extensions: { code: 'BAD_USER_INPUT', midBody } }),
});

async function refusal(promise: Promise<unknown>): Promise<GraphQLError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraphQLError);
  return error as GraphQLError;
}

describe('streaming GraphQL multipart parser', () => {
  it('puts a disk-backed File with the sent bytes where the map says, and removes its temp file afterwards', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'atelier-parts-'));
    const owner = {};
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    const operation = await parseMultipartOperation(source(body(bytes)), CONTENT_TYPE, owner, options(dir));
    const file = (operation.variables as { file: File }).file;
    expect(file.name).toBe('a.bin');
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);
    expect(readdirSync(dir)).toHaveLength(1);
    await removeUploadTemps(owner);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('answers SERVICE_UNAVAILABLE, without hanging, when the temp file cannot be written', async () => {
    // sysfs takes no new files, not even from root.
    const heard: unknown[] = [];
    const error = await refusal(
      parseMultipartOperation(source(body(Buffer.alloc(50_000, 1))), CONTENT_TYPE, {}, { ...options('/sys'), onStoreError: (e) => heard.push(e) }),
    );
    expect(error.extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.message).not.toContain('/sys');
    // The reason is not lost: the server logs it.
    expect(heard).toHaveLength(1);
    expect((heard[0] as NodeJS.ErrnoException).code).toMatch(/^E[A-Z]+$/);
  });

  it('refuses a request whose client is already gone, a path into a prototype, and a file over the limit', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'atelier-parts-'));
    const gone = new PassThrough();
    gone.destroy();
    expect((await refusal(parseMultipartOperation(gone, CONTENT_TYPE, {}, options(dir)))).extensions.code).toBe('BAD_REQUEST');

    const polluting = body(Buffer.from('x'), { 0: ['variables.__proto__.polluted'] });
    expect((await refusal(parseMultipartOperation(source(polluting), CONTENT_TYPE, {}, options(dir)))).message).toMatch(/not allowed/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const big = await refusal(parseMultipartOperation(source(body(Buffer.alloc(1024 * 1024 + 10))), CONTENT_TYPE, {}, options(dir)));
    expect(big.extensions).toMatchObject({ code: 'BAD_USER_INPUT', midBody: false });
  });
});
