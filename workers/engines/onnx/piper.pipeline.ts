import * as ort from 'onnxruntime-node';
import { badInput } from '../../../src/services/errors.ts';
import type { Runner } from './sd.pipeline.ts';

/** The fields of a Piper voice's `.onnx.json` that synthesis reads. */
export interface PiperConfig {
  audio?: { sample_rate?: number };
  espeak?: { voice?: string };
  inference?: { noise_scale?: number; length_scale?: number; noise_w?: number };
  phoneme_id_map: Record<string, number[]>;
  /** Phonemes replaced by others before ids are looked up (piper-phonemize's phonemeMap). */
  phoneme_map?: Record<string, string[]>;
  num_speakers?: number;
  speaker_id_map?: Record<string, number>;
}

/** Piper's seconds of silence between sentences (sentence_silence). */
export const SENTENCE_SILENCE_SECONDS = 0.2;

/** Clause punctuation eSpeak reports as a terminator, which piper-phonemize writes back into the phonemes. */
const CLAUSE_END = /[.!?,;:]+(?=\s|$)/g;
const SENTENCE_END = new Set(['.', '!', '?']);

export interface Clause {
  text: string;
  /** The clause's punctuation (".", "?", "!", ",", ";", ":"), or "" for text that just ends. */
  terminator: string;
}

/** Text → clauses with their punctuation, as eSpeak splits them (punctuation followed by a space or the end). */
export function splitClauses(text: string): Clause[] {
  const clauses: Clause[] = [];
  let from = 0;
  for (const match of text.matchAll(CLAUSE_END)) {
    const clauseText = text.slice(from, match.index).trim();
    from = match.index + match[0].length;
    if (clauseText) clauses.push({ text: clauseText, terminator: match[0][0]! });
    else if (clauses.length) clauses.at(-1)!.terminator ||= match[0][0]!;
  }
  const rest = text.slice(from).trim();
  if (rest) clauses.push({ text: rest, terminator: '' });
  return clauses;
}

/**
 * Phonemised clauses → one phoneme string per sentence, as piper-phonemize builds them: each clause's
 * punctuation kept (a comma, colon or semicolon followed by a space), a sentence ending at ".", "?" or "!".
 */
export function sentencePhonemes(clauses: { phonemes: string; terminator: string }[]): string[] {
  const sentences: string[] = [];
  let current = '';
  for (const { phonemes, terminator } of clauses) {
    current += phonemes + terminator;
    if (SENTENCE_END.has(terminator)) {
      sentences.push(current);
      current = '';
    } else if (terminator) current += ' ';
  }
  if (current.trim()) sentences.push(current.trimEnd());
  return sentences;
}

/**
 * Phonemes → ids as piper-phonemize does: phoneme_map applied, then BOS "^", each phoneme (Unicode code point)
 * followed by the pad "_", then EOS "$". Phonemes the voice does not know are dropped.
 */
export function phonemeIds(config: PiperConfig, phonemes: string): number[] {
  const map = config.phoneme_id_map;
  const replace = config.phoneme_map ?? {};
  const pad = map._ ?? [0];
  const ids = [...(map['^'] ?? []), ...pad];
  for (const phoneme of phonemes.normalize('NFD')) {
    for (const mappedPhoneme of replace[phoneme] ?? [phoneme]) {
      const mapped = map[mappedPhoneme];
      if (mapped) ids.push(...mapped, ...pad);
    }
  }
  ids.push(...(map.$ ?? []));
  return ids;
}

/** The `sid` for a request: 0 for a single-speaker voice; a multi-speaker voice's id checked against its speakers. */
export function speakerIdFor(config: PiperConfig, voice: string, speakerId: number | null | undefined): number {
  const speakers = config.num_speakers ?? 1;
  if (speakerId == null) return 0;
  if (speakers <= 1 && speakerId !== 0) throw badInput(`Voice "${voice}" has a single speaker; leave speakerId out (or 0)`, { field: 'speakerId' });
  if (speakerId < 0 || speakerId >= speakers) {
    const named = Object.entries(config.speaker_id_map ?? {})
      .slice(0, 10)
      .map(([name, id]) => `${id} (${name})`)
      .join(', ');
    throw badInput(`Voice "${voice}" has speakers 0–${speakers - 1}${named ? `, e.g. ${named}` : ''}; got ${speakerId}`, { field: 'speakerId' });
  }
  return speakerId;
}

/** One sentence through the voice model: float samples at the voice's sample rate. */
export async function synthesiseIds(session: Runner, config: PiperConfig, ids: number[], speed: number, speakerId = 0): Promise<Float32Array> {
  const inference = config.inference ?? {};
  const feeds: Record<string, ort.Tensor> = {
    input: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
    input_lengths: new ort.Tensor('int64', BigInt64Array.from([BigInt(ids.length)]), [1]),
    // A higher length scale speaks slower, so speed divides it.
    scales: new ort.Tensor('float32', Float32Array.from([inference.noise_scale ?? 0.667, (inference.length_scale ?? 1) / speed, inference.noise_w ?? 0.8]), [3]),
  };
  if ((config.num_speakers ?? 1) > 1) feeds.sid = new ort.Tensor('int64', BigInt64Array.from([BigInt(speakerId)]), [1]);
  const out = await session.run(feeds);
  return (out.output ?? Object.values(out)[0])!.data as Float32Array;
}

/** Sentences → 16-bit PCM: each peak-normalised to full scale as Piper does (a near-silent one is not blown up), silence between. */
export function toInt16(sentences: Float32Array[], silenceSamples: number): Int16Array {
  const total = sentences.reduce((sum, s) => sum + s.length, 0) + silenceSamples * Math.max(0, sentences.length - 1);
  const out = new Int16Array(total);
  let offset = 0;
  sentences.forEach((chunk, index) => {
    if (index > 0) offset += silenceSamples;
    let peak = 0;
    for (let i = 0; i < chunk.length; i++) peak = Math.max(peak, Math.abs(chunk[i]!));
    const scale = 32767 / Math.max(0.01, peak);
    for (let i = 0; i < chunk.length; i++) out[offset + i] = Math.round(Math.max(-32767, Math.min(32767, chunk[i]! * scale)));
    offset += chunk.length;
  });
  return out;
}
