import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Atelier, AtelierError, operations, type JobEvent } from '../../sdk/src/index.ts';
import { downloadJob, uploadFile } from '../../sdk/src/node.ts';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { pngBytes, wavBytes } from '../helpers/media.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

describe('the SDK against a running API and worker', () => {
  const env = testEnv();
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let work: string;
  let atelier: Atelier;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
    work = await mkdtemp(path.join(tmpdir(), 'atelier-sdk-'));
    atelier = new Atelier({ url: system.url });
  });

  afterAll(async () => {
    await atelier?.close();
    await system?.stop();
    await core?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('logs in, generates an image, follows it to 100 over graphql-ws and downloads the PNG', async () => {
    await atelier.login(user.username, user.password);
    expect((await atelier.me()).username).toBe(user.username);

    const job = await atelier.generateImage({ prompt: 'a lighthouse at dusk', width: 96, height: 64, steps: 8, seed: 3 });
    expect(job).toMatchObject({ kind: 'IMAGE', status: 'QUEUED' });

    const events: JobEvent[] = [];
    for await (const event of atelier.follow(job.id)) events.push(event);
    expect(events.at(-1)).toMatchObject({ jobId: job.id, status: 'COMPLETED', progress: 100 });
    const progress = events.filter((e) => e.status === 'PROCESSING').map((e) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    const done = await atelier.wait(job.id);
    expect(done.assets).toHaveLength(1);
    expect(done.logs.length).toBeGreaterThan(0);
    const [file] = await downloadJob(atelier, done, work);
    expect(file).toBe(path.join(work, `${job.id}-1.png`));
    expect(await sharp(await readFile(file!)).metadata()).toMatchObject({ format: 'png', width: 96, height: 64 });

    const { jobs } = await atelier.jobs({ search: 'lighthouse' });
    expect(jobs.map((j) => j.id)).toContain(job.id);
  });

  it('submits speech, video and a talking head from uploads, and waits for each', async () => {
    const speech = await atelier.generate('speech', { text: 'Hello from the SDK.' });
    const video = await atelier.generate('video', { prompt: 'a paper boat', numFrames: 4, fps: 4, videoConfig: { resolution: '64x64' } });
    const portraitFile = path.join(work, 'portrait.png');
    const voiceFile = path.join(work, 'voice.wav');
    await writeFile(portraitFile, await pngBytes(64, 64));
    await writeFile(voiceFile, wavBytes(0.4));
    const portrait = await uploadFile(atelier, portraitFile);
    const voice = await uploadFile(atelier, voiceFile);
    expect(portrait).toMatchObject({ kind: 'IMAGE', filename: 'portrait.png' });
    expect(voice).toMatchObject({ kind: 'AUDIO' });
    const head = await atelier.generate('talking-head', { imageAssetId: portrait.id, audioAssetId: voice.id, fps: 5 });

    const [s, v, h] = await Promise.all([atelier.wait(speech.id), atelier.wait(video.id), atelier.wait(head.id)]);
    expect(s.assets[0]!.mime).toMatch(/^audio\//);
    expect(v.assets[0]!.mime).toBe('video/mp4');
    expect(h.assets[0]!.mime).toBe('video/mp4');
    const { data } = await atelier.download(v.assets[0]!);
    expect(Buffer.from(data.subarray(4, 8)).toString()).toBe('ftyp');
  });

  it('queues a batch and follows its aggregate with any typed subscription', async () => {
    const batch = await atelier.generateBatch(
      [
        { prompt: 'a red fox', width: 64, height: 64, steps: 4 },
        { prompt: 'a blue fox', width: 64, height: 64, steps: 4 },
      ],
      { metadata: { from: 'sdk' } },
    );
    expect(batch).toMatchObject({ total: 2, jobs: [{ kind: 'IMAGE' }, { kind: 'IMAGE' }] });
    let last;
    for await (const { batchProgress } of atelier.subscribe(operations.BatchProgress, { id: batch.id })) last = batchProgress;
    expect(last).toMatchObject({ batchId: batch.id, status: 'COMPLETED', completed: 2, progress: 100 });
    const { batch: stored } = await atelier.request(operations.Batch, { id: batch.id });
    expect(stored.metadata).toEqual({ from: 'sdk' });
    expect(stored.jobs.every((j) => j.assets.length === 1)).toBe(true);
  });

  it('throws AtelierErrors with the server’s code: bad input, wrong password, cancelled job, unreachable server', async () => {
    const refused = await atelier.generateImage({ prompt: 'x', width: 65 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AtelierError);
    expect((refused as AtelierError).code).toBe('BAD_USER_INPUT');

    const stranger = new Atelier({ url: system.url });
    await expect(stranger.login(user.username, 'wrong password')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(stranger.jobs()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

    const long = await atelier.generate('video', { prompt: 'a long one', numFrames: 1440, fps: 24, videoConfig: { resolution: '256x256' } });
    // Handled from the start: the wait may end before cancel() has answered.
    const waiting = atelier.wait(long.id).then(
      () => null,
      (error: unknown) => error,
    );
    await atelier.cancel(long.id);
    expect(await waiting).toMatchObject({ code: 'JOB_CANCELLED' });

    const nowhere = new Atelier({ url: 'http://127.0.0.1:1' });
    await expect(nowhere.me()).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });
});
