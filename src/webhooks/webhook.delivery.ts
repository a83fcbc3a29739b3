import type { EntityManager } from '@mikro-orm/postgresql';
import { UnrecoverableError, Worker, type Job as QueueJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Orm } from '../db/orm.ts';
import { WebhookDelivery } from '../db/entities/webhook.entity.ts';
import type { PubSub } from '../pubsub/pubsub.ts';
import { WEBHOOK_QUEUE_NAME, type WebhookPayload } from '../queue/queue.names.ts';
import { AppError } from '../services/errors.ts';
import type { WebhookService } from './webhook.service.ts';
import { webhookHeaders } from './webhook.signing.ts';
import { outboundRefusalIn } from '../net/outbound.guard.ts';
import { checkWebhookTarget, webhookDispatcher } from './webhook.target.ts';

export interface DeliverySettings {
  allowedHosts: readonly string[];
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryFactor: number;
  retryMaxMs: number;
  concurrency: number;
}

/** Delay before retry `n` (1 for the first): base × factor^(n−1), capped, with ±25 % jitter so retries spread out. */
export function retryDelayMs(settings: Pick<DeliverySettings, 'retryBaseMs' | 'retryFactor' | 'retryMaxMs'>, n: number, random = Math.random): number {
  const raw = Math.min(settings.retryMaxMs, settings.retryBaseMs * settings.retryFactor ** Math.max(0, n - 1));
  return Math.round(raw * (0.75 + random() * 0.5));
}

class RetryLater extends Error {
  readonly delayMs: number;
  constructor(message: string, delayMs: number) {
    super(message);
    this.delayMs = delayMs;
  }
}

/** Sends one delivery once, records the attempt on its row, and says whether (and when) to try again. */
export async function attemptDelivery(em: EntityManager, service: WebhookService, settings: DeliverySettings, deliveryId: string, attempt: number) {
  const delivery = await em.findOne(WebhookDelivery, { id: deliveryId }, { populate: ['endpoint'] });
  if (!delivery || delivery.status === 'SUCCEEDED') return 'skipped';
  const endpoint = delivery.endpoint;
  const fail = async (message: string) => {
    Object.assign(delivery, { status: 'FAILED', lastError: message, nextRetryAt: null });
    await em.flush();
    return new UnrecoverableError(message);
  };
  if (!endpoint.enabled) throw await fail(`Endpoint disabled: ${endpoint.disabledReason ?? 'no reason recorded'}`);
  let target: URL;
  try {
    // Checked again at send time: the name may resolve elsewhere than when the endpoint was made.
    target = await checkWebhookTarget(endpoint.url, settings.allowedHosts);
  } catch (error) {
    // A passing DNS failure is retried like a failed send, not taken as a refused target.
    if (error instanceof AppError && error.details?.transient) throw new Error(error.message);
    throw await fail(error instanceof AppError ? error.message : String(error));
  }
  const secret = await service.secretFor(em, delivery.owner.id);
  const started = performance.now();
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    const response = await fetch(target, {
      // The connection is checked too: the name may resolve elsewhere again by then (DNS rebinding).
      dispatcher: webhookDispatcher(target, settings.allowedHosts),
      method: 'POST',
      headers: webhookHeaders(secret, delivery.id, delivery.body, new Date()),
      body: delivery.body,
      // A redirect is an answer, not a new address to call: it is not followed, and counts as a failure.
      redirect: 'manual',
      signal: AbortSignal.timeout(settings.timeoutMs),
    } as RequestInit);
    statusCode = response.status;
    await response.body?.cancel().catch(() => undefined);
    if (statusCode < 200 || statusCode > 299) error = `HTTP ${statusCode}`;
  } catch (caught) {
    const refused = outboundRefusalIn(caught);
    if (refused) throw await fail(`Webhook host ${refused.message}; not called`);
    const cause = caught as Error;
    error = cause.name === 'TimeoutError' ? `No answer in ${settings.timeoutMs} ms` : `Could not connect: ${(cause.cause as Error)?.message ?? cause.message}`;
  }
  Object.assign(delivery, {
    attempts: delivery.attempts + 1,
    lastStatusCode: statusCode,
    lastLatencyMs: Math.round(performance.now() - started),
    lastError: error,
  });
  if (!error) {
    Object.assign(delivery, { status: 'SUCCEEDED', deliveredAt: new Date(), nextRetryAt: null });
    await em.flush();
    return 'delivered';
  }
  if (statusCode === 410) {
    Object.assign(endpoint, { enabled: false, disabledReason: `The receiver answered 410 Gone (delivery ${delivery.id})` });
    throw await fail('HTTP 410: the endpoint is gone and has been disabled');
  }
  if (attempt >= settings.maxAttempts) throw await fail(`${error}; gave up after ${attempt} attempts`);
  const delayMs = retryDelayMs(settings, attempt);
  delivery.nextRetryAt = new Date(Date.now() + delayMs);
  await em.flush();
  throw new RetryLater(error, delayMs);
}

/** The delivery worker: sends queued deliveries, each retry after the delay its failed attempt chose. */
export function startWebhookDelivery(deps: { orm: Orm; service: WebhookService; connection: Redis; prefix: string; settings: DeliverySettings; log: Logger }) {
  const { settings } = deps;
  const worker = new Worker<WebhookPayload>(
    WEBHOOK_QUEUE_NAME,
    async (job: QueueJob<WebhookPayload>) => attemptDelivery(deps.orm.em.fork() as EntityManager, deps.service, settings, job.data.deliveryId, job.attemptsMade + 1),
    {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: settings.concurrency,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
          error instanceof RetryLater ? error.delayMs : retryDelayMs(settings, attemptsMade),
      },
    },
  );
  worker.on('error', (error) => deps.log.error({ err: error }, 'webhook worker error'));
  return worker;
}

/** How often a dispatcher reloads the owners from the rows, in case an announcement was lost (e.g. Redis restarted). */
export const OWNERS_RELOAD_MS = 60_000;

/** Turns job events into deliveries. Every worker process runs one; delivery keys make each event count once. */
export async function startWebhookDispatcher(deps: { orm: Orm; pubsub: PubSub; service: WebhookService; log: Logger }) {
  // Subscribed before loading, so an owner announced meanwhile is not missed.
  const announced = await deps.pubsub.subscribe('webhookOwners');
  const owners = (async () => {
    for await (const { ownerId } of announced) deps.service.noteOwner(ownerId);
  })();
  await deps.service.loadOwners(deps.orm.em.fork() as EntityManager);
  const reload = setInterval(
    () => void deps.service.loadOwners(deps.orm.em.fork() as EntityManager).catch((error) => deps.log.warn({ err: error }, 'could not reload webhook owners')),
    OWNERS_RELOAD_MS,
  );
  reload.unref();
  const events = await deps.pubsub.subscribe('jobs');
  let chain = Promise.resolve();
  const loop = (async () => {
    for await (const event of events) {
      if (!deps.service.mayWant(event)) continue;
      // One at a time, in order: a job's progress deliveries are created in the order it made progress.
      chain = chain.then(() =>
        deps.service.dispatch(deps.orm.em.fork() as EntityManager, event).then(
          () => undefined,
          (error) => deps.log.warn({ err: error, jobId: event.jobId }, 'webhook dispatch failed'),
        ),
      );
    }
  })();
  return {
    async close() {
      clearInterval(reload);
      await Promise.all([events.return?.(), announced.return?.()]);
      await Promise.all([loop.catch(() => undefined), owners.catch(() => undefined)]);
      await chain;
    },
  };
}
