import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { ffprobe } from '../../src/media/ffmpeg.tool.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { collect, gql, wsClient, type GraphQLResponse } from '../helpers/graphql.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const GENERATE_VIDEO = /* GraphQL */ `
  mutation E2EGenerateVideo($input: GenerateVideoInput!) {
    generateVideo(input: $input) { id status kind input }
  }
`;

const CANCEL_JOB = /* GraphQL */ `
  mutation E2ECancelVideo($id: ID!) {
    cancelJob(id: $id) { id status }
  }
`;

const JOB = /* GraphQL */ `
  query E2EVideoJob($id: ID!) {
    job(id: $id) {
      id status progress result stepDurationsMs error { code message }
      assets { id kind mime url width height durationSeconds }
    }
  }
`;

const JOB_LOGS = /* GraphQL */ `
  query E2EVideoJobLogs($id: ID!) {
    jobLogs(id: $id) { at level message }
  }
`;

const JOB_PROGRESS = /* GraphQL */ `
  subscription E2EVideoProgress($id: ID!) {
    jobProgress(id: $id) { jobId status progress message result error { code message } }
  }
`;

const MY_JOBS = /* GraphQL */ `
  subscription E2EVideoAllJobs {
    jobs { jobId status progress }
  }
`;

interface JobEvent {
  jobId: string;
  status: string;
  progress: number;
  message: string | null;
  result: { urls: string[]; assetIds: string[]; posterAssetId: string; frames: number; fps: number; durationSeconds: number; scenes: number[] } | null;
  error: { code: string; message: string } | null;
}

