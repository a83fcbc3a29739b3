import { Worker } from 'bullmq';
import { getConfig } from '../src/config/config.ts';
import { createLogger } from '../src/config/logger.ts';
import { createCore, requireUrls } from '../src/core.ts';
import { workerId } from '../src/jobs/job-attempts.ts';
import { JobSweeper } from '../src/jobs/jobs.sweeper.ts';
import { generationQueueName } from '../src/queue/queue.names.ts';
import { createRedis } from '../src/queue/redis.connection.ts';
import { handlersByJobName, loadEngines } from './engine.registry.ts';
import { watchGiveUps } from './job.giveup.ts';
import { createProcessor } from './job.processor.ts';
import { startHeartbeat } from './heartbeat.ts';
import { startWebhooks } from '../src/webhooks/webhook.runner.ts';
import { startMaintenance } from '../src/storage/asset.retention.ts';
import { capRunningPerUser } from '../src/jobs/jobs.user-cap.ts';

const config = getConfig();
const logger = createLogger('worker', config);
const families = config.WORKER_ENGINES.split(',').map((s) => s.trim()).filter(Boolean);
const core = await createCore(config, 'worker');
const loaded = loadEngines(families, { core, threads: config.WORKER_CONCURRENCY, log: logger });
const engines = [...loaded.values()].flat();
const connection = createRedis(requireUrls(config).redisUrl, 'worker');

const runningJobs = new Set<string>();
// One BullMQ worker per engine family, each on that family's own queue.
const workers = [...loaded].map(([family, familyEngines]) => {
  const run = createProcessor(core, handlersByJobName(familyEngines), logger);
  // Counted as running (heartbeat) only once admitted: a job the per-user cap puts back is not, however often it
  // is offered. (The row records its worker in the run's start statement.)
  const tracked: typeof run = async (queueJob, token, signal) => {
    const { jobId } = queueJob.data;
    runningJobs.add(jobId);
    try {
      return await run(queueJob, token, signal);
    } finally {
      runningJobs.delete(jobId);
    }
  };
  const worker = new Worker(generationQueueName(family), capRunningPerUser(core, config.MAX_RUNNING_JOBS_PER_USER, tracked), {
    connection,
    prefix: config.QUEUE_PREFIX,
    // Provider jobs wait on remote APIs, not on this machine: BATCH_MAX_CONCURRENT of them run at once.
    concurrency: family === 'provider' ? config.BATCH_MAX_CONCURRENT : config.WORKER_CONCURRENCY,
    name: workerId(),
    // A job whose worker died is handed to another worker once its lock lapses and the stall check runs.
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: config.WORKER_LOCK_MS,
  });
  worker.on('error', (error) => logger.error({ err: error, family }, 'worker error'));
  worker.on('failed', (job, error) => logger.debug({ queueJobId: job?.id, err: error }, 'queue job failed'));
  return worker;
});
await Promise.all(workers.map((w) => w.waitUntilReady()));
const webhooks = await startWebhooks(core, connection, logger);
const maintenance = await startMaintenance({ ...core, connection, prefix: config.QUEUE_PREFIX, retentionDays: config.ASSET_RETENTION_DAYS, log: logger });
const stopGiveUps = watchGiveUps(core, [...loaded.keys()], logger);
// BATCH_MAX_CONCURRENT bounds provider jobs across every worker, not per process: BullMQ keeps the cap in Redis.
if (loaded.has('provider')) await core.queues.get('provider').setGlobalConcurrency(config.BATCH_MAX_CONCURRENT);
await Promise.all(engines.map((e) => e.ready?.().catch(() => undefined)));
const heartbeat = startHeartbeat({
  registry: core.workers,
  engines: [...loaded.keys()],
  runningJobs: () => [...runningJobs],
  engineStatus: () => engines.flatMap((e) => (e.status ? [e.status()] : [])),
  intervalMs: config.TELEMETRY_INTERVAL_MS,
  log: logger,
});
await heartbeat.beat();
const sweeper = new JobSweeper({
  orm: core.orm,
  redis: core.redis,
  queues: core.queues,
  workers: core.workers,
  pubsub: core.pubsub,
  prefix: config.QUEUE_PREFIX,
  log: logger,
  orphanAfterMs: config.JOB_ORPHAN_AFTER_SECONDS * 1000,
  storage: core.storage,
}).start(config.JOB_SWEEP_INTERVAL_MS);
logger.info(
  { engines: [...loaded.keys()], jobs: engines.flatMap((e) => e.jobNames.map((n) => `${e.name}/${n}`)), concurrency: config.WORKER_CONCURRENCY },
  'worker ready',
);
process.send?.({ type: 'ready', service: 'worker' });

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'worker stopping: finishing running jobs');
  // Running jobs get WORKER_SHUTDOWN_GRACE_MS to finish; past it (or with Redis gone) the worker lets go of them,
  // and their locks lapse so another worker, or this one restarted, runs them again from the start.
  const graceful = Promise.all(workers.map((w) => w.close().catch((error) => logger.error({ err: error }, 'closing worker failed'))));
  const timedOut = await Promise.race([
    graceful.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), config.WORKER_SHUTDOWN_GRACE_MS).unref()),
  ]);
  if (timedOut) {
    logger.warn({ graceMs: config.WORKER_SHUTDOWN_GRACE_MS }, 'running jobs did not finish in time; leaving them to be run again');
    await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
  }
  // What is left talks to Redis and PostgreSQL; if they are already gone it could wait for ever.
  setTimeout(() => {
    logger.error('worker shutdown did not finish in 5 s; exiting');
    process.exit(1);
  }, 5_000).unref();
  await sweeper.stop();
  await heartbeat.stop();
  await webhooks.close().catch(() => undefined);
  await maintenance.close().catch(() => undefined);
  await stopGiveUps.stop();
  await Promise.all(engines.map((e) => e.close?.()));
  await core.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// Started by the launcher: if it dies without stopping us, stop too rather than linger as an orphan.
if (process.connected) process.once('disconnect', () => void shutdown('launcher exited'));
