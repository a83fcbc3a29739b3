import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { ffmpeg, ffprobe } from '../../src/media/ffmpeg.tool.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const SYNTHESIZE = /* GraphQL */ `
  mutation E2ESynthesizeSpeech($input: SynthesizeSpeechInput!) {
    synthesizeSpeech(input: $input) { id status kind }
  }
`;

const JOB = /* GraphQL */ `
  query E2ESpeechJob($id: ID!) {
    job(id: $id) {
      id status progress result stepDurationsMs engine
      error { code message }
      assets { id kind mime url durationSeconds }
    }
  }
`;

const VOICES = /* GraphQL */ `
  query E2EVoices { voices { id name language gender engine } }
`;

interface JobView {
  id: string;
  status: string;
  progress: number;
  result: { voiceId: string; sampleRate: number; durationSeconds: number; urls: string[] } | null;
  stepDurationsMs: number[] | null;
  engine: string | null;
  error: { code: string; message: string } | null;
  assets: { id: string; kind: string; mime: string; url: string; durationSeconds: number | null }[];
}

interface Decoded {
  codec: string;
  sampleRate: number;
  channels: number;
  duration: number;
  rms: number;
}

const wordCount = (text: string) => text.split(/\s+/).filter(Boolean).length;

describe('speech synthesis end to end', () => {
  // Long texts here run past the default max_duration (60 s of speech is ~900 characters); quotas have their own tests.
  const env = testEnv({ QUOTA_MAX_DURATION_SECONDS: '600' });
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let scratch: string;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
    scratch = mkdtempSync(path.join(tmpdir(), 'atelier-speech-'));
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function submit(input: Record<string, unknown>) {
    const response = await gql<{ synthesizeSpeech: { id: string; status: string; kind: string } }, unknown>(
      system.url,
      SYNTHESIZE,
      { input },
      user.token,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data!.synthesizeSpeech).toMatchObject({ status: 'QUEUED', kind: 'SPEECH' });
    return response.data!.synthesizeSpeech.id;
  }

  async function finished(id: string, timeoutMs = 60_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await gql<{ job: JobView }, unknown>(system.url, JOB, { id }, user.token);
      expect(response.errors).toBeUndefined();
      const job = response.data!.job;
      if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  async function completed(input: Record<string, unknown>): Promise<JobView> {
    const job = await finished(await submit(input));
    expect(job.error).toBeNull();
    expect(job.status).toBe('COMPLETED');
    expect(job.progress).toBe(100);
    expect(job.assets).toHaveLength(1);
    expect(job.result!.urls).toEqual([job.assets[0]!.url]);
    return job;
  }

  /** Downloads the job's audio with the bearer token, then lets ffprobe and ffmpeg read it as a stranger would. */
  async function download(job: JobView, expectedType: string): Promise<Decoded> {
    const response = await fetch(job.result!.urls[0]!, { headers: { authorization: `Bearer ${user.token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(expectedType);
    const data = Buffer.from(await response.arrayBuffer());
    const file = path.join(scratch, `${job.id}.${expectedType === 'audio/wav' ? 'wav' : 'mp3'}`);
    writeFileSync(file, data);

    const probe = await ffprobe(file);
    expect(probe.streams).toHaveLength(1);
    const stream = probe.streams[0]!;
    expect(stream.codec_type).toBe('audio');
    const pcm = await ffmpeg(['-i', file, '-f', 's16le', '-ac', '1', '-ar', '22050', 'pipe:1']);
    let sum = 0;
    for (let i = 0; i + 1 < pcm.length; i += 2) sum += pcm.readInt16LE(i) ** 2;
    return {
      codec: stream.codec_name,
      sampleRate: Number(stream.sample_rate),
      channels: stream.channels ?? 0,
      duration: Number(probe.format.duration),
      rms: Math.sqrt(sum / Math.max(1, pcm.length / 2)),
    };
  }

  it('speaks Portuguese as a WAV that decodes to audible speech of the right length', async () => {
    const job = await completed({ text: 'Olá, bem-vindo ao Atelier.', voiceId: 'pt_br_female' });
    expect(job.engine).toBe('builtin');
    expect(job.result).toMatchObject({ voiceId: 'pt_br_female', sampleRate: 22050 });
    const { durationSeconds } = job.result!;
    expect(durationSeconds).toBeGreaterThan(0.5);
    expect(durationSeconds).toBeLessThan(10);
    expect(job.assets[0]).toMatchObject({ kind: 'AUDIO', mime: 'audio/wav' });
    expect(job.assets[0]!.durationSeconds).toBeCloseTo(durationSeconds, 2);

    const audio = await download(job, 'audio/wav');
    expect(audio).toMatchObject({ codec: 'pcm_s16le', sampleRate: 22050, channels: 1 });
    expect(audio.duration).toBeCloseTo(durationSeconds, 2);
    expect(audio.rms).toBeGreaterThan(1000);

    const anonymous = await fetch(job.result!.urls[0]!.split('?')[0]!);
    expect(anonymous.status).toBe(401);
  });

  it('speaks English as an MP3, longer for more words', async () => {
    const short = 'Good morning.';
    const long = 'Good morning, and welcome to the studio where every picture, film and voice is made on this machine.';
    const [shortJob, longJob] = await Promise.all([
      completed({ text: short, voiceId: 'en_us_male', format: 'MP3' }),
      completed({ text: long, voiceId: 'en_us_male', format: 'MP3' }),
    ]);
    for (const job of [shortJob, longJob]) {
      expect(job.assets[0]).toMatchObject({ kind: 'AUDIO', mime: 'audio/mpeg' });
      expect(job.result).toMatchObject({ voiceId: 'en_us_male', sampleRate: 22050 });
    }

    const shortAudio = await download(shortJob, 'audio/mpeg');
    const longAudio = await download(longJob, 'audio/mpeg');
    for (const [job, audio] of [
      [shortJob, shortAudio],
      [longJob, longAudio],
    ] as const) {
      expect(audio).toMatchObject({ codec: 'mp3', sampleRate: 22050, channels: 1 });
      // The encoder adds at most a frame or two of padding.
      expect(Math.abs(audio.duration - job.result!.durationSeconds)).toBeLessThan(0.15);
      expect(audio.rms).toBeGreaterThan(1000);
    }
    expect(shortAudio.duration).toBeGreaterThan(0.4);
    expect(longAudio.duration).toBeLessThan(15);
    // About as much longer as there are more words (eSpeak adds a fixed pause at the end).
    const ratio = longAudio.duration / shortAudio.duration;
    const words = wordCount(long) / wordCount(short);
    expect(ratio).toBeGreaterThan(words / 3);
    expect(ratio).toBeLessThan(words * 1.5);
  });

  it('speaks faster at speed 2.0 than at 0.5, and sad slower than excited', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const [fast, slow, excited, sad] = await Promise.all([
      completed({ text, voiceId: 'en_gb_female', speed: 2 }),
      completed({ text, voiceId: 'en_gb_female', speed: 0.5 }),
      completed({ text, voiceId: 'en_gb_female', emotion: 'EXCITED' }),
      completed({ text, voiceId: 'en_gb_female', emotion: 'SAD' }),
    ]);
    expect(fast.result!.durationSeconds).toBeLessThan(slow.result!.durationSeconds * 0.4);
    expect(excited.result!.durationSeconds).toBeLessThan(sad.result!.durationSeconds * 0.85);
  });

  it('speaks long text in chunks, one progress step each, joined into one file', async () => {
    const sentence = 'Every chunk of this text is spoken on its own and then joined to the others in order. ';
    const text = sentence.repeat(14); // ~1200 characters: three chunks of at most 500
    const job = await completed({ text, voiceId: 'es_male' });
    expect(job.stepDurationsMs).toHaveLength(3);
    // ~240 words at 175 words a minute.
    expect(job.result!.durationSeconds).toBeGreaterThan(50);
    expect(job.result!.durationSeconds).toBeLessThan(150);
    const audio = await download(job, 'audio/wav');
    expect(audio.duration).toBeCloseTo(job.result!.durationSeconds, 2);
    expect(audio.rms).toBeGreaterThan(1000);
  });

  it('lists the voices, Brazilian Portuguese among them', async () => {
    const response = await gql<{ voices: { id: string; name: string; language: string; gender: string; engine: string }[] }, unknown>(
      system.url,
      VOICES,
      undefined,
      user.token,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data!.voices).toContainEqual({
      id: 'pt_br_female',
      name: 'Português (Brasil), feminina',
      language: 'pt-BR',
      gender: 'female',
      engine: 'builtin',
    });
    expect(response.data!.voices.map((v) => v.id)).toContain('en_us_female');
  });

  it('refuses an unknown voice, naming the available ones, and empty text', async () => {
    const unknown = await gql<unknown, unknown>(system.url, SYNTHESIZE, { input: { text: 'Olá', voiceId: 'klingon_male' } }, user.token);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(unknown.errors![0]!.message).toContain('klingon_male');
    expect(unknown.errors![0]!.message).toContain('pt_br_female');
    expect(unknown.errors![0]!.message).toContain('en_us_female');

    const empty = await gql<unknown, unknown>(system.url, SYNTHESIZE, { input: { text: '   ', voiceId: 'pt_br_female' } }, user.token);
    expect(empty.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(empty.errors![0]!.message).toMatch(/text/i);
  });
});
