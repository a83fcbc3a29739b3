import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Asset } from '../../src/db/entities/asset.entity.ts';
import type { Actor } from '../../src/services/actor.ts';
import { AppError } from '../../src/services/errors.ts';
import { cleanFilename, formatBytes, UploadService } from '../../src/services/upload.service.ts';
import { testCore } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an AppError, but the promise resolved');
}

async function* chunks(data: Buffer, size = 16 * 1024) {
  for (let at = 0; at < data.byteLength; at += size) yield data.subarray(at, at + size);
}

async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('UploadService (real Postgres and storage)', () => {
  let core: Core;
  let user: TestUser;
  let tempDir: string;
  let uploads: UploadService;

  const em = () => core.orm.em.fork();
  const assetCount = () => em().count(Asset, { owner: user.id });

  beforeAll(async () => {
    core = await testCore();
    user = await createTestUser(core);
    tempDir = await mkdtemp(path.join(tmpdir(), 'atelier-upload-'));
    uploads = new UploadService({ storage: core.storage, tempDir, limits: { maxBytes: 64 * 1024, maxPixels: 1_000_000 } });
  });

  afterAll(async () => {
    await core?.close();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  });

  it('stores a PNG with its sniffed type, dimensions, hash and the client name', async () => {
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#336699' } }).png().toBuffer();
    const asset = await uploads.upload(em(), user.actor, { filename: 'C:\\fakepath\\holiday.jpeg', content: chunks(png, 100) });
    expect(asset).toMatchObject({ kind: 'IMAGE', mime: 'image/png', width: 40, height: 30, filename: 'holiday.jpeg', bytes: png.byteLength });
    expect(asset.sha256).toBe(createHash('sha256').update(png).digest('hex'));
    expect(asset.storageKey).toBe(`assets/${user.id}/${asset.id}.png`);
    expect(asset.job ?? null).toBeNull();
    expect(await readFile(path.join(core.config.storageDir, asset.storageKey))).toEqual(png);
    const row = await em().findOneOrFail(Asset, { id: asset.id });
    expect(row.owner.id).toBe(user.id);
    expect(await listFiles(tempDir)).toEqual([]);
  });

  it('stops reading as soon as the size limit is passed', async () => {
    let produced = 0;
    async function* endless() {
      for (;;) {
        produced += 8192;
        yield Buffer.alloc(8192, 1);
      }
    }
    const before = await assetCount();
    const error = await rejection(uploads.upload(em(), user.actor, { filename: 'big.bin', content: endless() }));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toBe('File too large: limit is 64 KB');
    expect(produced).toBeLessThanOrEqual(64 * 1024 + 8192);
    expect(await listFiles(tempDir)).toEqual([]);
    expect(await assetCount()).toBe(before);
  });

  it('refuses an image over the pixel limit from its header', async () => {
    const png = await sharp({ create: { width: 1001, height: 1000, channels: 3, background: '#000' } }).png().toBuffer();
    const error = await rejection(uploads.upload(em(), user.actor, { filename: 'wide.png', content: chunks(png) }));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toBe('Image too large: 1001×1000 is 1001000 pixels, limit is 1000000 pixels');
    const tall = await sharp({ create: { width: 1000, height: 2000, channels: 3, background: '#000' } }).png().toBuffer();
    const second = await rejection(uploads.upload(em(), user.actor, { filename: 'tall.png', content: chunks(tall) }));
    expect(second.message).toBe('Image too large: 1000×2000 is 2 MP, limit is 1 MP');
    expect(await listFiles(tempDir)).toEqual([]);
  });

  it('removes the stored file when the row cannot be written', async () => {
    const stranger: Actor = { ...user.actor, userId: randomUUID() };
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png().toBuffer();
    const before = await listFiles(core.config.storageDir);
    await expect(uploads.upload(em(), stranger, { filename: 'orphan.png', content: chunks(png) })).rejects.toThrow();
    expect(await listFiles(core.config.storageDir)).toEqual(before);
    expect(await em().count(Asset, { owner: stranger.userId })).toBe(0);
    expect(await listFiles(tempDir)).toEqual([]);
  });

  it('sweeps temp files of uploads a dead process left, keeping recent ones and other files', async () => {
    const stale = path.join(tempDir, `${randomUUID()}.upload`);
    const fresh = path.join(tempDir, `${randomUUID()}.upload`);
    const other = path.join(tempDir, 'notes.txt');
    for (const file of [stale, fresh, other]) await writeFile(file, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    await utimes(other, twoHoursAgo, twoHoursAgo);

    expect(await uploads.sweepStale(3600_000)).toBe(1);
    expect([existsSync(stale), existsSync(fresh), existsSync(other)]).toEqual([false, true, true]);
    await rm(fresh);
    await rm(other);
  });

  it('refuses an empty file', async () => {
    const error = await rejection(uploads.upload(em(), user.actor, { filename: 'empty.png', content: chunks(Buffer.alloc(0)) }));
    expect(error.message).toMatch(/^Empty file/);
  });
});

describe('upload helpers', () => {
  it('formats byte limits', () => {
    expect(formatBytes(524_288_000)).toBe('500 MB');
    expect(formatBytes(100_000)).toBe('97.7 KB (100000 bytes)');
    expect(formatBytes(2 * 1024 ** 3)).toBe('2 GB');
    expect(formatBytes(512)).toBe('512 bytes');
  });

  it('keeps the last segment of a client filename, without control characters', () => {
    expect(cleanFilename('../../etc/passwd')).toBe('passwd');
    expect(cleanFilename('C:\\Users\\me\\song.mp3')).toBe('song.mp3');
    expect(cleanFilename('a\u0000b\nc.png')).toBe('abc.png');
    expect(cleanFilename('   ')).toBeNull();
    expect(cleanFilename(null)).toBeNull();
    expect(cleanFilename(`${'x'.repeat(300)}.png`)).toHaveLength(255);
  });
});
