import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { pngBytes } from '../helpers/media.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';
import { writeFile } from 'node:fs/promises';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('./atelier, the command-line client, against a running API and worker', () => {
  const env = testEnv();
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let home: string;

  /** Runs ./atelier as a user would, with its own config directory and no token unless given. */
  const atelier = (args: string[], extra: Record<string, string> = {}) =>
    new Promise<Run>((resolve) => {
      const childEnv = { ...process.env, XDG_CONFIG_HOME: path.join(home, 'config'), ATELIER_URL: system.url, ATELIER_TOKEN: '', ...extra };
      execFile(path.join(root, 'atelier'), args, { cwd: home, env: childEnv, timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
    home = await mkdtemp(path.join(tmpdir(), 'atelier-cli-'));
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('logs in and keeps the token in the user’s config directory, readable by them only', async () => {
    const run = await atelier(['login', '--username', user.username, '--password', user.password]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const file = path.join(home, 'config', 'atelier', 'config.json');
    expect(run.stdout).toBe(`Logged in to ${system.url} as ${user.username} (user); token kept in ${file}\n`);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { url: string; token: string };
    expect(saved.url).toBe(system.url);
    expect(saved.token.split('.')).toHaveLength(3);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('generates an image with flags, shows its progress to 100 and saves it with -o', async () => {
    const run = await atelier(['generate', 'image', 'a lighthouse at dusk', '--steps', '8', '--width', '96', '--height', '64', '--seed', '5', '-o', 'out']);
    expect(run.code).toBe(0);
    const id = /Job ([0-9a-f-]{36}) queued \(image, builtin\)/.exec(run.stderr)![1]!;
    expect(run.stderr).toContain('image 100% | COMPLETED');
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^COMPLETED ${id} in \\d+\\.\\ds on builtin$`));
    expect(lines[1]).toBe(`saved ${path.join('out', `${id}-1.png`)}`);
    expect(await sharp(path.join(home, 'out', `${id}-1.png`)).metadata()).toMatchObject({ format: 'png', width: 96, height: 64 });

    const list = await atelier(['jobs', '--kind', 'image']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+KIND\s+STATUS\s+DONE\s+CREATED \(UTC\)\s+PROMPT$/);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+IMAGE\\s+COMPLETED\\s+100%\\s+.*a lighthouse at dusk`));

    const watched = await atelier(['watch', id]);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(new RegExp(`^COMPLETED ${id}.*\\n${system.url}/files/[0-9a-f-]{36}\\?exp=\\d+&sig=`));
  });

  it('makes a talking head from a portrait and a text to speak', async () => {
    await writeFile(path.join(home, 'portrait.png'), await pngBytes(64, 64));
    const run = await atelier(['generate', 'talking-head', 'Hello there.', '--image', 'portrait.png', '--fps', '5', '-o', 'heads']);
    expect(run.stderr).toContain('Uploading portrait.png');
    expect(run.stderr).toContain('Speaking the text');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/saved .*heads\/[0-9a-f-]{36}-1\.mp4/);
  });

  it('cancels a job by id', async () => {
    const submitted = await gql<{ generateVideo: { id: string } }, unknown>(
      system.url,
      'mutation { generateVideo(input: { prompt: "a long one", numFrames: 1440, fps: 24, videoConfig: { resolution: "256x256" } }) { id } }',
      undefined,
      user.token,
    );
    const id = submitted.data!.generateVideo.id;
    const run = await atelier(['cancel', id]);
    expect(run).toMatchObject({ code: 0, stdout: `CANCELLED ${id}\n` });
  });

  it('answers every mistake with one clear line and a non-zero exit', async () => {
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [['jobs'], { ATELIER_TOKEN: 'not-a-token' }, 1, /^atelier: UNAUTHENTICATED: .* \(run \.\/atelier login, or set ATELIER_TOKEN\)$/],
      [['jobs'], { ATELIER_URL: 'http://127.0.0.1:9' }, 1, /^atelier: UNREACHABLE: Cannot reach Atelier at http:\/\/127\.0\.0\.1:9 .*\.\/atelier start/],
      [['generate', 'image', 'x', '--width', '65'], {}, 1, /^atelier: BAD_USER_INPUT: .*width/i],
      [['generate', 'image', 'x', '--width', 'wide'], {}, 2, /^atelier: --width must be a whole number, not "wide"/],
      [['generate', 'image', 'x', '--fps', '3'], {}, 2, /^atelier: Unknown option '--fps'/],
      [['generate', 'poem', 'x'], {}, 2, /^atelier: generate needs a kind: image, video, speech, talking-head/],
      [['watch', '00000000-0000-4000-8000-000000000000'], {}, 1, /^atelier: NOT_FOUND: /],
      [['generate', 'video', 'x', '--image', 'missing.png'], {}, 2, /^atelier: --image: no such file missing.png/],
    ];
    for (const [args, extra, code, line] of cases) {
      const run = await atelier(args, extra);
      expect({ args, code: run.code }).toEqual({ args, code });
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr.trimEnd()).toMatch(line);
    }
  });
});
