import { openAsBlob } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Atelier, Asset, JobDetail } from './client.ts';

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
};

export const extensionOf = (mime: string) => EXTENSIONS[mime.split(';')[0]!.trim()] ?? 'bin';

/** Saves every file of a finished job into `dir` as `<job id>-<n>.<ext>`; answers the paths. */
export async function downloadJob(atelier: Atelier, job: Pick<JobDetail, 'id' | 'assets'>, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const [index, asset] of job.assets.entries()) {
    const { data, mime } = await atelier.download(asset);
    const file = path.join(dir, `${job.id}-${index + 1}.${extensionOf(asset.mime || mime)}`);
    await writeFile(file, data);
    paths.push(file);
  }
  return paths;
}

/** Uploads a file from disk without reading it into memory first. */
export async function uploadFile(atelier: Atelier, file: string): Promise<Asset> {
  // openAsBlob's own error names no cause; stat's says ENOENT, EACCES…
  await stat(file);
  return atelier.upload(await openAsBlob(file), path.basename(file));
}
