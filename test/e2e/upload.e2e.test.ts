import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Asset } from '../../src/db/entities/asset.entity.ts';
import { ffmpeg } from '../../src/media/ffmpeg.tool.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql, type GraphQLResponse } from '../helpers/graphql.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const UPLOAD = /* GraphQL */ `
  mutation E2EUploadAsset($file: File!) {
    uploadAsset(file: $file) { id kind mime bytes sha256 width height durationSeconds filename url jobId }
  }
`;

interface UploadedAsset {
  id: string;
  kind: string;
  mime: string;
  bytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  filename: string | null;
  url: string;
  jobId: string | null;
}

type UploadResponse = GraphQLResponse<{ uploadAsset: UploadedAsset }> & { status: number; connection: string | null };

const MAX_BYTES = 100_000;
const ACCEPTED = '(accepted: JPG, PNG, GIF, WEBP images; WAV, MP3, OGG, M4A audio)';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A valid 1×1 PNG whose header claims 20000×20000: decoding it would need 1.6 GB. */
async function pixelBomb(): Promise<Buffer> {
  const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#f00' } }).png().toBuffer());
  png.writeUInt32BE(20_000, 16);
  png.writeUInt32BE(20_000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29);
  return png;
}

async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

describe('uploadAsset end to end (GraphQL multipart requests)', () => {
  const env = testEnv({ UPLOAD_MAX_BYTES: String(MAX_BYTES) });
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let work: string;
  const storageDir = path.join(env.DATA_DIR!, 'storage');
  const uploadTempDir = path.join(env.DATA_DIR!, 'tmp', 'uploads');

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
    work = await mkdtemp(path.join(tmpdir(), 'atelier-upload-e2e-'));
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Sends one file as the GraphQL multipart request spec lays out: operations, map, then the file part. */
  async function upload(content: Buffer, filename: string, options: { token?: string | null; type?: string } = {}): Promise<UploadResponse> {
    const token = options.token === undefined ? user.token : options.token;
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new Blob([new Uint8Array(content)], { type: options.type ?? 'application/octet-stream' }), filename);
    const response = await fetch(`${system.url}/graphql`, {
      method: 'POST',
      body: form,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: response.status, connection: response.headers.get('connection'), ...((await response.json()) as GraphQLResponse<{ uploadAsset: UploadedAsset }>) };
  }

  const assetRows = () => core.orm.em.fork().count(Asset, { owner: user.id });

  /** Uploads, expects a BAD_USER_INPUT (or `code`) refusal, and checks nothing was left on disk or in the table. */
  async function expectRefused(content: Buffer, filename: string, message: RegExp | string, code = 'BAD_USER_INPUT', token?: string | null) {
    const [filesBefore, rowsBefore] = [await listFiles(storageDir), await assetRows()];
    const result = await upload(content, filename, { token });
    expect(result.data?.uploadAsset ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    const error = result.errors![0]!;
    expect(error.extensions?.code).toBe(code);
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
    expect(await listFiles(storageDir)).toEqual(filesBefore);
    expect(await assetRows()).toBe(rowsBefore);
    expect(await listFiles(uploadTempDir)).toEqual([]);
    return result;
  }

  async function expectStored(content: Buffer, filename: string, type?: string): Promise<UploadedAsset> {
    const rowsBefore = await assetRows();
    const result = await upload(content, filename, { type });
    expect(result.errors).toBeUndefined();
    expect(result.status).toBe(200);
    const asset = result.data!.uploadAsset;
    expect(asset).toMatchObject({ bytes: content.byteLength, sha256: sha256(content), filename, jobId: null });
    expect(await assetRows()).toBe(rowsBefore + 1);

    const download = await fetch(asset.url, { headers: { authorization: `Bearer ${user.token}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe(asset.mime);
    expect(Buffer.from(await download.arrayBuffer()).equals(content)).toBe(true);
    expect(await listFiles(uploadTempDir)).toEqual([]);
    return asset;
  }

  async function makeAudio(name: string, args: string[] = []): Promise<Buffer> {
    const file = path.join(work, name);
    await ffmpeg(['-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', ...args, file]);
    return readFile(file);
  }

  describe('accepted files', () => {
    it('stores a PNG: sniffed as IMAGE with its dimensions, downloadable byte for byte', async () => {
      const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#2a6f97' } }).png().toBuffer();
      const asset = await expectStored(png, 'cover.png', 'image/png');
      expect(asset).toMatchObject({ kind: 'IMAGE', mime: 'image/png', width: 64, height: 48, durationSeconds: null });
    });

    it('stores a JPEG by its content, whatever name and mime the client gave it', async () => {
      const jpeg = await sharp({ create: { width: 80, height: 60, channels: 3, background: '#e9c46a' } }).jpeg().toBuffer();
      const asset = await expectStored(jpeg, 'notes.txt', 'text/plain');
      expect(asset).toMatchObject({ kind: 'IMAGE', mime: 'image/jpeg', width: 80, height: 60 });
      const row = await core.orm.em.fork().findOneOrFail(Asset, { id: asset.id });
      expect(row.storageKey).toBe(`assets/${user.id}/${asset.id}.jpg`);
      expect(existsSync(path.join(storageDir, row.storageKey))).toBe(true);
    });

    it.each([
      { name: 'tone.wav', args: [], mime: 'audio/wav' },
      { name: 'tone.mp3', args: [], mime: 'audio/mpeg' },
      { name: 'tone.ogg', args: ['-c:a', 'libvorbis'], mime: 'audio/ogg' },
      { name: 'tone.m4a', args: ['-c:a', 'aac'], mime: 'audio/x-m4a' },
      // Many M4A files carry a plain MP4 brand; with sound and no picture they are audio.
      { name: 'tone.mp4', args: ['-c:a', 'aac'], mime: 'audio/mp4' },
    ])('stores $name (ffmpeg sine, 1 s) as AUDIO $mime with its duration', async ({ name, args, mime }) => {
      const audio = await makeAudio(name, args);
      const asset = await expectStored(audio, name);
      expect(asset).toMatchObject({ kind: 'AUDIO', mime, width: null, height: null });
      expect(asset.durationSeconds).toBeGreaterThan(0.95);
      expect(asset.durationSeconds).toBeLessThan(1.1);
    });
  });

  describe('refusals leave nothing behind', () => {
    it('refuses text renamed to .png, going by the content', async () => {
      await expectRefused(Buffer.from('shopping list:\n- milk\n- eggs\n'), 'notes.png', `Unsupported file type: text/plain ${ACCEPTED}`);
    });

    it('refuses an upload over UPLOAD_MAX_BYTES', async () => {
      const result = await expectRefused(randomBytes(200_000), 'big.png', 'File too large: limit is 97.7 KB (100000 bytes)');
      expect(result.errors![0]!.extensions).toMatchObject({ limitBytes: MAX_BYTES });
    });

    it('refuses a body over the multipart cap before reading it, with the same error and HTTP 413', async () => {
      const result = await expectRefused(Buffer.alloc(11 * 1024 * 1024, 7), 'huge.wav', /^File too large: limit is/);
      expect(result.status).toBe(413);
      // Nothing of the body was read, so Node discards it and the connection stays usable.
      expect(result.connection).not.toBe('close');
    });

    it('refuses a chunked body (no Content-Length) once it passes the multipart cap', async () => {
      const boundary = `atelier-${randomBytes(8).toString('hex')}`;
      const part = (headers: string, body: string) => `--${boundary}\r\n${headers}\r\n\r\n${body}\r\n`;
      const head = Buffer.from(
        part('Content-Disposition: form-data; name="operations"', JSON.stringify({ query: UPLOAD, variables: { file: null } })) +
          part('Content-Disposition: form-data; name="map"', JSON.stringify({ 0: ['variables.file'] })) +
          `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="endless.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
      );
      const chunk = Buffer.alloc(1024 * 1024, 1);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(head),
        pull: (controller) => {
          // 12 MB of file, then the closing boundary: over the 10 MB cap without ever saying so up front.
          if (sent++ < 12) controller.enqueue(chunk);
          else {
            controller.enqueue(Buffer.from(`\r\n--${boundary}--\r\n`));
            controller.close();
          }
        },
      });
      const [filesBefore, rowsBefore] = [await listFiles(storageDir), await assetRows()];
      const response = await fetch(`${system.url}/graphql`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${user.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        duplex: 'half',
      } as RequestInit);
      expect(response.status).toBe(413);
      // The unread rest of the body must not be mistaken for the next request on a kept-alive connection.
      expect(response.headers.get('connection')).toBe('close');
      const result = (await response.json()) as GraphQLResponse<unknown>;
      expect(result.errors?.[0]).toMatchObject({ message: 'File too large: limit is 97.7 KB (100000 bytes)', extensions: { code: 'BAD_USER_INPUT' } });
      expect(await listFiles(storageDir)).toEqual(filesBefore);
      expect(await assetRows()).toBe(rowsBefore);
    });

    it('refuses a pixel bomb from its header, quickly', async () => {
      const started = Date.now();
      await expectRefused(await pixelBomb(), 'tiny.png', 'Image too large: 20000×20000 is 400 MP, limit is 50 MP');
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('refuses a PNG whose header is fine but whose pixels cannot be decoded', async () => {
      const png = Buffer.from(await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000' } }).png().toBuffer());
      // Every chunk stays well formed (length, type, CRC); the compressed pixels in IDAT become noise.
      const idat = png.indexOf('IDAT');
      const length = png.readUInt32BE(idat - 4);
      randomBytes(length).copy(png, idat + 4);
      png.writeUInt32BE(crc32(png.subarray(idat, idat + 4 + length)) >>> 0, idat + 4 + length);
      await expectRefused(png, 'broken.png', 'Unsupported image: the PNG file could not be decoded');
    });

    it('refuses a truncated JPEG', async () => {
      const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
      await expectRefused(jpeg.subarray(0, Math.floor(jpeg.byteLength / 2)), 'cut.jpg', 'Unsupported image: the JPG file could not be decoded');
    });

    it('refuses FLAC (not an accepted type)', async () => {
      await expectRefused(await makeAudio('tone.flac'), 'tone.flac', `Unsupported file type: audio/flac ${ACCEPTED}`);
    });

    it('refuses a WAV header followed by garbage (ffprobe cannot decode it)', async () => {
      const header = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x24, 0x10, 0, 0]), Buffer.from('WAVE')]);
      await expectRefused(Buffer.concat([header, randomBytes(4096)]), 'tone.wav', 'Unsupported audio: the WAV file could not be decoded');
    });

    it('refuses a video', async () => {
      const file = path.join(work, 'clip.mp4');
      await ffmpeg(['-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=5:duration=1', '-c:v', 'mpeg4', file]);
      await expectRefused(await readFile(file), 'clip.m4a', `Unsupported file type: video/mp4 ${ACCEPTED}`);
    });

    it('refuses an empty file', async () => {
      await expectRefused(Buffer.alloc(0), 'empty.png', 'Empty file: nothing was uploaded');
    });

    it('refuses an anonymous upload with UNAUTHENTICATED', async () => {
      const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } }).png().toBuffer();
      await expectRefused(png, 'anon.png', /^Authentication required/, 'UNAUTHENTICATED', null);
    });

    it('refuses an API key without the GENERATE scope with FORBIDDEN', async () => {
      const created = await gql<{ createApiKey: { secret: string } }, { name: string; scopes: string[] }>(
        system.url,
        'mutation E2EUploadKey($name: String!, $scopes: [ApiScope!]) { createApiKey(name: $name, scopes: $scopes) { secret } }',
        { name: 'read-only', scopes: ['READ'] },
        user.token,
      );
      expect(created.errors).toBeUndefined();
      const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } }).png().toBuffer();
      await expectRefused(png, 'read-only.png', 'This API key lacks the "generate" scope', 'FORBIDDEN', created.data!.createApiKey.secret);
    });

    it('refuses a File variable that is not a multipart file part', async () => {
      const result = await gql<{ uploadAsset: UploadedAsset }, { file: string }>(system.url, UPLOAD, { file: 'aGVsbG8=' }, user.token);
      expect(result.data?.uploadAsset ?? null).toBeNull();
      expect(result.errors?.[0]).toMatchObject({
        message: expect.stringContaining('File must be sent as a file part of a multipart request'),
        extensions: { code: 'BAD_USER_INPUT' },
      });
    });
  });

  it('kept exactly the accepted uploads: one row and one stored file each, no temp files', async () => {
    const rows = await core.orm.em.fork().find(Asset, { owner: user.id });
    expect(rows).toHaveLength(7);
    const stored = await listFiles(storageDir);
    expect(stored).toEqual(rows.map((r) => path.join(storageDir, r.storageKey)).sort());
    expect(await listFiles(uploadTempDir)).toEqual([]);
  });
});
