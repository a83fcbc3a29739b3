import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Asset } from '../../src/db/entities/asset.entity.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { testCore } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('JobLifecycle (real Postgres, Redis and storage)', () => {
  let core: Core;
  let user: TestUser;

  const em = () => core.orm.em.fork();
  const readJob = (id: string) => em().findOneOrFail(Job, { id });
  const newJob = async (prompt = 'lifecycle') => (await core.jobs.createImageJob(em(), user.actor, { prompt })).id;
  const storagePath = (key: string) => path.join(core.config.storageDir, key);

  beforeAll(async () => {
    core = await testCore();
    user = await createTestUser(core);
  });

  afterAll(async () => {
    await core?.close();
  });

  describe('start', () => {
    it('moves a QUEUED job to PROCESSING with startedAt and the engine name', async () => {
      const id = await newJob();
      const before = Date.now();
      const job = await core.lifecycle.start(em(), id, 'builtin');
      expect(job).not.toBeNull();
      expect(job!.id).toBe(id);

      const row = await readJob(id);
      expect(row.status).toBe('PROCESSING');
      expect(row.progress).toBe(0);
      expect(row.engine).toBe('builtin');
      expect(row.statusMessage).toBe('Started');
      expect(row.startedAt).toBeInstanceOf(Date);
      expect(row.startedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(row.startedAt!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      expect(row.finishedAt ?? null).toBeNull();
    });

    it('does not start a CANCELLED job (returns null, row unchanged)', async () => {
      const id = await newJob();
      await em().nativeUpdate(Job, { id }, { status: 'CANCELLED', statusMessage: 'Cancelled by user' });
      expect(await core.lifecycle.start(em(), id, 'builtin')).toBeNull();
      const row = await readJob(id);
      expect(row.status).toBe('CANCELLED');
      expect(row.startedAt ?? null).toBeNull();
      expect(row.statusMessage).toBe('Cancelled by user');
    });

    it('does not start a COMPLETED job again', async () => {
      const id = await newJob();
      const fork = em();
      const job = await core.lifecycle.start(fork, id, 'builtin');
      await core.lifecycle.complete(fork, job!, []);
      expect(await core.lifecycle.start(em(), id, 'builtin')).toBeNull();
      expect((await readJob(id)).status).toBe('COMPLETED');
    });

    it('restarts a job left PROCESSING by a dead worker, from zero and without the old error', async () => {
      const id = await newJob();
      await em().nativeUpdate(Job, { id }, { status: 'PROCESSING', progress: 70, engine: 'old', errorCode: 'X', errorMessage: 'stale' });
      const job = await core.lifecycle.start(em(), id, 'builtin');
      expect(job).not.toBeNull();
      const row = await readJob(id);
      expect(row).toMatchObject({ status: 'PROCESSING', progress: 0, engine: 'builtin' });
      expect(row.errorCode ?? null).toBeNull();
      expect(row.errorMessage ?? null).toBeNull();
    });

    it('removes the files an earlier attempt saved before it died, rows and storage both', async () => {
      const id = await newJob();
      const first = await core.lifecycle.start(em(), id, 'builtin');
      const partial = await core.lifecycle.saveAsset(em(), first!, { kind: 'IMAGE', mime: 'image/png', extension: 'png', data: randomBytes(64) });
      expect(existsSync(storagePath(partial.storageKey))).toBe(true);

      // Another worker picks the job up again, as after a crash.
      const again = await core.lifecycle.start(em(), id, 'builtin');
      expect(again).not.toBeNull();
      expect(await em().count(Asset, { job: id })).toBe(0);
      expect(existsSync(storagePath(partial.storageKey))).toBe(false);
      const logs = await core.jobs.jobLogs(em(), user.actor, id);
      expect(logs.map((l) => l.message)).toContain('Removed 1 file(s) an earlier attempt left');
    });

    it('removes the files of a failed attempt when the job is retried', async () => {
      const id = await newJob();
      const first = await core.lifecycle.start(em(), id, 'builtin');
      const partial = await core.lifecycle.saveAsset(em(), first!, { kind: 'IMAGE', mime: 'image/png', extension: 'png', data: randomBytes(64) });
      await core.lifecycle.fail(em(), first!, 'ENGINE_ERROR', 'second image failed');
      await core.jobs.retryJob(em(), user.actor, id);
      expect(await em().count(Asset, { job: id })).toBe(1);

      await core.lifecycle.start(em(), id, 'builtin');
      expect(await em().count(Asset, { job: id })).toBe(0);
      expect(existsSync(storagePath(partial.storageKey))).toBe(false);
    });

    it('returns null for a job that does not exist', async () => {
      expect(await core.lifecycle.start(em(), '00000000-0000-4000-8000-000000000000', 'builtin')).toBeNull();
    });
  });

  describe('progress', () => {
    it('writes a clamped, whole-number progress and message while PROCESSING', async () => {
      const id = await newJob();
      const fork = em();
      const job = (await core.lifecycle.start(fork, id, 'builtin'))!;
      await core.lifecycle.progress(fork, job, 42.9, 'step 3/7');
      expect(await readJob(id)).toMatchObject({ progress: 42, statusMessage: 'step 3/7' });
      await core.lifecycle.progress(fork, job, 250, 'over');
      expect((await readJob(id)).progress).toBe(100);
      await core.lifecycle.progress(fork, job, -5, 'under');
      expect((await readJob(id)).progress).toBe(0);
    });

    it('does not touch a job that is no longer PROCESSING', async () => {
      const id = await newJob();
      const fork = em();
      const job = (await core.lifecycle.start(fork, id, 'builtin'))!;
      await em().nativeUpdate(Job, { id }, { status: 'CANCELLED' });
      await core.lifecycle.progress(fork, job, 55, 'late step');
      expect(await readJob(id)).toMatchObject({ status: 'CANCELLED', progress: 0 });
    });
  });

  describe('saveAsset', () => {
    it('writes the file to storage and an Asset row with the right sha256, size and owner', async () => {
      const id = await newJob();
      const fork = em();
      const job = (await core.lifecycle.start(fork, id, 'builtin'))!;
      const data = randomBytes(4096 + 123);
      const asset = await core.lifecycle.saveAsset(fork, job, { kind: 'IMAGE', mime: 'image/png', extension: 'png', data, width: 64, height: 32 });

      expect(asset.storageKey).toBe(`assets/${user.id}/${asset.id}.png`);
      const file = storagePath(asset.storageKey);
      const written = await readFile(file);
      expect(written.equals(data)).toBe(true);
      expect(await core.storage.size(asset.storageKey)).toBe(data.byteLength);
      // Written then renamed: no partial file is left beside it.
      expect((await readdir(path.dirname(file))).filter((f) => f.endsWith('.partial'))).toEqual([]);

      const row = await em().findOneOrFail(Asset, { id: asset.id });
      expect(row.sha256).toBe(sha256(data));
      expect(row.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(row.bytes).toBe(data.byteLength);
      expect(row.kind).toBe('IMAGE');
      expect(row.mime).toBe('image/png');
      expect(row.width).toBe(64);
      expect(row.height).toBe(32);
      expect(row.durationSeconds ?? null).toBeNull();
      expect(row.owner.id).toBe(user.id);
      expect(row.job?.id).toBe(id);
      expect(row.storageKey).toBe(asset.storageKey);
    });

    it('streams the same bytes back through the asset service', async () => {
      const id = await newJob();
      const fork = em();
      const job = (await core.lifecycle.start(fork, id, 'builtin'))!;
      const data = Buffer.from('RIFF....WAVEfmt fake audio bytes');
      const saved = await core.lifecycle.saveAsset(fork, job, { kind: 'AUDIO', mime: 'audio/wav', extension: 'wav', data, durationSeconds: 1.5 });
      const { asset, stream } = await core.assets.openAsset(em(), user.actor, saved.id);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      expect(asset.durationSeconds).toBe(1.5);
      expect(asset.width ?? null).toBeNull();
    });

    it('removes the file again when the row cannot be stored', async () => {
      const id = await newJob();
      const fork = em();
      const job = (await core.lifecycle.start(fork, id, 'builtin'))!;
      // A mime longer than the column allows makes the insert fail after the file was written.
      const saving = core.lifecycle.saveAsset(fork, job, { kind: 'IMAGE', mime: 'x'.repeat(300), extension: 'png', data: randomBytes(64) });
      await expect(saving).rejects.toThrow();
      const dir = path.join(core.config.storageDir, 'assets', user.id);
      const files = existsSync(dir) ? await readdir(dir) : [];
      const rows = await em().find(Asset, { owner: user.id });
      const keys = new Set(rows.map((r) => path.basename(r.storageKey)));
      expect(files.filter((f) => !keys.has(f))).toEqual([]);
    });
  });

  describe('complete and fail', () => {
    it('complete sets COMPLETED, progress 100, finishedAt and the asset ids and urls', async () => {
      const id = await newJob();
      const fork = em();
      const job = (await core.lifecycle.start(fork, id, 'builtin'))!;
      await core.lifecycle.progress(fork, job, 50, 'half');
      const a = await core.lifecycle.saveAsset(fork, job, { kind: 'IMAGE', mime: 'image/png', extension: 'png', data: randomBytes(10) });
      const b = await core.lifecycle.saveAsset(fork, job, { kind: 'IMAGE', mime: 'image/png', extension: 'png', data: randomBytes(10) });
      await core.lifecycle.complete(fork, job, [a, b], { seeds: [3, 4] });

      const row = await readJob(id);
      expect(row.status).toBe('COMPLETED');
      expect(row.progress).toBe(100);
      expect(row.statusMessage).toBe('Completed');
      expect(row.finishedAt).toBeInstanceOf(Date);
      expect(row.finishedAt!.getTime()).toBeGreaterThanOrEqual(row.startedAt!.getTime());
      expect(row.result).toEqual({
        seeds: [3, 4],
        assetIds: [a.id, b.id],
        // Paths, not URLs: the worker does not know which API (or public name) the client will read them through.
        urls: [`/files/${a.id}`, `/files/${b.id}`],
      });
      const assets = await core.assets.listJobAssets(em(), [id]);
      expect(assets.map((x) => x.id).sort()).toEqual([a.id, b.id].sort());
    });

    it('complete cannot be overridden by extra fields', async () => {
      const id = await newJob();
      const fork = em();
      const job = (await core.lifecycle.start(fork, id, 'builtin'))!;
      await core.lifecycle.complete(fork, job, [], { assetIds: ['forged'], urls: ['http://evil/'] });
      expect((await readJob(id)).result).toEqual({ assetIds: [], urls: [] });
    });

    it('fail sets FAILED with errorCode, errorMessage and finishedAt', async () => {
      const id = await newJob();
      const fork = em();
      const job = (await core.lifecycle.start(fork, id, 'builtin'))!;
      await core.lifecycle.fail(fork, job, 'ENGINE_ERROR', 'the renderer fell over');
      const row = await readJob(id);
      expect(row.status).toBe('FAILED');
      expect(row.statusMessage).toBe('Failed');
      expect(row.errorCode).toBe('ENGINE_ERROR');
      expect(row.errorMessage).toBe('the renderer fell over');
      expect(row.finishedAt).toBeInstanceOf(Date);
      expect(row.result ?? null).toBeNull();
    });

    it('publishes each transition on the job topic, after writing it', async () => {
      const id = await newJob();
      const events = await core.pubsub.subscribe('job', id);
      try {
        const fork = em();
        const job = (await core.lifecycle.start(fork, id, 'builtin'))!;
        await core.lifecycle.progress(fork, job, 25, 'quarter');
        await core.lifecycle.fail(fork, job, 'ENGINE_ERROR', 'nope');
        const seen = [];
        for (let i = 0; i < 3; i++) {
          const step = await events.next();
          expect(step.done).toBe(false);
          seen.push(step.value!);
        }
        expect(seen.map((e) => [e.jobId, e.status, e.message])).toEqual([
          [id, 'PROCESSING', 'Started'],
          [id, 'PROCESSING', 'quarter'],
          [id, 'FAILED', 'Failed'],
        ]);
        expect(seen.slice(0, 2).map((e) => e.progress)).toEqual([0, 25]);
        expect(seen[2]).toMatchObject({ errorCode: 'ENGINE_ERROR', errorMessage: 'nope', ownerId: user.id, kind: 'IMAGE' });
      } finally {
        await events.return?.();
      }
    });

    it('publishes a FAILED event that matches the row a subscriber reads back (progress included)', async () => {
      const id = await newJob();
      const events = await core.pubsub.subscribe('job', id);
      try {
        const fork = em();
        const job = (await core.lifecycle.start(fork, id, 'builtin'))!;
        await core.lifecycle.progress(fork, job, 25, 'quarter');
        await core.lifecycle.fail(fork, job, 'ENGINE_ERROR', 'nope');
        let last;
        for (let i = 0; i < 3; i++) last = (await events.next()).value!;
        const row = await readJob(id);
        expect(last!.status).toBe(row.status);
        expect(last!.errorCode).toBe(row.errorCode);
        expect(last!.message).toBe(row.statusMessage);
        expect(last!.progress).toBe(row.progress);
      } finally {
        await events.return?.();
      }
    });
  });
});
