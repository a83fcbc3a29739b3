import { afterAll, describe, expect, it } from 'vitest';
import { createEspeak, decodeWav, encodeWav, type Pcm, rms, speakingRate } from '../../src/media/espeak.tool.ts';
import { BUILTIN_VOICES } from '../../src/services/voice.catalog.ts';
import { GENERATION_JOB_NAMES } from '../../src/queue/queue.names.ts';
import type { EngineRun } from '../../workers/engine.types.ts';
import { createBuiltinSpeechEngine, joinPcm, SPEECH_CHUNK_CHARS, splitSpeechText } from '../../workers/engines/builtin/speech.engine.ts';
import type { Job } from '../../src/db/entities/job.entity.ts';
import type { NewAsset } from '../../src/services/job-lifecycle.service.ts';
import type { SpeechJobInput } from '../../src/services/generation.inputs.ts';

const espeak = createEspeak({ threads: 2 });
afterAll(() => espeak.close());

const seconds = (pcm: Pcm) => pcm.samples.length / pcm.sampleRate;

/** Median fundamental frequency over voiced 40 ms frames, by normalised autocorrelation (60–400 Hz). */
function medianF0({ samples, sampleRate }: Pcm): number {
  const frame = Math.round(sampleRate * 0.04);
  const minLag = Math.round(sampleRate / 400);
  const maxLag = Math.round(sampleRate / 60);
  const estimates: number[] = [];
  for (let start = 0; start + frame + maxLag < samples.length; start += frame) {
    const window = samples.subarray(start, start + frame + maxLag);
    if (rms(window.subarray(0, frame)) < 1000) continue;
    let best = 0;
    let bestLag = 0;
    for (let lag = minLag; lag <= maxLag; lag++) {
      let dot = 0;
      let a = 0;
      let b = 0;
      for (let i = 0; i < frame; i++) {
        dot += window[i]! * window[i + lag]!;
        a += window[i]! * window[i]!;
        b += window[i + lag]! * window[i + lag]!;
      }
      const r = dot / Math.sqrt(a * b || 1);
      if (r > best) {
        best = r;
        bestLag = lag;
      }
    }
    if (best > 0.6) estimates.push(sampleRate / bestLag);
  }
  estimates.sort((x, y) => x - y);
  return estimates[Math.floor(estimates.length / 2)] ?? 0;
}

