import type { EntityManager } from '@mikro-orm/postgresql';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Orm } from '../db/orm.ts';
import { everyOnOneMachine } from '../system/periodic.ts';
import { WEBHOOK_JOB_NAME, type WebhookPayload } from '../queue/queue.names.ts';

/** Queue states in which an entry will still be sent; any other (none, completed, failed) leaves its row stranded. */
const ON_ITS_WAY = new Set(['waiting', 'waiting-children', 'prioritized', 'delayed', 'active']);

/**
 * Re-queues deliveries stuck PENDING: a row is written before its queue entry, so a Redis failure in between (or a
 * delivery whose entry BullMQ failed after its worker stalled too often) leaves a row nothing will ever send. Adds
 * are keyed by the row's id, so a race with the process that made it is harmless.
 */
export class WebhookSweeper {
  private readonly deps: {
    orm: Orm;
    queue: Queue<WebhookPayload>;
    redis: Redis;
    prefix: string;
    log: Logger;
    /** A PENDING row younger than this (since it was made, or since its retry was due) may still be on its way. */
    orphanAfterMs: number;
    now?: () => number;
  };

  constructor(deps: WebhookSweeper['deps']) {
    this.deps = deps;
  }

  /** The ids of the deliveries it queued again. */
  async sweep(): Promise<string[]> {
    const em = this.deps.orm.em.fork() as EntityManager;
    const cutoff = new Date((this.deps.now ?? Date.now)() - this.deps.orphanAfterMs);
    // Served by the partial index of Migration20261128120000_webhook_pending_index.
    const rows = await em
      .getConnection()
      .execute<{ id: string }[]>(
        `select id from webhook_deliveries where status = 'PENDING' and coalesce(next_retry_at, created_at) < ? order by coalesce(next_retry_at, created_at) limit 200`,
        [cutoff],
      );
    const states = await Promise.all(rows.map((row) => this.deps.queue.getJobState(row.id)));
    const requeued: string[] = [];
    for (const [i, { id }] of rows.entries()) {
      if (ON_ITS_WAY.has(states[i]!)) continue;
      // A finished entry would make the add a no-op (same id): it goes first, as a redelivery's does.
      if (states[i] !== 'unknown') await this.deps.queue.remove(id).catch(() => undefined);
      await this.deps.queue.add(WEBHOOK_JOB_NAME, { deliveryId: id }, { jobId: id });
      requeued.push(id);
    }
    if (requeued.length) this.deps.log.warn({ deliveries: requeued }, `${requeued.length} pending webhook delivery(ies) had no queue entry; re-queued`);
    return requeued;
  }

  /** Sweeps every `intervalMs` on one machine at a time (a short Redis lease); a failed sweep is logged and retried next time. */
  start(intervalMs: number): { stop(): Promise<void> } {
    return everyOnOneMachine(this.deps.redis, `${this.deps.prefix}:webhook-sweeper`, intervalMs, () => this.sweep(), (error) =>
      this.deps.log.warn({ err: error }, 'webhook sweep failed'),
    );
  }
}