interface JobData {
  job: {
    id: string;
    status: string;
    progress: number;
    result: JobEvent['result'];
    stepDurationsMs: number[] | null;
    error: { code: string } | null;
    assets: { id: string; kind: string; mime: string; url: string; width: number; height: number; durationSeconds: number | null }[];
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('builtin video end to end', () => {
  const env = testEnv();
  // The worker's temp files go here, so the test can see them removed.
  const workerTmp = path.join(env.DATA_DIR!, 'worker-tmp');
  mkdirSync(workerTmp, { recursive: true });
  env.TMPDIR = workerTmp;

  let system: RunningSystem;
  let core: Core;
  let user: TestUser;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  const submit = async (input: Record<string, unknown>) => {
    const response = await gql<{ generateVideo: { id: string; status: string } }, unknown>(system.url, GENERATE_VIDEO, { input }, user.token);
    expect(response.errors).toBeUndefined();
    return response.data!.generateVideo.id;
  };

  const readJob = async (id: string) => {
    const response = await gql<JobData, unknown>(system.url, JOB, { id }, user.token);
    expect(response.errors).toBeUndefined();
    return response.data!.job;
  };

  const follow = async (id: string, onEvent?: (event: JobEvent) => void) => {
    const client = wsClient(system.wsUrl, user.token);
    try {
      const { done } = collect<{ jobProgress: JobEvent }>(client, JOB_PROGRESS, { id }, (e) => onEvent?.(e.jobProgress));
      return (await done).map((e) => e.jobProgress);
    } finally {
      await client.dispose();
    }
  };

  const download = async (url: string) => {
    const response = await fetch(url, { headers: { authorization: `Bearer ${user.token}` } });
    expect(response.status).toBe(200);
    return { type: response.headers.get('content-type'), data: Buffer.from(await response.arrayBuffer()) };
  };

  const probe = async (data: Buffer) => {
    const file = path.join(env.DATA_DIR!, `probe-${Date.now()}-${Math.random().toString(36).slice(2)}.mp4`);
    writeFileSync(file, data);
    return ffprobe(file, ['-count_frames']);
  };

  it('renders 24 frames at 12 fps and 128x96 into an H.264 MP4 of 2 s, with a PNG poster', async () => {
    const id = await submit({ prompt: 'a paper boat on a pond', numFrames: 24, fps: 12, seed: 11, videoConfig: { resolution: '128x96' } });
    const events = await follow(id);
    const final = events.at(-1)!;
    expect(final.status).toBe('COMPLETED');
    expect(final.progress).toBe(100);
    expect(final.result).toMatchObject({ frames: 24, fps: 12, durationSeconds: 2 });

    const video = await download(final.result!.urls[0]!);
    expect(video.type).toBe('video/mp4');
    const probed = await probe(video.data);
    const stream = probed.streams.find((s) => s.codec_type === 'video')!;
    expect(stream).toMatchObject({ codec_name: 'h264', width: 128, height: 96, r_frame_rate: '12/1', nb_frames: '24' });
    expect(Number((stream as { nb_read_frames?: string }).nb_read_frames)).toBe(24);
    expect(probed.streams.filter((s) => s.codec_type === 'audio')).toHaveLength(0);
    expect(Math.abs(Number(probed.format.duration) - 2)).toBeLessThanOrEqual(1 / 12);

    const job = await readJob(id);
    expect(job.stepDurationsMs).toHaveLength(24);
    const videoAsset = job.assets.find((a) => a.kind === 'VIDEO')!;
    expect(videoAsset).toMatchObject({ mime: 'video/mp4', width: 128, height: 96, durationSeconds: 2, id: final.result!.assetIds[0] });
    const posterAsset = job.assets.find((a) => a.id === final.result!.posterAssetId)!;
    expect(posterAsset).toMatchObject({ kind: 'IMAGE', mime: 'image/png', width: 128, height: 96 });
    const poster = await download(posterAsset.url);
    expect(poster.type).toBe('image/png');
    const meta = await sharp(poster.data).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 128, height: 96 });

    expect((await fetch(final.result!.urls[0]!.split('?')[0]!)).status).toBe(401);
  });

  it('renders scenes in order into one video (1.0 s + 0.5 s at 10 fps = 15 frames), progress rising to 100', async () => {
    const id = await submit({
      prompt: 'a journey',
      fps: 10,
      seed: 3,
      videoConfig: { resolution: '96x64' },
      scenes: [
        { prompt: 'a red desert', duration: 1.0 },
        { prompt: 'a blue ocean', duration: 0.5 },
      ],
    });
    const events = await follow(id);
    const statuses = events.map((e) => e.status);
    expect(statuses).toContain('PROCESSING');
    expect(statuses.at(-1)).toBe('COMPLETED');
    const progress = events.map((e) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(events.filter((e) => e.status === 'PROCESSING' && e.progress > 0).length).toBeGreaterThan(1);
    expect(events.at(-1)!.progress).toBe(100);
    expect(events.at(-1)!.result).toMatchObject({ frames: 15, scenes: [10, 5], durationSeconds: 1.5 });

    const probed = await probe((await download(events.at(-1)!.result!.urls[0]!)).data);
    const stream = probed.streams.find((s) => s.codec_type === 'video')!;
    expect(Number((stream as { nb_read_frames?: string }).nb_read_frames)).toBe(15);
    expect(Math.abs(Number(probed.format.duration) - 1.5)).toBeLessThanOrEqual(1 / 10);

    const job = await readJob(id);
    expect(job.stepDurationsMs).toHaveLength(15);
    const logs = await gql<{ jobLogs: { message: string }[] }, unknown>(system.url, JOB_LOGS, { id }, user.token);
    const messages = logs.data!.jobLogs.map((l) => l.message);
    expect(messages.findIndex((m) => m.startsWith('Scene 1/2: 10 frames'))).toBeGreaterThanOrEqual(0);
    expect(messages.findIndex((m) => m.startsWith('Scene 2/2: 5 frames'))).toBeGreaterThan(messages.findIndex((m) => m.startsWith('Scene 1/2')));
  });

  it('stops a running video when it is cancelled: no more progress, no asset, temp files removed', async () => {
    // Everything the user's jobs publish, from before the job exists.
    const watcher = wsClient(system.wsUrl, user.token);
    const all = collect<{ jobs: { jobId: string; status: string; progress: number } }>(watcher, MY_JOBS, {});
    all.done.catch(() => undefined);
    await sleep(300);

    const id = await submit({ prompt: 'a very long sunset', numFrames: 1440, fps: 24, seed: 5, videoConfig: { resolution: '256x256' } });
    const cancel: { request: Promise<GraphQLResponse<{ cancelJob: { status: string } }>> | null; at: number } = { request: null, at: 0 };
    const events = await follow(id, (event) => {
      if (!cancel.request && event.status === 'PROCESSING' && event.progress > 0) {
        cancel.at = Date.now();
        cancel.request = gql<{ cancelJob: { status: string } }, unknown>(system.url, CANCEL_JOB, { id }, user.token);
      }
    });
    expect(cancel.request).not.toBeNull();
    const cancelResponse = await cancel.request!;
    expect(cancelResponse.errors).toBeUndefined();
    expect(cancelResponse.data!.cancelJob.status).toBe('CANCELLED');
    expect(events.at(-1)!.status).toBe('CANCELLED');

    // The worker says it stopped (written after the engine gave up and cleaned up).
    let logs: { at: string; message: string }[] = [];
    for (let i = 0; i < 100 && !logs.some((l) => l.message === 'Stopped: cancelled'); i++) {
      await sleep(100);
      logs = (await gql<{ jobLogs: { at: string; message: string }[] }, unknown>(system.url, JOB_LOGS, { id }, user.token)).data!.jobLogs;
    }
    const messages = logs.map((l) => l.message);
    expect(messages).toContain('Stopped: cancelled');
    // Promptly: well before the job could have finished (1440 frames).
    const stoppedAt = new Date(logs.find((l) => l.message === 'Stopped: cancelled')!.at).getTime();
    expect(stoppedAt - cancel.at).toBeLessThan(3000);
    expect(messages.some((m) => m.startsWith('Completed'))).toBe(false);

    const job = await readJob(id);
    expect(job.status).toBe('CANCELLED');
    expect(job.progress).toBeGreaterThan(0);
    expect(job.progress).toBeLessThan(100);
    expect(job.assets).toEqual([]);
    expect(readdirSync(workerTmp).filter((f) => f.startsWith('atelier-video-'))).toEqual([]);

    // A while later: still nothing more from that job.
    await sleep(500);
    const mine = all.events.map((e) => e.jobs).filter((e) => e.jobId === id);
    const cancelAt = mine.findIndex((e) => e.status === 'CANCELLED');
    expect(cancelAt).toBeGreaterThan(0);
    expect(mine.slice(cancelAt + 1)).toEqual([]);
    await watcher.dispose();
    expect((await readJob(id)).progress).toBe(job.progress);

    // The worker is free for the next job.
    const next = await submit({ prompt: 'after the cancel', numFrames: 4, fps: 4, videoConfig: { resolution: '64x64' } });
    expect((await follow(next)).at(-1)!.status).toBe('COMPLETED');
  });
});
