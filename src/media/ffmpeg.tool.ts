import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * ffmpeg and ffprobe: FFMPEG_PATH / FFPROBE_PATH when set, else the static builds shipped in npm packages
 * (so a fresh install needs no system packages).
 */
export const ffmpegPath = (): string => process.env.FFMPEG_PATH || (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
export const ffprobePath = (): string => process.env.FFPROBE_PATH || (require('@ffprobe-installer/ffprobe') as { path: string }).path;

export interface RunOptions {
  /** Written to the process's stdin, then stdin is closed. Chunks are written with backpressure. */
  input?: Buffer | AsyncIterable<Buffer>;
  signal?: AbortSignal;
}

export class MediaToolError extends Error {}

/** Runs ffmpeg or ffprobe and returns stdout; a non-zero exit throws with the tail of stderr. */
export function runTool(binary: string, args: string[], options: RunOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], signal: options.signal });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-4000);
    });
    child.on('error', (error) => reject(options.signal?.aborted ? options.signal.reason : error));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else if (options.signal?.aborted) reject(options.signal.reason);
      else reject(new MediaToolError(`${binary.split('/').pop()} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
    // EPIPE when the tool exits early is reported through 'close' with its stderr.
    child.stdin.on('error', () => undefined);
    const { input } = options;
    if (!input) child.stdin.end();
    else if (Buffer.isBuffer(input)) child.stdin.end(input);
    else
      void (async () => {
        try {
          for await (const chunk of input) {
            if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r));
          }
        } finally {
          child.stdin.end();
        }
      })().catch(() => child.kill('SIGKILL'));
  });
}

export const ffmpeg = (args: string[], options?: RunOptions) => runTool(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', ...args], options);

export interface ProbeResult {
  format: { duration?: string; format_name?: string };
  streams: { codec_type: string; codec_name: string; width?: number; height?: number; nb_frames?: string; r_frame_rate?: string; duration?: string; sample_rate?: string; channels?: number }[];
}

export async function ffprobe(file: string, extra: string[] = []): Promise<ProbeResult> {
  const out = await runTool(ffprobePath(), ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...extra, file]);
  return JSON.parse(out.toString()) as ProbeResult;
}
