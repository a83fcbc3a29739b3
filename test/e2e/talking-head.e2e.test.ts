import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Asset, type AssetKind } from '../../src/db/entities/asset.entity.ts';
import { User } from '../../src/db/entities/user.entity.ts';
import { ffmpeg, ffprobe } from '../../src/media/ffmpeg.tool.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { collect, gql, wsClient } from '../helpers/graphql.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const GENERATE_TALKING_HEAD = /* GraphQL */ `
  mutation E2EGenerateTalkingHead($input: GenerateTalkingHeadInput!) {
    generateTalkingHead(input: $input) { id status kind input }
  }
`;

const JOB_PROGRESS = /* GraphQL */ `
  subscription E2ETalkingHeadProgress($id: ID!) {
    jobProgress(id: $id) { jobId status progress result error { code message } }
  }
`;

const JOB = /* GraphQL */ `
  query E2ETalkingHeadJob($id: ID!) {
    job(id: $id) { id status stepDurationsMs assets { id kind mime url width height durationSeconds } }
  }
`;

interface Result {
  urls: string[];
  assetIds: string[];
  posterAssetId: string;
  frames: number;
  fps: number;
  durationSeconds: number;
  audioDurationSeconds: number;
  guidanceScale: number;
  inferenceSteps: number;
}

interface JobEvent {
  jobId: string;
  status: string;
  progress: number;
  result: Result | null;
  error: { code: string; message: string } | null;
}

const WIDTH = 160;
const HEIGHT = 200;
const FPS = 25;
/** The audio's length: 1.6 s, i.e. 40 frames at 25 fps. */
const SECONDS = 1.6;

/** A flat face on a flat background, with a lip line where the engine assumes the mouth is (70 % down). */
const portraitSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">
  <rect width="100%" height="100%" fill="#6080a0"/>
  <ellipse cx="80" cy="90" rx="56" ry="82" fill="#f0c8a0"/>
  <rect x="56" y="138" width="48" height="4" fill="#a03030"/>
