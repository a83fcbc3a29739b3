import * as ort from 'onnxruntime-node';
import type { Runner } from './sd.pipeline.ts';

/** The fields of a Piper voice's `.onnx.json` that synthesis reads. */
export interface PiperConfig {
  audio?: { sample_rate?: number };
  espeak?: { voice?: string };
  inference?: { noise_scale?: number; length_scale?: number; noise_w?: number };
  phoneme_id_map: Record<string, number[]>;
  num_speakers?: number;
}

/**
 * Phonemes → ids as piper-phonemize does: BOS "^", then each phoneme (Unicode code point) followed by the
 * pad "_", then EOS "$". Phonemes the voice does not know are dropped.
 */
export function phonemeIds(config: PiperConfig, phonemes: string): number[] {
  const map = config.phoneme_id_map;
  const pad = map._ ?? [0];
  const ids = [...(map['^'] ?? []), ...pad];
  for (const phoneme of phonemes.normalize('NFD')) {
    const mapped = map[phoneme];
    if (mapped) ids.push(...mapped, ...pad);
  }
  ids.push(...(map.$ ?? []));
  return ids;
}

/** One clause through the voice model: float samples in [-1, 1] at the voice's sample rate. */
export async function synthesiseIds(session: Runner, config: PiperConfig, ids: number[], speed: number): Promise<Float32Array> {
  const inference = config.inference ?? {};
  const feeds: Record<string, ort.Tensor> = {
    input: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
    input_lengths: new ort.Tensor('int64', BigInt64Array.from([BigInt(ids.length)]), [1]),
    // A higher length scale speaks slower, so speed divides it.
    scales: new ort.Tensor('float32', Float32Array.from([inference.noise_scale ?? 0.667, (inference.length_scale ?? 1) / speed, inference.noise_w ?? 0.8]), [3]),
  };
  if ((config.num_speakers ?? 1) > 1) feeds.sid = new ort.Tensor('int64', BigInt64Array.from([0n]), [1]);
  const out = await session.run(feeds);
  return (out.output ?? Object.values(out)[0])!.data as Float32Array;
}

export function toInt16(samples: Float32Array[], silenceSamples: number): Int16Array {
  const total = samples.reduce((sum, s) => sum + s.length, 0) + silenceSamples * Math.max(0, samples.length - 1);
  const out = new Int16Array(total);
  let offset = 0;
  samples.forEach((chunk, index) => {
    if (index > 0) offset += silenceSamples;
    for (let i = 0; i < chunk.length; i++) out[offset + i] = Math.round(Math.max(-1, Math.min(1, chunk[i]!)) * 32767);
    offset += chunk.length;
  });
  return out;
}
