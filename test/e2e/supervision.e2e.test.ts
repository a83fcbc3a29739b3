import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { tempPrefix } from '../../src/system/crash-cleanup.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const GENERATE = `mutation Gen($input: GenerateImageInput!) { generateImage(input: $input) { id } }`;
const DETAILS = `query D($id: ID!) { job(id: $id) { status attempt assets { id } logs { message } } }`;

async function until(check: () => boolean, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the launcher supervising its services', () => {
  // External PostgreSQL and Redis (the test's), as when several machines share them; a short lock so the dead
  // worker's job is handed on in seconds.
  const env = testEnv({ WORKER_CONCURRENCY: '1', WORKER_LOCK_MS: '2000', WORKER_ENGINES: 'builtin', LOG_LEVEL: 'info', ADMIN_USERNAME: `admin-${Date.now()}` });
  let core: Core;
  let user: TestUser;
  let launcher: ReturnType<typeof spawn>;
  let output = '';
  let url: string;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    const port = await getPort({ host: '127.0.0.1' });
    url = `http://127.0.0.1:${port}`;
    launcher = spawn(process.execPath, ['src/system/launcher.main.ts'], {
      cwd: root,
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    launcher.stdout!.on('data', (chunk) => (output += chunk));
    launcher.stderr!.on('data', (chunk) => (output += chunk));
    await until(() => output.includes('Atelier ready'), 'the launcher to be ready', 90_000);
  }, 120_000);

  afterAll(async () => {
    if (launcher && launcher.exitCode === null) {
      const exited = new Promise((resolve) => launcher.once('exit', resolve));
      process.kill(-launcher.pid!, 'SIGTERM');
      await exited;
    }
    await core?.close();
  });

  const readyPid = (service: string) => {
    const pids = [...output.matchAll(new RegExp(`"service":"${service}","servicePid":(\\d+)[^\\n]*${service} ready`, 'g'))].map((m) => Number(m[1]));
    return pids.at(-1);
  };

  it('a worker killed with -9 mid-job is restarted, its leftovers removed, its job run again to completion; the API answers throughout', async () => {
    const submitted = await gql<{ generateImage: { id: string } }, unknown>(
      url,
      GENERATE,
      { input: { prompt: 'survives a kill -9', width: 1024, height: 1024, steps: 150, numImages: 2 } },
      user.token,
    );
    const id = submitted.data!.generateImage.id;
    await waitForJob(url, user.token, id, (job) => job.status === 'PROCESSING' && job.progress > 0, 60_000);

    const workerPid = readyPid('worker')!;
    expect(workerPid).toBeGreaterThan(0);
    // What a process killed mid-write leaves: a temp directory and a half-written file in storage.
    const tempDir = path.join(tmpdir(), `${tempPrefix(workerPid)}atelier-video-test`);
    mkdirSync(tempDir, { recursive: true });
    const partial = path.join(env.DATA_DIR, 'storage', 'assets', `left.png.${workerPid}-0000.partial`);
    mkdirSync(path.dirname(partial), { recursive: true });
    writeFileSync(partial, 'half');

    process.kill(workerPid, 'SIGKILL');
    const statuses: number[] = [];
    // The API keeps answering while the worker is down and restarted.
    await until(() => readyPid('worker') !== workerPid, 'the worker to be restarted');
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${url}/livez`)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(output).toMatch(/worker exited unexpectedly; restarting it/);
    expect(output).not.toMatch(/stopping everything|stopping Atelier/);

    const done = await waitForJob(url, user.token, id, undefined, 90_000);
    expect(done.status).toBe('COMPLETED');
    const details = (await gql<{ job: { attempt: number; assets: unknown[]; logs: { message: string }[] } }, unknown>(url, DETAILS, { id }, user.token)).data!.job;
    expect(details.assets).toHaveLength(2);
    // The run after the kill is a new attempt, on the row and in the start lines.
    expect(details.attempt).toBe(1);
    expect(details.logs.filter((l) => l.message.startsWith('Started on builtin')).map((l) => l.message)).toEqual([
      'Started on builtin (attempt 1)',
      'Started on builtin (attempt 2)',
    ]);
    expect(details.logs.filter((l) => l.message.startsWith('Completed in'))).toHaveLength(1);
    expect(existsSync(tempDir)).toBe(false);
    expect(existsSync(partial)).toBe(false);
    expect(launcher.exitCode).toBeNull();
  }, 180_000);

  it('a crashed API is restarted while the worker keeps running', async () => {
    const apiPid = readyPid('api')!;
    const workerPid = readyPid('worker')!;
    process.kill(apiPid, 'SIGKILL');
    await until(() => readyPid('api') !== apiPid, 'the API to be restarted');
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    expect(readyPid('worker')).toBe(workerPid);
    process.kill(workerPid, 0);
  }, 90_000);
});

describe('the launcher supervising its embedded Redis', () => {
  // No REDIS_URL: the launcher runs its own redis-server, as `./atelier start` does.
  const { REDIS_URL: _shared, ...base } = testEnv({ WORKER_CONCURRENCY: '1', WORKER_ENGINES: 'builtin', LOG_LEVEL: 'info', ADMIN_USERNAME: `admin-${Date.now()}` });
  let core: Core;
  let user: TestUser;
  let launcher: ReturnType<typeof spawn>;
  let output = '';
  let url: string;

  beforeAll(async () => {
    // The test's own handle on the database only (users and tokens); the launcher's Redis is its own.
    core = await testCore({ ...base, REDIS_URL: testEnv().REDIS_URL! });
    user = await createTestUser(core);
    const port = await getPort({ host: '127.0.0.1' });
    url = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = { ...process.env, ...base, PORT: String(port), HOST: '127.0.0.1' };
    delete env.REDIS_URL;
    launcher = spawn(process.execPath, ['src/system/launcher.main.ts'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    launcher.stdout!.on('data', (chunk) => (output += chunk));
    launcher.stderr!.on('data', (chunk) => (output += chunk));
    await until(() => output.includes('Atelier ready'), 'the launcher to be ready', 90_000);
  }, 120_000);

  afterAll(async () => {
    if (launcher && launcher.exitCode === null) {
      const exited = new Promise((resolve) => launcher.once('exit', resolve));
      process.kill(-launcher.pid!, 'SIGTERM');
      await exited;
    }
    await core?.close();
  });

  it('a redis-server killed with -9 is started again, and jobs are taken and completed after it', async () => {
    const submit = (prompt: string) => gql<{ generateImage: { id: string } }, unknown>(url, GENERATE, { input: { prompt } }, user.token);
    const before = (await submit('before Redis died')).data!.generateImage.id;
    expect((await waitForJob(url, user.token, before)).status).toBe('COMPLETED');

    // The launcher's own child (redis-server rewrites its command line, so it is found by its parent).
    const redisPid = Number(execFileSync('pgrep', ['-P', String(launcher.pid), 'redis-server']).toString().trim().split('\n')[0]);
    expect(redisPid).toBeGreaterThan(0);
    process.kill(redisPid, 'SIGKILL');
    await until(() => output.includes('redis-server started again'), 'redis-server to be started again');

    // The API and the worker reconnect on their own: the next submission is taken and run.
    let after: string | undefined;
    for (let tries = 0; !after && tries < 100; tries++) {
      const answer = await submit('after Redis came back');
      if (answer.data) after = answer.data.generateImage.id;
      else {
        expect(answer.errors![0]!.extensions!.code).toBe('SERVICE_UNAVAILABLE');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    expect((await waitForJob(url, user.token, after!)).status).toBe('COMPLETED');
    expect(launcher.exitCode).toBeNull();
  }, 120_000);
});
