import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import sharp from 'sharp';
import { ffmpeg } from '../../../src/media/ffmpeg.tool.ts';
import { tempPrefix } from '../../../src/system/crash-cleanup.ts';

/**
 * A pool of worker threads for one renderer file; idle threads (beyond `minThreads`) go away, so unused engines cost nothing.
 *
 * A pool emits 'error' for trouble not tied to a task; unheard, that event would crash the process. The
 * common one is harmless: a frame finishing just as its job was aborted ("Unexpected message from
 * Worker": the task was already dropped), so it is ignored; anything else becomes a process warning.
 */
export function createFramePool(file: string, threads: number, { minThreads = 0 } = {}): Piscina {
  const pool = new Piscina({
    filename: new URL(file, import.meta.url).href,
    minThreads,
    maxThreads: Math.max(1, threads),
    idleTimeout: 30_000,
  });
  pool.on('error', (error: unknown) => {
    if (error instanceof Error && error.message.startsWith('Unexpected message from Worker')) return;
    process.emitWarning(`frame render pool (${file}): ${error instanceof Error ? error.message : String(error)}`);
  });
  return pool;
}

/** A temporary directory removed with everything in it when `use` settles, however it settles. */
export async function withTempDir<T>(prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  // The pid in the name lets the launcher remove the directory if this process is killed before `finally` runs.
  const dir = await mkdtemp(path.join(tmpdir(), `${tempPrefix(process.pid)}${prefix}`));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface EncodeOptions {
  width: number;
  height: number;
  fps: number;
  totalFrames: number;
  /** Renders frame `index` (raw RGB, width × height × 3). Called in order, up to `lookahead` ahead of the encoder. */
  render(index: number): Promise<Uint8Array>;
  /** Called once per frame, in order, after the frame went to the encoder. */
  onFrame(index: number): void;
  /** Frames rendered at once; more than the render threads gains nothing. */
  lookahead: number;
  signal: AbortSignal;
  /** The file to write (.mp4). */
  outFile: string;
  /** Muxed in as AAC; the video keeps its own length (totalFrames / fps). */
  audioFile?: string;
  /** The frame kept for the poster. */
  posterIndex: number;
}

/**
 * Renders frames in order and streams them as raw RGB into ffmpeg (H.264, yuv420p, faststart).
 * Stops at the next frame when the signal aborts; ffmpeg is then killed, and the signal's reason is thrown.
 */
export async function encodeFrames(options: EncodeOptions): Promise<{ poster: Uint8Array }> {
  const { width, height, fps, totalFrames, signal } = options;
  const frameBytes = width * height * 3;
  let poster: Uint8Array | null = null;
  let renderError: unknown = null;

  async function* frames(): AsyncGenerator<Buffer> {
    const pending: Promise<Uint8Array>[] = [];
    let next = 0;
    try {
      for (let index = 0; index < totalFrames; index++) {
        signal.throwIfAborted();
        while (next < totalFrames && pending.length < Math.max(1, options.lookahead)) {
          const rendering = options.render(next++);
          // Frames rendered ahead may be dropped unread when the run stops; their failures are expected then.
          rendering.catch(() => undefined);
          pending.push(rendering);
        }
        const rgb = await pending.shift()!;
        signal.throwIfAborted();
        if (rgb.length !== frameBytes) throw new Error(`frame ${index} has ${rgb.length} bytes, expected ${frameBytes}`);
        if (index === options.posterIndex) poster = rgb;
        yield Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
        options.onFrame(index);
      }
    } catch (error) {
      renderError = error;
      throw error;
    }
  }

  const args = ['-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', '-'];
  if (options.audioFile) args.push('-i', options.audioFile, '-map', '0:v:0', '-map', '1:a:0');
  args.push('-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p');
  if (options.audioFile) args.push('-c:a', 'aac', '-b:a', '128k');
  args.push('-movflags', '+faststart', options.outFile);

  try {
    await ffmpeg(args, { input: frames(), signal });
  } catch (error) {
    // ffmpeg is killed when rendering fails: the render error is the one worth reporting.
    throw signal.aborted ? signal.reason : (renderError ?? error);
  }
  signal.throwIfAborted();
  if (!poster) throw new Error(`poster frame ${options.posterIndex} was never rendered`);
  return { poster };
}

/**
 * An image's bytes as width × height RGB (covering the frame, centre crop), in memory that the render threads
 * share without copying.
 */
export async function toSharedRgb(image: Buffer, width: number, height: number, what: string): Promise<Uint8Array> {
  const { data: rgb, info } = await sharp(image)
    .rotate()
    .resize(width, height, { fit: 'cover' })
    .flatten({ background: '#000000' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || rgb.length !== width * height * 3) throw new Error(`could not convert ${what} to ${width}x${height} RGB`);
  const shared = new Uint8Array(new SharedArrayBuffer(rgb.length));
  shared.set(rgb);
  return shared;
}
