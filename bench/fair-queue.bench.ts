/**
 * Fair-queue cost benchmark: `npm run bench:fair`. Self-contained (its own redis-server in a temp dir).
 *
 * For plain priorities and for fair placement (src/jobs/jobs.fairness.ts, three users taking turns), it adds
 * 3,000 jobs one after another to a paused BullMQ queue, then resumes it and drains it with a no-op worker of
 * concurrency 2. What fairness adds is one Redis script call per submit; the drain should not change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '../src/config/logger.ts';
import { FairQueues } from '../src/jobs/jobs.fairness.ts';
import type { GenerationQueue } from '../src/queue/queue.producer.ts';
import { startLocalRedis } from '../src/system/redis.local.ts';

const JOBS = 3_000;
const ROUNDS = 2;

const dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-fair-bench-'));
const redis = await startLocalRedis(dir, createLogger('bench', { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }));
const rows: string[][] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of ['plain', 'fair'] as const) {
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
      const prefix = `fair-bench-${round}-${mode}`;
      const queue = new Queue('generation-builtin', { connection, prefix });
      const fair = new FairQueues(connection, prefix);
      await queue.pause();
      const t0 = performance.now();
      for (let i = 0; i < JOBS; i++) {
        const priority = mode === 'fair' ? await fair.place(queue as GenerationQueue, 5, `user-${i % 3}`) : 5;
        await queue.add('generate-image', { jobId: `j${i}` }, { jobId: `j${i}`, priority });
      }
      const addSeconds = (performance.now() - t0) / 1000;
      const workerConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
      const worker = new Worker('generation-builtin', async () => undefined, { connection: workerConnection, prefix, concurrency: 2 });
      let done = 0;
      const drained = new Promise<void>((resolve) => worker.on('completed', () => ++done === JOBS && resolve()));
      const t1 = performance.now();
      await queue.resume();
      await drained;
      const drainSeconds = (performance.now() - t1) / 1000;
      await worker.close();
      workerConnection.disconnect();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      rows.push([String(round), mode, (JOBS / addSeconds).toFixed(0), (JOBS / drainSeconds).toFixed(0)]);
    }
  }
  console.log(`Fair queues: ${JOBS} jobs, sequential adds, worker concurrency 2 (load average at end ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')})\n`);
  console.log('| round | mode  | adds/s | drained/s |');
  console.log('|------:|:------|-------:|----------:|');
  for (const [round, mode, adds, drain] of rows) console.log(`| ${round} | ${mode} | ${adds} | ${drain} |`);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
