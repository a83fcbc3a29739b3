import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/system/supervisor.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'atelier-supervisor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });

describe('Supervisor', () => {
  it('gives up on a crash loop with a message naming the service, after restarting it each time', async () => {
    const script = path.join(dir, 'crash.mjs');
    writeFileSync(script, 'process.exit(3);\n');
    const left: number[] = [];
    const messages: string[] = [];
    const supervisor = new Supervisor({
      name: 'worker',
      script,
      cwd: dir,
      env: process.env,
      logger,
      initialBackoffMs: 1,
      maxCrashes: 3,
      windowMs: 60_000,
      afterCrash: async (pid) => void left.push(pid),
      onGiveUp: (message) => messages.push(message),
    });
    await expect(supervisor.start()).rejects.toThrow(/worker crashed 4 times within 60 s; not restarting it again/);
    expect(supervisor.restarts).toBe(3);
    expect(new Set(left).size).toBe(3);
    expect(supervisor.gaveUp).toBe(true);
    expect(messages).toHaveLength(1);
  });

  it('restarts a ready service that dies, and stop() ends it for good', async () => {
    const script = path.join(dir, 'ready.mjs');
    const marker = path.join(dir, 'starts');
    // Ready, then dies on the first start only.
    writeFileSync(
      script,
      `import { appendFileSync, readFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(marker)}, 'x');
process.send({ type: 'ready' });
if (readFileSync(${JSON.stringify(marker)}, 'utf8').length === 1) process.exit(1);
setInterval(() => {}, 1000);
process.on('SIGTERM', () => process.exit(0));
`,
    );
    const supervisor = new Supervisor({ name: 'api', script, cwd: dir, env: process.env, logger, initialBackoffMs: 1 });
    await supervisor.start();
    const deadline = Date.now() + 10_000;
    while (supervisor.restarts < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(supervisor.restarts).toBe(1);
    await supervisor.stop();
    expect(supervisor.gaveUp).toBe(false);
  });
});
