import { createEspeak, ESPEAK_DEFAULT_WPM, encodeWav, type Pcm, speakingRate } from '../../../src/media/espeak.tool.ts';
import { ffmpeg } from '../../../src/media/ffmpeg.tool.ts';
import { GENERATION_JOB_NAMES } from '../../../src/queue/queue.names.ts';
import type { SpeechJobInput } from '../../../src/services/generation.inputs.ts';
import { EMOTION_PROSODY, findVoice } from '../../../src/services/voice.catalog.ts';
import type { Engine } from '../../engine.types.ts';

/** Characters a chunk may hold: one eSpeak call, ~30 s of speech, well under a second of CPU. */
export const SPEECH_CHUNK_CHARS = 500;

/**
 * Speaks SPEECH jobs offline with eSpeak NG (WebAssembly, in worker threads). Long text is cut at
 * sentence ends into chunks that are spoken in parallel on the pool and joined in order.
 */
export function createBuiltinSpeechEngine(options: { threads: number }): Engine {
  const espeak = createEspeak({ threads: Math.max(1, Math.min(options.threads, 4)) });

  return {
    name: 'builtin',
    jobNames: [GENERATION_JOB_NAMES.SPEECH],
    async run(run) {
      const input = run.job.input as unknown as SpeechJobInput;
      const voice = findVoice(input.voiceId);
      if (!voice) throw new Error(`Unknown voiceId "${input.voiceId}"`);
      const prosody = EMOTION_PROSODY[input.emotion] ?? EMOTION_PROSODY.neutral!;
      const speak = {
        voice: voice.espeakVoice,
        variant: voice.espeakVariant,
        wpm: speakingRate({ wpm: ESPEAK_DEFAULT_WPM * prosody.rate * input.speed }),
        pitch: prosody.pitch,
        range: prosody.range,
      };
      const chunks = splitSpeechText(input.text, SPEECH_CHUNK_CHARS);
      if (!chunks.length) throw new Error('Nothing to speak: the text has no words');
      const steps = chunks.length + (input.format === 'mp3' ? 1 : 0);
      run.note(
        `Voice ${voice.id} (eSpeak ${speak.voice}+${speak.variant}), ${input.emotion}: ${speak.wpm} wpm, pitch ${speak.pitch}, range ${speak.range}; ${chunks.length} chunk(s)`,
      );

      // One failed chunk stops the others.
      const failed = new AbortController();
      const signal = AbortSignal.any([run.signal, failed.signal]);
      let done = 0;
      const pieces = await Promise.all(
        chunks.map(async (text) => {
          try {
            const pcm = await espeak.synthesisePcm(text, { ...speak, signal });
            done += 1;
            run.progress(done / steps, `Spoke chunk ${done}/${chunks.length}`);
            return pcm;
          } catch (error) {
            failed.abort(error);
            throw error;
          }
        }),
      );
      run.signal.throwIfAborted();
      const pcm = joinPcm(pieces);
      const durationSeconds = Math.round((pcm.samples.length / pcm.sampleRate) * 1000) / 1000;
      if (!pcm.samples.length) throw new Error('eSpeak NG produced no audio for this text');

      const wav = encodeWav(pcm);
      let asset;
      if (input.format === 'mp3') {
        const mp3 = await ffmpeg(['-f', 'wav', '-i', 'pipe:0', '-c:a', 'libmp3lame', '-b:a', '96k', '-f', 'mp3', 'pipe:1'], {
          input: wav,
          signal: run.signal,
        });
        run.progress(1, 'Encoded MP3');
        asset = await run.saveAsset({ kind: 'AUDIO', mime: 'audio/mpeg', extension: 'mp3', data: mp3, durationSeconds });
      } else {
        asset = await run.saveAsset({ kind: 'AUDIO', mime: 'audio/wav', extension: 'wav', data: wav, durationSeconds });
      }
      return { assets: [asset], extra: { voiceId: voice.id, sampleRate: pcm.sampleRate, durationSeconds } };
    },
    close: () => espeak.close(),
  };
}

/** Joins PCM pieces in order; they must share one sample rate. */
export function joinPcm(pieces: Pcm[]): Pcm {
  const sampleRate = pieces[0]?.sampleRate ?? 22050;
  const mismatch = pieces.find((p) => p.sampleRate !== sampleRate);
  if (mismatch) throw new Error(`eSpeak NG chunks disagree on sample rate (${sampleRate} and ${mismatch.sampleRate} Hz)`);
  const samples = new Int16Array(pieces.reduce((n, p) => n + p.samples.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    samples.set(piece.samples, offset);
    offset += piece.samples.length;
  }
  return { samples, sampleRate };
}

const sentences = new Intl.Segmenter(undefined, { granularity: 'sentence' });

/**
 * Cuts text into chunks of at most maxChars characters (code points): whole sentences where they fit,
 * else a long sentence at clause marks, then between words, and only a run with no spaces at all
 * (a long unbroken word, or Chinese without punctuation) is cut anywhere.
 */
export function splitSpeechText(text: string, maxChars = SPEECH_CHUNK_CHARS): string[] {
  const normalised = text.replace(/\r\n?/g, '\n').replace(/[ \t\f\v]+/g, ' ').trim();
  if (!normalised) return [];
  // A blank line or line break ends a sentence even without a full stop (titles, lists).
  const parts = normalised
    .split(/\n+/)
    .flatMap((line) => [...sentences.segment(line)].map((s) => s.segment))
    .flatMap((sentence) => cut(sentence.trim(), maxChars));
  return pack(parts, maxChars, ' ');
}

const length = (s: string) => [...s].length;

function cut(piece: string, maxChars: number): string[] {
  if (length(piece) <= maxChars) return piece ? [piece] : [];
  const clauses = piece.split(/(?<=[,;:，；：、—–])\s*/).filter(Boolean);
  if (clauses.length > 1) return pack(clauses.flatMap((c) => cut(c, maxChars)), maxChars, ' ');
  const words = piece.split(/\s+/).filter(Boolean);
  if (words.length > 1) return pack(words.flatMap((w) => cut(w, maxChars)), maxChars, ' ');
  const points = [...piece];
  const out: string[] = [];
  for (let i = 0; i < points.length; i += maxChars) out.push(points.slice(i, i + maxChars).join(''));
  return out;
}

/** Greedily joins pieces (each at most maxChars) into chunks of at most maxChars. */
function pack(pieces: string[], maxChars: number, joiner: string): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const piece of pieces) {
    const candidate = current ? current + joiner + piece : piece;
    if (length(candidate) <= maxChars) current = candidate;
    else {
      if (current) chunks.push(current);
      current = piece;
    }
  }
  if (current) chunks.push(current);
  return chunks;
}
