import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage, parseS3Url } from '../../src/storage/s3.storage.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3.ts';

describe('S3 storage against a real S3-compatible server', () => {
  let s3: LocalS3;
  let storage: S3Storage;
  const dir = mkdtempSync(path.join(tmpdir(), 'atelier-s3-files-'));

  beforeAll(async () => {
    s3 = await startLocalS3();
    Object.assign(process.env, s3.env);
    storage = new S3Storage(parseS3Url(s3.storageUrl({ prefix: 'deploy-a', redirect: true })));
  });
  afterAll(async () => {
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses STORAGE_URL and refuses what is not an s3 URL', () => {
    expect(parseS3Url('s3://media/a/b/?endpoint=http%3A%2F%2Fminio%3A9000&region=eu-west-3&forcePathStyle=true')).toEqual({
      bucket: 'media',
      prefix: 'a/b/',
      endpoint: 'http://minio:9000',
      region: 'eu-west-3',
      forcePathStyle: true,
      redirect: false,
      presignSeconds: 300,
    });
    expect(() => parseS3Url('http://media')).toThrow(/s3:\/\/bucket/);
    expect(() => parseS3Url('s3://media?presignSeconds=0')).toThrow(/presignSeconds/);
  });

  it('round-trips a buffer and a multipart file upload (12 MB, streamed from disk) byte for byte', async () => {
    await storage.put('assets/u1/small.png', Buffer.from('tiny png'));
    expect((await buffer(storage.open('assets/u1/small.png'))).toString()).toBe('tiny png');

    const big = randomBytes(12 * 1024 * 1024);
    const file = path.join(dir, 'big.bin');
    writeFileSync(file, big);
    await storage.putFile('uploads/u1/big.bin', file);
    expect(await storage.size('uploads/u1/big.bin')).toBe(big.length);
    expect((await buffer(storage.open('uploads/u1/big.bin'))).equals(big)).toBe(true);
  });

  it('hands out a presigned URL that fetches the object without credentials', async () => {
    await storage.put('assets/u1/signed.txt', Buffer.from('signed bytes'));
    const url = await storage.downloadUrl('assets/u1/signed.txt', { mime: 'text/plain', filename: 'a.txt' });
    expect(url).toMatch(/X-Amz-Signature=/);
    const answer = await fetch(url!);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('signed bytes');
    expect(answer.headers.get('content-type')).toBe('text/plain');
    expect(new URL(url!).pathname).toBe('/atelier/deploy-a/assets/u1/signed.txt');
    // content-disposition's form: quoted only where the name needs it, any non-ASCII name as filename*.
    expect(answer.headers.get('content-disposition')).toBe('inline; filename=a.txt');
  });

  it('fails the stream of a missing object, and removes objects', async () => {
    await expect(buffer(storage.open('assets/u1/none.png'))).rejects.toThrow();
    await storage.remove('assets/u1/small.png');
    await expect(storage.size('assets/u1/small.png')).rejects.toThrow();
    expect(() => storage.open('../escape')).toThrow(/Invalid storage key/);
  });
});
