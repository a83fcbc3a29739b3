import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { WebhookDelivery, type WebhookEndpoint } from '../../src/db/entities/webhook.entity.ts';
import { WEBHOOK_JOB_NAME } from '../../src/queue/queue.names.ts';
import { createRedis } from '../../src/queue/redis.connection.ts';
import { startWebhookDelivery } from '../../src/webhooks/webhook.delivery.ts';
import { newMessageId } from '../../src/webhooks/webhook.signing.ts';
import { WebhookSweeper } from '../../src/webhooks/webhook.sweeper.ts';
import { startWebhookReceiver } from '../fakes/webhook-receiver.fake.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const ORPHAN_AFTER_MS = 60_000;

/** On a database of its own: the sweeper looks at every PENDING delivery, so other test files' rows must not be there. */
describe('webhook sweeper (real PostgreSQL, Redis, BullMQ and an HTTP receiver)', () => {
  let db: ScratchDatabase;
  let core: Core;
  let user: TestUser;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let connection: Redis;
  let worker: ReturnType<typeof startWebhookDelivery>;
  let endpoint: WebhookEndpoint;
  const em = () => core.orm.em.fork() as EntityManager;
  const log = pino({ level: 'silent' });
  let clock = 0;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    db = await createScratchDatabase(inject('databaseUrl'), 'webhook_sweeper');
    core = await testCore(testEnv({ DATABASE_URL: db.url, WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}` }));
    user = await createTestUser(core);
    endpoint = await core.webhooks.createEndpoint(em(), user.actor, { url: `${receiver.url}/ok` });
    connection = createRedis(core.config.REDIS_URL!, 'worker');
    worker = startWebhookDelivery({
      orm: core.orm,
      service: core.webhooks,
      connection,
      prefix: core.config.QUEUE_PREFIX,
      settings: { allowedHosts: core.config.WEBHOOK_ALLOWED_HOSTS, timeoutMs: 5000, maxAttempts: 3, retryBaseMs: 50, retryFactor: 2, retryMaxMs: 1000, concurrency: 2 },
      log,
    });
    await worker.waitUntilReady();
  });

  afterAll(async () => {
    await worker?.close();
    connection?.disconnect();
    await core?.close();
    await db?.drop();
    await receiver?.close();
  });

  const sweeper = () =>
    new WebhookSweeper({ orm: core.orm, queue: core.webhooks.queue, redis: core.redis, prefix: core.config.QUEUE_PREFIX, log, orphanAfterMs: ORPHAN_AFTER_MS, now: () => clock });

  /** A delivery row as WebhookService writes it, made at `createdAt`, whose queue add never happened. */
  async function strandedDelivery(createdAt: Date): Promise<string> {
    const id = newMessageId();
    await em()
      .getConnection()
      .execute(
        `insert into webhook_deliveries (id, owner_id, endpoint_id, job_id, event_type, dedupe_key, body, status, attempts, created_at)
         values (?, ?, ?, null, 'job.completed', ?, ?, 'PENDING', 0, ?)`,
        [id, user.id, endpoint.id, `sweeper-test:${id}`, JSON.stringify({ type: 'job.completed', data: { id } }), createdAt],
      );
    return id;
  }

  async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
    for (let i = 0; i < 300; i++) {
      const value = await check();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`gave up waiting for ${what}`);
  }

  it('leaves a young PENDING row alone, and re-queues it once it is older than the threshold; it is then delivered once', async () => {
    const madeAt = new Date('2030-01-01T00:00:00Z');
    const id = await strandedDelivery(madeAt);

    // Younger than the threshold: its API may still be adding it to the queue.
    clock = madeAt.getTime() + ORPHAN_AFTER_MS - 1000;
    expect(await sweeper().sweep()).toEqual([]);
    expect(await core.webhooks.queue.getJobState(id)).toBe('unknown');

    clock = madeAt.getTime() + ORPHAN_AFTER_MS + 1000;
    expect(await sweeper().sweep()).toEqual([id]);
    const hook = await until(() => receiver.received.find((r) => r.headers['webhook-id'] === id), 'the delivery to reach the receiver');
    expect(hook.path).toBe('/ok');
    expect(JSON.parse(hook.body)).toEqual({ type: 'job.completed', data: { id } });
    const row = await until(async () => {
      const found = await em().findOneOrFail(WebhookDelivery, { id });
      return found.status === 'SUCCEEDED' ? found : undefined;
    }, 'the row to be SUCCEEDED');
    expect(row.attempts).toBe(1);

    // Delivered: nothing left for the next sweep.
    expect(await sweeper().sweep()).toEqual([]);
    expect(receiver.received.filter((r) => r.headers['webhook-id'] === id)).toHaveLength(1);
  });

  it('does not re-queue a PENDING row whose queue entry is still waiting to be sent', async () => {
    const madeAt = new Date('2030-01-02T00:00:00Z');
    const id = await strandedDelivery(madeAt);
    await core.webhooks.queue.add(WEBHOOK_JOB_NAME, { deliveryId: id }, { jobId: id, delay: 3_600_000 });
    clock = madeAt.getTime() + 10 * ORPHAN_AFTER_MS;
    expect(await sweeper().sweep()).toEqual([]);
    expect(await core.webhooks.queue.getJobState(id)).toBe('delayed');
    await core.webhooks.queue.remove(id);
  });
});
