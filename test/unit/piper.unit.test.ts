import { describe, expect, it } from 'vitest';
import { phonemeIds, toInt16, type PiperConfig } from '../../workers/engines/onnx/piper.pipeline.ts';

describe('Piper phoneme ids', () => {
  const config: PiperConfig = { phoneme_id_map: { _: [0], '^': [1], $: [2], ' ': [3], h: [20], ə: [59], l: [31], ˈ: [120], o: [27], ʊ: [100] } };

  it('wraps in BOS/EOS and pads after every known phoneme, as piper-phonemize', () => {
    expect(phonemeIds(config, 'həlˈoʊ')).toEqual([1, 0, 20, 0, 59, 0, 31, 0, 120, 0, 27, 0, 100, 0, 2]);
    // Unknown phonemes are dropped rather than failing the job.
    expect(phonemeIds(config, 'hx')).toEqual([1, 0, 20, 0, 2]);
  });

  it('joins sentences with silence, each peak-normalised to full scale (a near-silent one is not blown up)', () => {
    const pcm = toInt16([Float32Array.from([0.5, 2]), Float32Array.from([-0.25, 0.125]), Float32Array.from([0.001])], 2);
    expect(Array.from(pcm)).toEqual([8192, 32767, 0, 0, -32767, 16384, 0, 0, 3277]);
  });
});