describe('eSpeak NG tool', () => {
  it('writes a 16-bit mono PCM WAV whose header matches its data, with audible speech', async () => {
    const wav = await espeak.synthesise('Olá, bem-vindo ao Atelier.', { voice: 'pt-br', variant: 'f3' });
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.toString('ascii', 8, 16)).toBe('WAVEfmt ');
    expect(wav.readUInt16LE(20)).toBe(1); // PCM
    expect(wav.readUInt16LE(22)).toBe(1); // mono
    const sampleRate = wav.readUInt32LE(24);
    expect(sampleRate).toBe(22050);
    expect(wav.readUInt32LE(28)).toBe(sampleRate * 2);
    expect(wav.readUInt16LE(34)).toBe(16);
    expect(wav.toString('ascii', 36, 40)).toBe('data');
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);

    const pcm = decodeWav(wav);
    expect(seconds(pcm)).toBeGreaterThan(0.8);
    expect(seconds(pcm)).toBeLessThan(5);
    expect(rms(pcm.samples)).toBeGreaterThan(1000);
    // Speech, not a constant or a click: many distinct sample values.
    expect(new Set(pcm.samples).size).toBeGreaterThan(1000);
  });

  it('takes longer to say more words', async () => {
    const short = await espeak.synthesisePcm('The river is wide.', { voice: 'en-us' });
    const long = await espeak.synthesisePcm('The river is wide, and the bridge across it is old, narrow and very long indeed.', { voice: 'en-us' });
    expect(seconds(long)).toBeGreaterThan(seconds(short) * 2);
  });

  it('speaks faster at a higher rate', async () => {
    const text = 'Speaking rate changes how long this sentence takes to say.';
    const fast = await espeak.synthesisePcm(text, { voice: 'en-us', ratePercent: 200 });
    const normal = await espeak.synthesisePcm(text, { voice: 'en-us', ratePercent: 100 });
    const slow = await espeak.synthesisePcm(text, { voice: 'en-us', ratePercent: 50 });
    expect(seconds(fast)).toBeLessThan(seconds(normal) * 0.75);
    expect(seconds(slow)).toBeGreaterThan(seconds(normal) * 1.4);
    expect(seconds(fast)).toBeLessThan(seconds(slow) * 0.4);
    expect(speakingRate({ ratePercent: 1000 })).toBe(450);
    expect(speakingRate({ wpm: 10 })).toBe(80);
  });

  it('speaks a female variant and a higher pitch higher', async () => {
    const text = 'Hello there, how are you doing today?';
    const female = medianF0(await espeak.synthesisePcm(text, { voice: 'en-us', variant: 'f3' }));
    const male = medianF0(await espeak.synthesisePcm(text, { voice: 'en-us', variant: 'm3' }));
    expect(male).toBeGreaterThan(60);
    expect(female).toBeGreaterThan(male * 1.3);
    const high = medianF0(await espeak.synthesisePcm(text, { voice: 'en-us', variant: 'm3', pitch: 90 }));
    const low = medianF0(await espeak.synthesisePcm(text, { voice: 'en-us', variant: 'm3', pitch: 10 }));
    expect(high).toBeGreaterThan(low * 1.2);
  });

  it('speaks each language in its own voice', async () => {
    const text = 'Bom dia, como vai você?';
    const pt = await espeak.synthesisePcm(text, { voice: 'pt-br', variant: 'f3' });
    const en = await espeak.synthesisePcm(text, { voice: 'en-us', variant: 'f3' });
    expect(pt.voice).toBe('roa/pt-BR+f3');
    expect(en.voice).toBe('gmw/en-US+f3');
    // Same text, other pronunciation rules: the lengths differ clearly.
    expect(Math.abs(seconds(pt) - seconds(en)) / seconds(pt)).toBeGreaterThan(0.05);
  });

  it('finds an eSpeak voice for every catalog voice, by name or by language', async () => {
    const expected: Record<string, string> = {
      'pt-br': 'roa/pt-BR',
      pt: 'roa/pt',
      'en-us': 'gmw/en-US',
      'en-gb': 'gmw/en',
      es: 'roa/es',
      fr: 'roa/fr',
      de: 'gmw/de',
      it: 'roa/it',
      ru: 'zle/ru',
      cmn: 'sit/cmn',
    };
    for (const voice of BUILTIN_VOICES) {
      const pcm = await espeak.synthesisePcm('1 2 3', { voice: voice.espeakVoice, variant: voice.espeakVariant });
      expect(pcm.voice, voice.id).toBe(`${expected[voice.espeakVoice]}+${voice.espeakVariant}`);
      expect(rms(pcm.samples), voice.id).toBeGreaterThan(500);
    }
  });

  it('refuses unknown voices and variants instead of falling back to another', async () => {
    await expect(espeak.synthesisePcm('hi', { voice: 'xx-nowhere' })).rejects.toThrow(/no voice or language "xx-nowhere"/);
    await expect(espeak.synthesisePcm('hi', { voice: 'en-us', variant: 'nobody' })).rejects.toThrow(/no voice variant "nobody"/);
    await expect(espeak.synthesisePcm('hi', { voice: 'en-us', variant: '../../phontab' })).rejects.toThrow(/no voice variant/);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    // The thread pool answers an abort with its AbortError (not some other failure, such as a missing voice).
    await expect(espeak.synthesisePcm('This is never spoken.', { voice: 'en-us', signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('round-trips PCM through WAV', () => {
    const samples = Int16Array.from({ length: 1000 }, (_, i) => Math.round(Math.sin(i / 5) * 20000));
    const back = decodeWav(encodeWav({ samples, sampleRate: 16000 }));
    expect(back.sampleRate).toBe(16000);
    expect([...back.samples]).toEqual([...samples]);
    expect(() => decodeWav(Buffer.from('not a wav file at all'))).toThrow(/RIFF/);
  });
});

describe('speech text chunks', () => {
  const words = (s: string) => s.split(/\s+/).filter(Boolean);

  it('keeps short text as one chunk and packs whole sentences', () => {
    expect(splitSpeechText('  Olá, bem-vindo ao Atelier.  ')).toEqual(['Olá, bem-vindo ao Atelier.']);
    expect(splitSpeechText(' \n\t ')).toEqual([]);
    const sentence = 'This sentence has exactly fifty characters in it. ';
    const chunks = splitSpeechText(sentence.repeat(25), 120);
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(120);
      expect(chunk.endsWith('.')).toBe(true);
    }
  });

  it('cuts long sentences at clauses, then words, then anywhere, losing nothing', () => {
    const text = `${'one, two, three; '.repeat(60)}done. ${'x'.repeat(1100)} ${'palavra '.repeat(150)}fim.`;
    const chunks = splitSpeechText(text);
    for (const chunk of chunks) expect([...chunk].length).toBeLessThanOrEqual(SPEECH_CHUNK_CHARS);
    expect(chunks.join('').replace(/\s+/g, '')).toBe(text.replace(/\s+/g, ''));
    expect(words(chunks.join(' ')).filter((w) => w === 'palavra')).toHaveLength(150);
    expect(chunks.some((c) => /^x{500}$/.test(c))).toBe(true);
    // Clause cuts fall after a comma or semicolon, not inside a word.
    const clauseChunks = chunks.filter((c) => c.includes('three'));
    expect(clauseChunks.length).toBeGreaterThan(2);
    expect(clauseChunks.at(-1)).toMatch(/done\.$/);
    for (const chunk of clauseChunks.slice(0, -1)) expect(chunk).toMatch(/[,;]$/);
  });

  it('does not split characters outside the basic plane', () => {
    const chunks = splitSpeechText('😀'.repeat(700), 500);
    expect(chunks.map((c) => [...c].length)).toEqual([500, 200]);
  });

  it('joins PCM in order and refuses mixed sample rates', () => {
    const a = { samples: Int16Array.of(1, 2), sampleRate: 22050 };
    const b = { samples: Int16Array.of(3), sampleRate: 22050 };
    expect([...joinPcm([a, b]).samples]).toEqual([1, 2, 3]);
    expect(() => joinPcm([a, { samples: Int16Array.of(3), sampleRate: 16000 }])).toThrow(/sample rate/);
  });
});

describe('builtin speech engine', () => {
  const engine = createBuiltinSpeechEngine({ threads: 2 });
  afterAll(() => engine.close?.());

  /** The engine's side of a run, kept in memory: what it reports and saves. */
  function fakeRun(input: Partial<SpeechJobInput>, signal = new AbortController().signal) {
    const progress: [number, string][] = [];
    const saved: NewAsset[] = [];
    const run = {
      job: { input: { text: 'Olá.', voiceId: 'pt_br_female', emotion: 'neutral', speed: 1, format: 'wav', ...input } } as unknown as Job,
      signal,
      progress: (fraction: number, message: string) => progress.push([fraction, message]),
      note: () => undefined,
      saveAsset: async (asset: NewAsset) => {
        saved.push(asset);
        return { id: `asset-${saved.length}` };
      },
    } as unknown as EngineRun;
    return { run, progress, saved };
  }

  it('claims SPEECH jobs only', () => {
    expect(engine.jobNames).toEqual([GENERATION_JOB_NAMES.SPEECH]);
  });

  it('reports one step per chunk and saves one WAV holding them all', async () => {
    const text = 'Cada pedaço deste texto é falado sozinho e depois juntado aos outros. '.repeat(12);
    const chunks = splitSpeechText(text).length;
    expect(chunks).toBeGreaterThan(1);
    const { run, progress, saved } = fakeRun({ text });
    const output = await engine.run(run);
    expect(progress.map(([f]) => f)).toEqual(Array.from({ length: chunks }, (_, i) => (i + 1) / chunks));
    expect(saved).toHaveLength(1);
    const asset = saved[0]!;
    expect(asset).toMatchObject({ kind: 'AUDIO', mime: 'audio/wav', extension: 'wav' });
    const pcm = decodeWav(asset.data);
    expect(pcm.samples.length / pcm.sampleRate).toBeCloseTo(asset.durationSeconds!, 2);
    expect(output.extra).toEqual({ voiceId: 'pt_br_female', sampleRate: 22050, durationSeconds: asset.durationSeconds });
    // ~130 words at 175 wpm, plus pauses.
    expect(asset.durationSeconds).toBeGreaterThan(30);
    expect(rms(pcm.samples)).toBeGreaterThan(1000);
  });

  it('encodes MP3 as a last step', async () => {
    const { run, progress, saved } = fakeRun({ text: 'Hello there.', voiceId: 'en_us_male', format: 'mp3' });
    await engine.run(run);
    expect(progress.map(([f]) => f)).toEqual([0.5, 1]);
    expect(saved[0]).toMatchObject({ kind: 'AUDIO', mime: 'audio/mpeg', extension: 'mp3' });
    // An MPEG audio frame header (or an ID3 tag) opens the file.
    const head = saved[0]!.data;
    expect(head.toString('ascii', 0, 3) === 'ID3' || (head[0] === 0xff && (head[1]! & 0xe0) === 0xe0)).toBe(true);
  });

  it('stops when the job is cancelled and keeps working for the next job', async () => {
    const controller = new AbortController();
    const { run, saved } = fakeRun({ text: 'This text is long enough to be spoken in several chunks. '.repeat(40) }, controller.signal);
    const running = engine.run(run);
    controller.abort(new Error('Job cancelled'));
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(saved).toHaveLength(0);

    const next = fakeRun({ text: 'Still here.', voiceId: 'en_gb_female' });
    await engine.run(next.run);
    expect(next.saved).toHaveLength(1);
  });
});
