import { availableParallelism, endianness } from 'node:os';
import { Piscina } from 'piscina';
import type { SpeakResult, SpeakTask } from './espeak.thread.ts';

/**
 * eSpeak NG, offline, from the WebAssembly build in @echogarden/espeak-ng-emscripten (voices and
 * dictionaries included), so a fresh `npm ci` needs no system package. Synthesis runs in worker
 * threads, one eSpeak instance each.
 */

/** eSpeak NG's normal speaking rate, in words per minute. */
export const ESPEAK_DEFAULT_WPM = 175;
export const ESPEAK_MIN_WPM = 80;
export const ESPEAK_MAX_WPM = 450;

export interface SpeakOptions {
  /** eSpeak NG voice or language, e.g. "pt-br", "en-gb", "roa/pt". */
  voice: string;
  /** Voice variant (espeak-ng-data/voices/!v), e.g. "f3" or "m3". */
  variant?: string | null;
  /** Words per minute (80–450); wins over ratePercent. */
  wpm?: number;
  /** Rate relative to eSpeak's normal 175 wpm: 100 is normal, 200 twice as fast. */
  ratePercent?: number;
  /** 0–99, default 50. */
  pitch?: number;
  /** Pitch range (intonation), 0–99, default 50. */
  range?: number;
  signal?: AbortSignal;
}

/** 16-bit signed PCM, mono. */
export interface Pcm {
  samples: Int16Array;
  sampleRate: number;
}

export interface Espeak {
  /** Synthesises text to mono 16-bit PCM, and names the eSpeak voice that spoke it. */
  synthesisePcm(text: string, options: SpeakOptions): Promise<Pcm & { voice: string }>;
  /** Synthesises text to a WAV file (16-bit PCM, mono). */
  synthesise(text: string, options: SpeakOptions): Promise<Buffer>;
  /** IPA phonemes of the text in the voice's language, one string per clause (for Piper voices). */
  phonemise(text: string, voice: string, signal?: AbortSignal): Promise<{ clauses: string[]; voice: string }>;
  close(): Promise<void>;
}

export const speakingRate = (options: Pick<SpeakOptions, 'wpm' | 'ratePercent'>): number => {
  const wpm = options.wpm ?? (ESPEAK_DEFAULT_WPM * (options.ratePercent ?? 100)) / 100;
  return Math.round(Math.min(ESPEAK_MAX_WPM, Math.max(ESPEAK_MIN_WPM, wpm)));
};

/**
 * A pool of eSpeak threads. Each idle thread holds about 100 MB (the WASM heap and voice data), so
 * threads end after idleTimeoutMs without work; a new one takes a fraction of a second to start.
 */
export function createEspeak(options: { threads?: number; idleTimeoutMs?: number } = {}): Espeak {
  const pool = new Piscina<SpeakTask, SpeakResult>({
    filename: new URL('./espeak.thread.ts', import.meta.url).href,
    minThreads: 0,
    maxThreads: Math.max(1, options.threads ?? Math.min(2, availableParallelism())),
    idleTimeout: options.idleTimeoutMs ?? 60_000,
  });

  const synthesisePcm: Espeak['synthesisePcm'] = async (text, opts) => {
    const task: SpeakTask = {
      text,
      voice: opts.voice,
      variant: opts.variant ?? null,
      wpm: speakingRate(opts),
      pitch: opts.pitch ?? 50,
      range: opts.range ?? 50,
    };
    // An abort while running ends that thread: eSpeak cannot be interrupted from outside it.
    const result = await pool.run(task, { signal: opts.signal ?? null });
    return { samples: result.samples, sampleRate: result.sampleRate, voice: result.voice };
  };

  return {
    synthesisePcm,
    synthesise: async (text, opts) => encodeWav(await synthesisePcm(text, opts)),
    phonemise: (text, voice, signal) => pool.run({ text, voice } as unknown as SpeakTask, { name: 'phonemise', signal: signal ?? null }) as unknown as Promise<{ clauses: string[]; voice: string }>,
    close: () => pool.destroy(),
  };
}

/** A canonical 44-byte-header WAV: PCM, 16-bit, mono. */
export function encodeWav({ samples, sampleRate }: Pcm): Buffer {
  const dataBytes = samples.length * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataBytes, 40);
  if (endianness() === 'LE') Buffer.from(samples.buffer, samples.byteOffset, dataBytes).copy(wav, 44);
  else for (let i = 0; i < samples.length; i++) wav.writeInt16LE(samples[i]!, 44 + i * 2);
  return wav;
}

/** Reads a 16-bit PCM WAV (any chunk order); several channels are averaged to mono. */
export function decodeWav(wav: Buffer): Pcm {
  if (wav.length < 12 || wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let format: { audioFormat: number; channels: number; sampleRate: number; bits: number } | undefined;
  for (let offset = 12; offset + 8 <= wav.length; ) {
    const id = wav.toString('ascii', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = {
        audioFormat: wav.readUInt16LE(body),
        channels: wav.readUInt16LE(body + 2),
        sampleRate: wav.readUInt32LE(body + 4),
        bits: wav.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data before its fmt chunk');
      if (format.audioFormat !== 1 || format.bits !== 16) throw new Error(`unsupported WAV: format ${format.audioFormat}, ${format.bits} bits`);
      const frames = Math.floor(Math.min(size, wav.length - body) / (2 * format.channels));
      const samples = new Int16Array(frames);
      for (let frame = 0; frame < frames; frame++) {
        let sum = 0;
        for (let channel = 0; channel < format.channels; channel++) sum += wav.readInt16LE(body + (frame * format.channels + channel) * 2);
        samples[frame] = Math.round(sum / format.channels);
      }
      return { samples, sampleRate: format.sampleRate };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV without a data chunk');
}

/** Root mean square of 16-bit samples (0 for silence, about 3000 for eSpeak speech). */
export function rms(samples: Int16Array): number {
  if (!samples.length) return 0;
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return Math.sqrt(sum / samples.length);
}

export const pcmDurationSeconds = ({ samples, sampleRate }: Pcm) => samples.length / sampleRate;
