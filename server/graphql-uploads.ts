import { randomUUID } from 'node:crypto';
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Busboy } from '@fastify/busboy';
import { GraphQLError } from 'graphql';
import { findUnsafeInput } from '../src/services/input-hygiene.ts';
import { refusal } from './input-hygiene.ts';

/** Temp files of each request's file parts, removed once the request is answered. */
const tempFiles = new WeakMap<object, string[]>();

/** Room for the operation and the map: a GraphQL document with its variables, not data. */
const FIELD_LIMIT_BYTES = 1024 * 1024;

const badRequest = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });

/** Our side failed (the disk): not the client's fault, and no server path in the answer. */
const notStored = () =>
  new GraphQLError('The upload could not be stored; try again later', { extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503 } } });

/** Puts `value` at a dotted path of the spec's map ("variables.file", "variables.files.0"). */
function setAtPath(target: Record<string, unknown>, dotted: string, value: unknown) {
  const keys = dotted.split('.');
  // A client's path must not reach an object's prototype.
  if (keys.some((key) => key === '__proto__' || key === 'constructor' || key === 'prototype')) throw badRequest(`Multipart map path "${dotted}" is not allowed`);
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object') throw badRequest(`Multipart map path "${dotted}" does not lead into the operation`);
    node = next as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

function parseJsonField(name: string, value: string | undefined) {
  if (value === undefined) throw badRequest(`Missing multipart form field "${name}"`);
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw badRequest(`Multipart form field "${name}" must be a valid JSON string`);
  }
}

export interface MultipartOptions {
  tempDir: string;
  /** A file part over this is refused once the body has been read. */
  maxFileBytes: number;
  /** A body over this is refused at once, the rest left unread (a chunked body gives no length up front). */
  maxBodyBytes: number;
  tooLarge(midBody: boolean): GraphQLError;
  /** Hears why an upload could not be stored: the client only learns that it could not. */
  onStoreError?(error: unknown): void;
}

/** Streams the parts of a multipart body: fields into memory (small), each file part into a temp file. */
function readParts(
  source: Readable,
  contentType: string,
  options: MultipartOptions,
  temps: string[],
): Promise<{ fields: Map<string, string>; files: Map<string, File> }> {
  const fields = new Map<string, string>();
  const files = new Map<string, File>();
  const fileStreams: Readable[] = [];
  const writes: Promise<unknown>[] = [];
  let fileTooLarge = false;
  return new Promise((resolve, reject) => {
    let bodyBytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bodyBytes += chunk.length;
        if (bodyBytes > options.maxBodyBytes) return fail(options.tooLarge(true));
        done(null, chunk);
      },
    });
    let failed = false;
    const fail = (error: GraphQLError) => {
      if (failed) return;
      failed = true;
      // Stop reading: the rest of the body stays unread (the answer closes the connection), and no file stays open.
      source.unpipe();
      source.pause();
      counter.unpipe();
      for (const stream of fileStreams) stream.destroy();
      reject(error);
    };
    const invalid = (error: Error) => fail(badRequest(`POST body sent invalid multipart data: ${error.message}`));
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        headers: { 'content-type': contentType },
        limits: { fileSize: options.maxFileBytes, fieldSize: FIELD_LIMIT_BYTES, files: 10, fields: 10, parts: 20 },
      });
    } catch (error) {
      // A multipart content type without a boundary, for one.
      return invalid(error as Error);
    }
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (valueTruncated) fail(badRequest(`Multipart form field "${name}" is over ${FIELD_LIMIT_BYTES} bytes`));
      fields.set(name, value);
    });
    parser.on('file', (name, stream, filename, _encoding, mimeType) => {
      // Parts the parser still had buffered after a refusal are skipped, not written.
      if (failed) return stream.resume();
      const temp = path.join(options.tempDir, `${randomUUID()}.upload`);
      temps.push(temp);
      fileStreams.push(stream);
      // The rest of an oversized file is skipped, and the body read on, so the answer comes on a healthy connection.
      stream.on('limit', () => (fileTooLarge = true));
      const written = pipeline(stream, createWriteStream(temp, { flags: 'wx' })).then(async () => {
        files.set(name, new File([await openAsBlob(temp)], filename, { type: mimeType }));
      });
      // A write that fails (disk full) ends the request at once; after fail() the rejection is expected.
      written.catch((error: unknown) => {
        if (!failed) options.onStoreError?.(error);
        fail(notStored());
      });
      writes.push(written);
    });
    for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) parser.on(limit, () => fail(badRequest('Too many parts in the multipart body')));
    parser.on('finish', () => {
      Promise.all(writes).then(() => (fileTooLarge ? fail(options.tooLarge(false)) : resolve({ fields, files })), () => fail(notStored()));
    });
    // Piped by hand, not with pipeline(): on failure the request must stay open for the answer, not be destroyed.
    source.on('error', invalid);
    counter.on('error', invalid);
    parser.on('error', invalid);
    // A client gone before (or while) the body is read: no 'end' will come.
    if (source.destroyed) return invalid(new Error('the client closed the request'));
    source.on('close', () => {
      if (!source.readableEnded) invalid(new Error('the client closed the request'));
    });
    source.pipe(counter).pipe(parser);
  });
}

/**
 * Reads a GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec) from the
 * raw request, part by part as it arrives: each file part streams into a temp file and reaches the resolvers
 * as a File backed by that file, so no upload is ever held in memory whole (yoga's own parser buffers the body
 * first). `owner` keys the temp files for removeUploadTemps.
 */
export async function parseMultipartOperation(
  source: Readable,
  contentType: string,
  owner: object,
  options: MultipartOptions,
): Promise<Record<string, unknown>> {
  await mkdir(options.tempDir, { recursive: true }).catch((error: unknown) => {
    options.onStoreError?.(error);
    throw notStored();
  });
  const temps: string[] = [];
  tempFiles.set(owner, temps);
  const { fields, files } = await readParts(source, contentType, options, temps);

  const operations = parseJsonField('operations', fields.get('operations'));
  if (operations === null || typeof operations !== 'object' || Array.isArray(operations)) {
    throw badRequest('Multipart form field "operations" must hold one operation (batches are not supported)');
  }
  const map = fields.has('map') ? parseJsonField('map', fields.get('map')) : {};
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw badRequest('Multipart form field "map" must be an object');
  // The operation's variables are checked with every other request's (useInputHygiene); the map only exists here.
  const unsafe = findUnsafeInput(map, ['map']);
  if (unsafe) throw refusal(unsafe);
  for (const [name, paths] of Object.entries(map as Record<string, unknown>)) {
    const file = files.get(name);
    if (!file) throw badRequest(`Multipart map names a file part "${name}" that was not sent`);
    if (!Array.isArray(paths)) throw badRequest(`Multipart map entry "${name}" must be a list of paths`);
    // One file part is one upload: a part mapped to many variables would be stored many times over.
    if (paths.length !== 1) throw badRequest(`Multipart map entry "${name}" must name exactly one path (one file part backs one upload)`);
    for (const dotted of paths) setAtPath(operations as Record<string, unknown>, String(dotted), file);
  }
  return operations as Record<string, unknown>;
}

/** Removes the temp files a request's file parts were written to (none when it had none). */
export async function removeUploadTemps(owner: object): Promise<void> {
  const temps = tempFiles.get(owner);
  if (!temps) return;
  tempFiles.delete(owner);
  await Promise.all(temps.map((file) => rm(file, { force: true })));
}
