import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Core } from '../core.ts';
import { startWebhookDelivery, startWebhookDispatcher } from './webhook.delivery.ts';

/** What a worker process runs for webhooks: the dispatcher (job events → deliveries) and the delivery worker. */
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
  return {
    async close() {
      await worker.close();
      await dispatcher.close();
    },
  };
}
