import type { EntityManager } from '@mikro-orm/postgresql';
import { Batch } from '../db/entities/batch.entity.ts';
import { Job } from '../db/entities/job.entity.ts';
import type { Actor } from '../services/actor.ts';
import type { WebhookService, WebhookSpec } from '../webhooks/webhook.service.ts';
import { IdempotencyService, MadeThenFailed, requestFingerprint } from './jobs.idempotency.ts';
import { holdingQueue } from './jobs.submit.ts';

/** What a client may add to any generation request, on either face. */
export interface SubmitExtras {
  idempotencyKey?: string | null;
  webhook?: WebhookSpec | null;
}

/**
 * Wraps a face's call that creates a job (or a batch) with the extras every generation request takes: an
 * idempotency key, and a webhook for that job's events. The job path itself knows nothing of either.
 */
export class JobSubmissions {
  private readonly idempotency: IdempotencyService;
  private readonly webhooks: WebhookService;

  constructor(deps: { idempotency: IdempotencyService; webhooks: WebhookService }) {
    this.idempotency = deps.idempotency;
    this.webhooks = deps.webhooks;
  }

  /** `operation` and `body` identify the request: the same key with another operation or body is refused. */
  async job(em: EntityManager, actor: Actor, operation: string, body: unknown, extras: SubmitExtras, create: () => Promise<Job>) {
    return this.run(em, actor, operation, body, extras, create, 'job', async (job) => [job]);
  }

  async batch(em: EntityManager, actor: Actor, operation: string, body: unknown, extras: SubmitExtras, create: () => Promise<Batch>) {
    return this.run(em, actor, operation, body, extras, create, 'batch', (batch) => em.find(Job, { batch: batch.id }));
  }

  private async run<T extends Job | Batch>(
    em: EntityManager,
    actor: Actor,
    operation: string,
    body: unknown,
    extras: SubmitExtras,
    create: () => Promise<T>,
    kind: 'job' | 'batch',
    jobsOf: (made: T) => Promise<Job[]>,
  ): Promise<{ value: T; replayed: boolean }> {
    const webhook = extras.webhook?.url ? await this.webhooks.validate(extras.webhook) : null;
    const make = async () => {
      if (!webhook) {
        const value = await create();
        return { value, resource: { kind, id: value.id } };
      }
      // The endpoint exists before the job can start, so it hears the job's every event.
      const value = await holdingQueue(create, async (made) => {
        try {
          await this.webhooks.attach(em, actor.userId, await jobsOf(made), webhook);
        } catch (error) {
          throw new MadeThenFailed({ kind, id: made.id }, error);
        }
      });
      return { value, resource: { kind, id: value.id } };
    };
    const key = extras.idempotencyKey ?? null;
    if (key === null) {
      try {
        return { value: (await make()).value, replayed: false };
      } catch (error) {
        throw error instanceof MadeThenFailed ? error.cause : error;
      }
    }
    IdempotencyService.check(key, 'idempotencyKey');
    const fingerprint = requestFingerprint(operation, { body, webhook: extras.webhook ?? null });
    const entity = kind === 'job' ? Job : Batch;
    return this.idempotency.run(em, actor.userId, key, fingerprint, make, async (resource) => {
      em.clear();
      return (await em.findOneOrFail(entity as typeof Job, { id: resource.id })) as T;
    });
  }
}
