import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import { getConfig } from '../src/config/config.ts';
import { createLogger } from '../src/config/logger.ts';
import { createCore, requireUrls } from '../src/core.ts';
import { generationQueueName } from '../src/queue/queue.names.ts';
import { createRedis } from '../src/queue/redis.connection.ts';
import { handlersByJobName, loadEngines } from './engine.registry.ts';
import { createProcessor } from './job.processor.ts';

const config = getConfig();
const logger = createLogger('worker', config);
const families = config.WORKER_ENGINES.split(',').map((s) => s.trim()).filter(Boolean);
const core = await createCore(config, 'worker');
const loaded = loadEngines(families, { core, threads: config.WORKER_CONCURRENCY });
const engines = [...loaded.values()].flat();
const connection = createRedis(requireUrls(config).redisUrl, 'worker');

// One BullMQ worker per engine family, each on that family's own queue.
const workers = [...loaded].map(([family, familyEngines]) => {
  const worker = new Worker(generationQueueName(family), createProcessor(core, handlersByJobName(familyEngines), logger), {
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    name: `${hostname()}:${process.pid}`,
  });
  worker.on('error', (error) => logger.error({ err: error, family }, 'worker error'));
  worker.on('failed', (job, error) => logger.debug({ queueJobId: job?.id, err: error }, 'queue job failed'));
  return worker;
});
await Promise.all(workers.map((w) => w.waitUntilReady()));
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
  await Promise.all(workers.map((w) => w.close().catch((error) => logger.error({ err: error }, 'closing worker failed'))));
  await Promise.all(engines.map((e) => e.close?.()));
  await core.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// Started by the launcher: if it dies without stopping us, stop too rather than linger as an orphan.
if (process.connected) process.once('disconnect', () => void shutdown('launcher exited'));