</svg>`;

describe('builtin talking head end to end', () => {
  const env = testEnv();
  const dir = env.DATA_DIR!;
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let portraitId: string;
  let wavId: string;
  let mp3Id: string;

  /** What an upload will do: the bytes in storage and an Asset row owned by the user. */
  async function storeAsset(kind: AssetKind, mime: string, extension: string, data: Buffer, extra: { width?: number; height?: number; durationSeconds?: number } = {}) {
    const em = core.orm.em.fork();
    const asset = em.create(Asset, {
      kind,
      mime,
      bytes: data.byteLength,
      sha256: createHash('sha256').update(data).digest('hex'),
      width: extra.width ?? null,
      height: extra.height ?? null,
      durationSeconds: extra.durationSeconds ?? null,
      storageKey: '',
      owner: em.getReference(User, user.id),
      job: null,
      filename: `upload.${extension}`,
    });
    asset.storageKey = `uploads/${user.id}/${asset.id}.${extension}`;
    await core.storage.put(asset.storageKey, data);
    await em.flush();
    return asset.id;
  }

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    const [started] = await Promise.all([
      startSystem(env),
      (async () => {
        const png = await sharp(Buffer.from(portraitSvg)).png().toBuffer();
        // A 220 Hz tone whose loudness swells and fades twice a second: loud at 0.25 s, silent at 0.5 s.
        const wavFile = path.join(dir, 'voice.wav');
        const mp3File = path.join(dir, 'voice.mp3');
        await ffmpeg(['-y', '-f', 'lavfi', '-i', `aevalsrc=0.6*sin(2*PI*220*t)*(0.5-0.5*cos(2*PI*2*t)):s=22050:d=${SECONDS}`, '-c:a', 'pcm_s16le', wavFile]);
        await ffmpeg(['-y', '-i', wavFile, '-c:a', 'libmp3lame', '-b:a', '64k', mp3File]);
        portraitId = await storeAsset('IMAGE', 'image/png', 'png', png, { width: WIDTH, height: HEIGHT });
        wavId = await storeAsset('AUDIO', 'audio/wav', 'wav', readFileSync(wavFile), { durationSeconds: SECONDS });
        mp3Id = await storeAsset('AUDIO', 'audio/mpeg', 'mp3', readFileSync(mp3File), { durationSeconds: SECONDS });
      })(),
    ]);
    system = started;
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  async function generate(audioAssetId: string) {
    const submitted = await gql<{ generateTalkingHead: { id: string; status: string; input: { fps: number; guidanceScale: number } } }, unknown>(
      system.url,
      GENERATE_TALKING_HEAD,
      { input: { imageAssetId: portraitId, audioAssetId, fps: FPS } },
      user.token,
    );
    expect(submitted.errors).toBeUndefined();
    const id = submitted.data!.generateTalkingHead.id;
    const client = wsClient(system.wsUrl, user.token);
    try {
      const { done } = collect<{ jobProgress: JobEvent }>(client, JOB_PROGRESS, { id });
      return { id, events: (await done).map((e) => e.jobProgress) };
    } finally {
      await client.dispose();
    }
  }

  async function download(url: string, name: string) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${user.token}` } });
    expect(response.status).toBe(200);
    const file = path.join(dir, name);
    writeFileSync(file, Buffer.from(await response.arrayBuffer()));
    return { file, type: response.headers.get('content-type') };
  }

  /** One decoded frame of the video as RGB. */
  const frameAt = (file: string, index: number) =>
    ffmpeg(['-i', file, '-vf', `select=eq(n\\,${index})`, '-vsync', '0', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);

  /** Mean absolute difference of two frames inside a box given in fractions of the picture. */
  function boxDiff(a: Buffer, b: Buffer, box: { x0: number; x1: number; y0: number; y1: number }) {
    let sum = 0;
    let n = 0;
    for (let y = Math.round(box.y0 * HEIGHT); y < Math.round(box.y1 * HEIGHT); y++)
      for (let x = Math.round(box.x0 * WIDTH); x < Math.round(box.x1 * WIDTH); x++)
        for (let c = 0; c < 3; c++, n++) sum += Math.abs(a[(y * WIDTH + x) * 3 + c]! - b[(y * WIDTH + x) * 3 + c]!);
    return sum / n;
  }

  async function checkVideo(result: Result, name: string) {
    const video = await download(result.urls[0]!, `${name}.mp4`);
    expect(video.type).toBe('video/mp4');
    const probed = await ffprobe(video.file, ['-count_frames']);
    const videoStream = probed.streams.find((s) => s.codec_type === 'video');
    const audioStream = probed.streams.find((s) => s.codec_type === 'audio');
    expect(videoStream).toMatchObject({ codec_name: 'h264', width: WIDTH, height: HEIGHT, r_frame_rate: `${FPS}/1` });
    expect(Number((videoStream as { nb_read_frames?: string }).nb_read_frames)).toBe(Math.ceil(SECONDS * FPS));
    expect(audioStream).toMatchObject({ codec_name: 'aac' });
    expect(Math.abs(Number(probed.format.duration) - SECONDS)).toBeLessThanOrEqual(1 / FPS);
    expect(Math.abs(Number(audioStream!.duration) - SECONDS)).toBeLessThanOrEqual(1 / FPS);
    return video.file;
  }

  it('animates a portrait with a WAV: H.264 + AAC MP4 as long as the audio, the mouth moving with loudness', async () => {
    const { id, events } = await generate(wavId);
    const final = events.at(-1)!;
    expect(final.error).toBeNull();
    expect(final.status).toBe('COMPLETED');
    expect(final.progress).toBe(100);
    const progress = events.map((e) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const result = final.result!;
    expect(result).toMatchObject({ frames: 40, fps: FPS, durationSeconds: SECONDS, guidanceScale: 3.5, inferenceSteps: 40 });
    expect(result.audioDurationSeconds).toBeCloseTo(SECONDS, 3);

    const file = await checkVideo(result, 'wav-head');
    // Frame 6 (0.24–0.28 s) is loud, frame 12 (0.48–0.52 s) nearly silent: the mouth differs, the forehead does not.
    const loud = await frameAt(file, 6);
    const quiet = await frameAt(file, 12);
    expect(loud.length).toBe(WIDTH * HEIGHT * 3);
    const mouth = boxDiff(loud, quiet, { x0: 0.38, x1: 0.62, y0: 0.66, y1: 0.8 });
    const forehead = boxDiff(loud, quiet, { x0: 0.4, x1: 0.6, y0: 0.15, y1: 0.3 });
    expect(mouth).toBeGreaterThan(20);
    expect(forehead).toBeLessThan(2);

    const job = (await gql<{ job: { stepDurationsMs: number[]; assets: { id: string; kind: string; url: string; width: number; height: number; durationSeconds: number | null }[] } }, unknown>(
      system.url,
      JOB,
      { id },
      user.token,
    )).data!.job;
    expect(job.stepDurationsMs).toHaveLength(40);
    expect(job.assets.find((a) => a.kind === 'VIDEO')).toMatchObject({ width: WIDTH, height: HEIGHT, durationSeconds: SECONDS });
    const poster = job.assets.find((a) => a.id === result.posterAssetId)!;
    expect(poster.kind).toBe('IMAGE');
    const posterFile = await download(poster.url, 'poster.png');
    expect(await sharp(posterFile.file).metadata()).toMatchObject({ format: 'png', width: WIDTH, height: HEIGHT });
  });

  it('takes an MP3 as the driving audio too', async () => {
    const { events } = await generate(mp3Id);
    const final = events.at(-1)!;
    expect(final.error).toBeNull();
    expect(final.status).toBe('COMPLETED');
    expect(final.result!.frames).toBe(40);
    expect(Math.abs(final.result!.audioDurationSeconds - SECONDS)).toBeLessThanOrEqual(1 / FPS);
    await checkVideo(final.result!, 'mp3-head');
  });

  it('refuses an image as the audio (checked when the job is submitted)', async () => {
    const response = await gql(system.url, GENERATE_TALKING_HEAD, { input: { imageAssetId: portraitId, audioAssetId: portraitId } }, user.token);
    expect(response.data).toBeNull();
    expect(response.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });
});
