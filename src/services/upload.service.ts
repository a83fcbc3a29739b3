import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { fileTypeFromFile, type FileTypeResult } from 'file-type';
import sharp from 'sharp';
import { Asset, type AssetKind } from '../db/entities/asset.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import { ffprobe, type ProbeResult } from '../media/ffmpeg.tool.ts';
import type { Storage } from '../storage/storage.service.ts';
import type { Actor } from './actor.ts';
import { type AppError, badInput } from './errors.ts';

export interface UploadLimits {
  /** Largest accepted file, in bytes. */
  maxBytes: number;
  /** Largest accepted image, in pixels (width × height), read from the header. */
  maxPixels: number;
}

/** One uploaded file as the service sees it: a name and a byte stream, whatever transport brought them. */
export interface IncomingUpload {
  /** The client's name for the file; kept for display only, never used to decide the type or the storage key. */
  filename?: string | null;
  content: AsyncIterable<Uint8Array>;
}

interface Accepted {
  kind: AssetKind;
  mime: string;
  extension: string;
  /** How messages name the format ("PNG", "WAV"). */
  label: string;
}

export const ACCEPTED_FORMATS = 'JPG, PNG, GIF, WEBP images; WAV, MP3, OGG, M4A audio';

const IMAGE_FORMATS: Record<string, string> = { jpg: 'JPG', png: 'PNG', gif: 'GIF', webp: 'WEBP' };
const AUDIO_FORMATS: Record<string, string> = { wav: 'WAV', mp3: 'MP3', ogg: 'OGG', oga: 'OGG', opus: 'OGG', spx: 'OGG', m4a: 'M4A' };

/** Bytes kept from the start of an upload to describe content that file-type does not recognise. */
const HEAD_BYTES = 4096;

export function formatBytes(bytes: number): string {
  const units: [string, number][] = [
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ];
  for (const [unit, size] of units) {
    if (bytes >= size) {
      const value = bytes / size;
      return Number.isInteger(value) ? `${value} ${unit}` : `${value.toFixed(1)} ${unit} (${bytes} bytes)`;
    }
  }
  return `${bytes} bytes`;
}

const megapixels = (pixels: number) => `${Number((pixels / 1_000_000).toFixed(1))} MP`;

export const fileTooLarge = (maxBytes: number): AppError =>
  badInput(`File too large: limit is ${formatBytes(maxBytes)}`, { limitBytes: maxBytes });

const unsupportedType = (what: string): AppError =>
  badInput(`Unsupported file type: ${what} (accepted: ${ACCEPTED_FORMATS})`, { detectedType: what });

/** Keeps only the last path segment of a client's filename, without control characters, within the column's 255. */
export function cleanFilename(name: string | null | undefined): string | null {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return clean ? clean.slice(0, 255) : null;
}

/** What to call content file-type does not recognise: plain text (valid UTF-8, no NUL bytes) or unknown bytes. */
function describeUnknown(head: Buffer): string {
  if (head.includes(0)) return 'unrecognised binary data';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return 'text/plain';
  } catch {
    return 'unrecognised binary data';
  }
}

/**
 * Uploads: the type comes from the bytes (file-type's sniffing), never from the name or the client's mime.
 * A refused upload leaves nothing behind: the temp file is always removed and no storage file or row is written.
 */
export class UploadService {
  private readonly storage: Storage;
  /** Where uploads are written while they are checked (GraphQL file parts land here too). */
  readonly tempDir: string;
  private readonly limits: UploadLimits;

  constructor(deps: { storage: Storage; tempDir: string; limits: UploadLimits }) {
    this.storage = deps.storage;
    this.tempDir = deps.tempDir;
    this.limits = deps.limits;
  }

