import { describe, expect, it } from 'vitest';
import { phonemeIds, toInt16, type PiperConfig } from '../../workers/engines/onnx/piper.pipeline.ts';

describe('Piper phoneme ids', () => {
  const config: PiperConfig = { phoneme_id_map: { _: [0], '^': [1], $: [2], ' ': [3], h: [20], ə: [59], l: [31], ˈ: [120], o: [27], ʊ: [100] } };

  it('wraps in BOS/EOS and pads after every known phoneme, as piper-phonemize', () => {
    expect(phonemeIds(config, 'həlˈoʊ')).toEqual([1, 0, 20, 0, 59, 0, 31, 0, 120, 0, 27, 0, 100, 0, 2]);
    // Unknown phonemes are dropped rather than failing the job.
    expect(phonemeIds(config, 'hx')).toEqual([1, 0, 20, 0, 2]);
  });

  it('joins clauses with silence and clips to 16-bit', () => {
    const pcm = toInt16([Float32Array.from([0.5, 2]), Float32Array.from([-1])], 2);
    expect(Array.from(pcm)).toEqual([16384, 32767, 0, 0, -32767]);
  });
});
