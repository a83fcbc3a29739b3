import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { pngBytes, wavBytes } from '../helpers/media.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What the start of each kind's file must be. */
const MAGIC: Record<string, (data: Buffer) => boolean> = {
  image: (d) => d.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47])),
  video: (d) => d.subarray(4, 8).toString() === 'ftyp',
  speech: (d) => d.subarray(0, 4).toString() === 'RIFF' && d.subarray(8, 12).toString() === 'WAVE',
  'talking-head': (d) => d.subarray(4, 8).toString() === 'ftyp',
};

describe('examples/: the Node and Python programs, over GraphQL and REST', () => {
  const env = testEnv();
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let work: string;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
    work = await mkdtemp(path.join(tmpdir(), 'atelier-examples-'));
    await writeFile(path.join(work, 'portrait.png'), await pngBytes(96, 96));
    await writeFile(path.join(work, 'voice.wav'), wavBytes(0.5));
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const run = (command: string, args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(command, args, { cwd: root, env: { ...process.env, ATELIER_URL: system.url, ATELIER_TOKEN: user.token }, timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  for (const language of ['node', 'python'] as const) {
    for (const kind of Object.keys(MAGIC)) {
      it(`${language} ${kind}: GraphQL and REST each save a real file`, async () => {
        const script = language === 'node' ? `examples/node/${kind}.ts` : `examples/python/${kind.replace('-', '_')}.py`;
        for (const face of ['graphql', 'rest']) {
          const out = await mkdtemp(path.join(work, `${language}-${kind}-${face}-`));
          const inputs = kind === 'talking-head' ? [path.join(work, 'portrait.png'), path.join(work, 'voice.wav')] : [];
          const result = await run(language === 'node' ? process.execPath : 'python3', [script, face, out, ...inputs]);
          expect({ face, code: result.code, stderr: result.code ? result.stderr : '' }).toEqual({ face, code: 0, stderr: '' });
          // Each program prints the files it saved (a video's poster beside the video).
          const files = result.stdout.trim().split('\n');
          for (const file of files) expect(path.dirname(file)).toBe(out);
          const kinds = await Promise.all(files.map(async (file) => MAGIC[kind]!(await readFile(file))));
          expect(kinds).toContain(true);
        }
      }, 240_000);
    }
  }
});