  /**
   * Removes temp files of uploads that never finished (an API process killed mid-upload). Only files older
   * than `olderThanMs` go, so uploads still streaming into another API process sharing DATA_DIR are kept.
   */
  async sweepStale(olderThanMs: number): Promise<number> {
    const names = await readdir(this.tempDir).catch(() => [] as string[]);
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of names.filter((n) => n.endsWith('.upload'))) {
      const file = path.join(this.tempDir, name);
      const info = await stat(file).catch(() => null);
      if (!info || info.mtimeMs >= cutoff) continue;
      // One file that cannot go (permissions, a directory) must not keep the API from starting.
      if (await rm(file, { force: true }).then(() => true, () => false)) removed++;
    }
    return removed;
  }

  async upload(em: EntityManager, actor: Actor, upload: IncomingUpload): Promise<Asset> {
    await mkdir(this.tempDir, { recursive: true });
    const temp = path.join(this.tempDir, `${randomUUID()}.upload`);
    try {
      const { bytes, sha256, head } = await this.receive(upload.content, temp);
      if (bytes === 0) throw badInput('Empty file: nothing was uploaded');

      const sniffed = await fileTypeFromFile(temp);
      const format = await this.classify(sniffed, head, temp);
      const details = format.kind === 'IMAGE' ? await this.inspectImage(temp, format) : await this.inspectAudio(temp, format);

      return await this.store(em, actor, temp, {
        ...format,
        ...details,
        bytes,
        sha256,
        filename: cleanFilename(upload.filename),
      });
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Streams the upload to `temp`, hashing and counting; stops as soon as the size limit is passed. */
  private async receive(content: AsyncIterable<Uint8Array>, temp: string) {
    const { maxBytes } = this.limits;
    const hash = createHash('sha256');
    const headChunks: Buffer[] = [];
    let headLength = 0;
    let bytes = 0;
    await pipeline(
      content,
      async function* (source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          bytes += chunk.byteLength;
          if (bytes > maxBytes) throw fileTooLarge(maxBytes);
          hash.update(chunk);
          if (headLength < HEAD_BYTES) {
            const part = Buffer.from(chunk.subarray(0, HEAD_BYTES - headLength));
            headChunks.push(part);
            headLength += part.byteLength;
          }
          yield chunk;
        }
      },
      createWriteStream(temp, { flags: 'wx' }),
    );
    return { bytes, sha256: hash.digest('hex'), head: Buffer.concat(headChunks) };
  }

  private async classify(sniffed: FileTypeResult | undefined, head: Buffer, temp: string): Promise<Accepted> {
    if (!sniffed) throw unsupportedType(describeUnknown(head));
    const image = IMAGE_FORMATS[sniffed.ext];
    if (image) return { kind: 'IMAGE', mime: sniffed.mime, extension: sniffed.ext, label: image };
    const audio = AUDIO_FORMATS[sniffed.ext];
    if (audio) return { kind: 'AUDIO', mime: sniffed.mime, extension: sniffed.ext, label: audio };
    // M4A files are often branded as plain MP4 ('isom', 'mp42'); an MP4 with sound and no picture is one.
    if (sniffed.ext === 'mp4' && (await isAudioOnly(temp))) return { kind: 'AUDIO', mime: 'audio/mp4', extension: 'm4a', label: 'M4A' };
    throw unsupportedType(sniffed.mime);
  }

  /**
   * Reads the dimensions from the header first (no pixel decoded), so a pixel bomb is refused at once; only an
   * image within the pixel limit is then decoded, to refuse one that is corrupt or truncated.
   */
  private async inspectImage(temp: string, format: Accepted) {
    const undecodable = () => badInput(`Unsupported image: the ${format.label} file could not be decoded`);
    let width: number | undefined;
    let height: number | undefined;
    try {
      // The limit is checked here, against the header, rather than by sharp while decoding.
      const meta = await sharp(temp, { limitInputPixels: false }).metadata();
      width = meta.autoOrient?.width ?? meta.width;
      height = meta.autoOrient?.height ?? meta.height;
    } catch {
      // Falls through to the refusal below.
    }
    if (!width || !height) throw undecodable();
    const pixels = width * height;
    const { maxPixels } = this.limits;
    if (pixels > maxPixels) {
      const [size, limit] = [megapixels(pixels), megapixels(maxPixels)];
      // Rounded megapixels can look equal just over the limit; exact counts say why then.
      const sizes = size === limit ? `${pixels} pixels, limit is ${maxPixels} pixels` : `${size}, limit is ${limit}`;
      throw badInput(`Image too large: ${width}×${height} is ${sizes}`, {
        width,
        height,
        limitPixels: maxPixels,
      });
    }
    try {
      // stats() streams the whole (first) image through the decoder without keeping it.
      await sharp(temp, { limitInputPixels: maxPixels, failOn: 'truncated' }).stats();
    } catch {
      throw undecodable();
    }
    return { width, height };
  }

  /** ffprobe must find an audio stream and a duration; anything it cannot decode is refused. */
  private async inspectAudio(temp: string, format: Accepted) {
    const undecodable = () => badInput(`Unsupported audio: the ${format.label} file could not be decoded`);
    let probe: ProbeResult;
    try {
      probe = await ffprobe(temp);
    } catch {
      throw undecodable();
    }
    const stream = probe.streams.find((s) => s.codec_type === 'audio');
    const duration = Number(probe.format.duration ?? stream?.duration);
    if (!stream || !Number.isFinite(duration) || duration <= 0) throw undecodable();
    return { durationSeconds: duration };
  }

  private async store(
    em: EntityManager,
    actor: Actor,
    temp: string,
    file: Accepted & { bytes: number; sha256: string; filename: string | null; width?: number; height?: number; durationSeconds?: number },
  ): Promise<Asset> {
    const id = randomUUID();
    const storageKey = `assets/${actor.userId}/${id}.${file.extension}`;
    await this.storage.putFile(storageKey, temp);
    try {
      const row = em.create(Asset, {
        id,
        kind: file.kind,
        mime: file.mime,
        bytes: file.bytes,
        sha256: file.sha256,
        width: file.width ?? null,
        height: file.height ?? null,
        durationSeconds: file.durationSeconds ?? null,
        filename: file.filename,
        storageKey,
        owner: em.getReference(User, actor.userId),
        job: null,
      });
      await em.flush();
      return row;
    } catch (error) {
      await this.storage.remove(storageKey);
      throw error;
    }
  }
}

/** True for an MP4 whose streams are audio (and perhaps cover art), with no real video. */
async function isAudioOnly(temp: string): Promise<boolean> {
  try {
    const probe = await ffprobe(temp);
    const streams = probe.streams as (ProbeResult['streams'][number] & { disposition?: { attached_pic?: number } })[];
    const video = streams.filter((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
    return video.length === 0 && streams.some((s) => s.codec_type === 'audio');
  } catch {
    return false;
  }
}
