import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Core } from '../core.ts';
import { startWebhookDelivery, startWebhookDispatcher } from './webhook.delivery.ts';
import { WebhookSweeper } from './webhook.sweeper.ts';

/**
 * What a worker process runs for webhooks: the dispatcher (job events → deliveries), the delivery worker, and the
 * sweeper that re-queues deliveries left PENDING without a queue entry.
 */
export async function startWebhooks(core: Core, connection: Redis, log: Logger) {
  const c = core.config;
  const settings = {
    allowedHosts: c.WEBHOOK_ALLOWED_HOSTS,
    timeoutMs: c.WEBHOOK_TIMEOUT_MS,
    maxAttempts: c.WEBHOOK_MAX_ATTEMPTS,
    retryBaseMs: c.WEBHOOK_RETRY_BASE_MS,
    retryFactor: c.WEBHOOK_RETRY_FACTOR,
    retryMaxMs: c.WEBHOOK_RETRY_MAX_MS,
    concurrency: c.WEBHOOK_CONCURRENCY,
  };
  const dispatcher = await startWebhookDispatcher({ orm: core.orm, pubsub: core.pubsub, service: core.webhooks, log });
  const worker = startWebhookDelivery({ orm: core.orm, service: core.webhooks, connection, prefix: c.QUEUE_PREFIX, settings, log });
  await worker.waitUntilReady();
  const sweeper = new WebhookSweeper({
    orm: core.orm,
    queue: core.webhooks.queue,
    redis: core.redis,
    prefix: c.QUEUE_PREFIX,
    log,
    orphanAfterMs: c.WEBHOOK_ORPHAN_AFTER_SECONDS * 1000,
  }).start(c.JOB_SWEEP_INTERVAL_MS);
  return {
    async close() {
      await sweeper.stop();
      await worker.close();
      await dispatcher.close();
    },
  };
}
