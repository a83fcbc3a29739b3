/**
 * The lean floor of bench/path.bench.ts, as a child process on the same PostgreSQL and Redis as Atelier:
 *   FLOOR_MODE=submit  an HTTP server whose every POST is one bare INSERT into jobs and one queue.add;
 *   FLOOR_MODE=worker  a BullMQ worker whose every job is one UPDATE, the builtin engine's render and PNG, a file
 *                      write, and one UPDATE.
 * No validation, auth, events or bookkeeping: what the job path could cost if it did nothing else.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { createRedis } from '../src/queue/redis.connection.ts';
import { createBuiltinImageEngine } from '../workers/engines/builtin/image.engine.ts';
import type { EngineRun } from '../workers/engine.types.ts';

const env = process.env;
const FLOOR_QUEUE = env.FLOOR_QUEUE ?? 'floor-generation';
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.FLOOR_POOL ?? 10) });
const prefix = env.QUEUE_PREFIX!;

if (env.FLOOR_MODE === 'submit') {
  const queue = new Queue(FLOOR_QUEUE, { connection: createRedis(env.REDIS_URL!, 'producer'), prefix });
  const owner = env.FLOOR_OWNER!;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
        const id = randomUUID();
        const input = { prompt: body.prompt, width: body.width, height: body.height, steps: body.steps, seed: 1, numImages: 1, guidance: 7.5, negativePrompt: null };
        await pool.query(
          `insert into jobs (id, kind, status, progress, input, priority, engine, cost, owner_id, created_at, prompt, timeout_seconds, attempt)
           values ($1, 'IMAGE', 'QUEUED', 0, $2, 5, 'floor', 0, $3, now(), $4, 300, 0)`,
          [id, input, owner, body.prompt],
        );
        await queue.add('generate-image', { jobId: id }, { jobId: id, priority: 5, removeOnComplete: { count: 1000 } });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ task_id: id, status: 'queued' }));
      } catch (error) {
        res.writeHead(500).end(String(error));
      }
    });
  });
  server.listen(Number(env.PORT), '127.0.0.1', () => process.send?.({ type: 'ready' }));
} else {
  const engine = createBuiltinImageEngine({ threads: Number(env.WORKER_CONCURRENCY ?? 2) });
  const dir = path.join(env.DATA_DIR!, 'floor');
  await mkdir(dir, { recursive: true });
  const worker = new Worker(
    FLOOR_QUEUE,
    async (queueJob) => {
      const { jobId } = queueJob.data as { jobId: string };
      const { rows } = await pool.query(`update jobs set status = 'PROCESSING', started_at = now() where id = $1 returning *`, [jobId]);
      const job = rows[0];
      const files: string[] = [];
      const run = {
        job: { ...job, owner: { id: job.owner_id } },
        signal: new AbortController().signal,
        progress: () => undefined,
        note: () => undefined,
        saveAsset: async (asset: { data: Buffer; extension: string }) => {
          const file = path.join(dir, `${randomUUID()}.${asset.extension}`);
          await writeFile(file, asset.data);
          files.push(file);
          return { id: file };
        },
      } as unknown as EngineRun;
      await engine.run(run);
      await pool.query(`update jobs set status = 'COMPLETED', progress = 100, result = $2, finished_at = now() where id = $1`, [jobId, { files }]);
    },
    { connection: createRedis(env.REDIS_URL!, 'worker'), prefix, concurrency: Number(env.WORKER_CONCURRENCY ?? 2), autorun: true },
  );
  await worker.waitUntilReady();
  process.send?.({ type: 'ready' });
}

process.on('SIGTERM', () => process.exit(0));
