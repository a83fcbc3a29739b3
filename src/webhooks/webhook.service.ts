import type { EntityManager } from '@mikro-orm/postgresql';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Job } from '../db/entities/job.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import {
  WebhookDelivery,
  WebhookEndpoint,
  WebhookSecret,
  type WebhookEventType,
} from '../db/entities/webhook.entity.ts';
import type { JobEvent, PubSub } from '../pubsub/pubsub.ts';
import { WEBHOOK_JOB_NAME, WEBHOOK_QUEUE_NAME, type WebhookPayload } from '../queue/queue.names.ts';
import { type Actor, canSeeOwnedBy, isAdmin } from '../services/actor.ts';
import { AppError, badInput, forbidden, notFound } from '../services/errors.ts';
import { isUuid } from '../services/validation.ts';
import { eventTypesOf, jobView, passedTypes, webhookTypeOf } from './webhook.events.ts';
import { newMessageId, newWebhookSecret } from './webhook.signing.ts';
import { checkWebhookTarget } from './webhook.target.ts';

export interface WebhookSpec {
  url: string;
  /** Event words (GraphQL enum names or REST filter words); all events when empty. */
  events?: readonly string[] | null;
}

export interface WebhookSettings {
  allowedHosts: readonly string[];
  maxAttempts: number;
}

type DeliveryState = Pick<JobEvent, 'status' | 'progress' | 'message'> & { at: string };

/**
 * Users' webhooks: their signing secret, their endpoints (per account or per job), and the deliveries made
 * from job events. Deliveries are rows first, queue entries second: the row is the log, and the queue entry
 * (keyed by the row's id) only says "send this now".
 */
export class WebhookService {
  readonly queue: Queue<WebhookPayload>;
  private readonly settings: WebhookSettings;
  private readonly pubsub: PubSub;
  /**
   * The users with an endpoint, held by each dispatching process: every job event is checked against it before
   * the database is asked, so users without webhooks cost the job path nothing, not even a Redis call. Loaded
   * from the rows, told of new owners through pubsub, and reloaded now and then in case a message was lost.
   */
  private owners: Set<string> | null = null;

  constructor(deps: { redis: Redis; pubsub: PubSub; prefix: string; settings: WebhookSettings }) {
    this.settings = deps.settings;
    this.pubsub = deps.pubsub;
    this.queue = new Queue<WebhookPayload>(WEBHOOK_QUEUE_NAME, {
      connection: deps.redis,
      prefix: deps.prefix,
      defaultJobOptions: {
        attempts: deps.settings.maxAttempts,
        // The delay of each retry is chosen by the delivery itself (webhook.delivery.ts).
        backoff: { type: 'webhook' },
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 1000 },
      },
    });
  }

  /* ---- secret ---- */

  async secret(em: EntityManager, actor: Actor): Promise<string> {
    return this.secretFor(em, actor.userId);
  }

  async secretFor(em: EntityManager, userId: string): Promise<string> {
    const existing = await this.secretOf(em, userId);
    if (existing) return existing;
    // Two first calls at once: the unique owner keeps one secret, and both answer it.
    await em
      .getConnection()
      .execute(`insert into webhook_secrets (id, owner_id, secret, created_at) values (gen_random_uuid(), ?, ?, now()) on conflict (owner_id) do nothing`, [
        userId,
        newWebhookSecret(),
      ]);
    return (await this.secretOf(em, userId))!;
  }

  async secretOf(em: EntityManager, userId: string): Promise<string | null> {
    const rows = await em.getConnection().execute<{ secret: string }[]>(`select secret from webhook_secrets where owner_id = ?`, [userId]);
    return rows[0]?.secret ?? null;
  }

  /** A new secret at once; deliveries still queued are signed with it when they are sent. */
  async rotateSecret(em: EntityManager, actor: Actor): Promise<string> {
    const secret = newWebhookSecret();
    await em
      .getConnection()
      .execute(
        `insert into webhook_secrets (id, owner_id, secret, created_at) values (gen_random_uuid(), ?, ?, now())
         on conflict (owner_id) do update set secret = excluded.secret, created_at = excluded.created_at`,
        [actor.userId, secret],
      );
    return secret;
  }

  /* ---- endpoints ---- */

  async validate(spec: WebhookSpec, field = 'webhook'): Promise<{ url: string; events: WebhookEventType[] }> {
    const url = await checkWebhookTarget(spec.url, this.settings.allowedHosts, `${field}.url`);
    return { url: url.toString(), events: eventTypesOf(spec.events, `${field}.events`) };
  }

  async createEndpoint(em: EntityManager, actor: Actor, spec: WebhookSpec): Promise<WebhookEndpoint> {
    const { url, events } = await this.validate(spec, 'url');
    const endpoint = em.create(WebhookEndpoint, { owner: em.getReference(User, actor.userId), url, events, job: null });
    await em.flush();
    await this.announceOwner(actor.userId);
    return endpoint;
  }

  async listEndpoints(em: EntityManager, actor: Actor): Promise<WebhookEndpoint[]> {
    return em.find(WebhookEndpoint, { owner: actor.userId, job: null }, { orderBy: { createdAt: 'desc' } });
  }

  async deleteEndpoint(em: EntityManager, actor: Actor, id: string): Promise<boolean> {
    const endpoint = isUuid(id) ? await em.findOne(WebhookEndpoint, { id }) : null;
    if (!endpoint) throw notFound('Webhook endpoint', id);
    if (!canSeeOwnedBy(actor, endpoint.owner.id)) throw forbidden(`Webhook endpoint ${id} belongs to another user`);
    await em.remove(endpoint).flush();
    return true;
  }

  /**
   * Attaches a per-job webhook to jobs just submitted. A job may already have started (or finished) before
   * its endpoint existed, so the events it has passed are sent now; the dispatcher derives the same delivery
   * keys, so an event it also saw is still sent once.
   */
  async attach(em: EntityManager, ownerId: string, jobs: readonly Job[], spec: { url: string; events: WebhookEventType[] }): Promise<void> {
    if (!jobs.length) return;
    const endpoints = jobs.map((job) =>
      em.create(WebhookEndpoint, { owner: em.getReference(User, ownerId), job: em.getReference(Job, job.id), url: spec.url, events: spec.events }),
    );
    await em.flush();
    await this.announceOwner(ownerId);
    for (const [index, endpoint] of endpoints.entries()) {
      const job = jobs[index]!;
      await em.refresh(job);
      for (const type of passedTypes(job.status)) {
        if (!spec.events.includes(type)) continue;
        const state =
          type === 'job.started'
            ? { status: 'PROCESSING' as const, progress: 0, message: 'Started', at: (job.startedAt ?? new Date()).toISOString() }
            : { status: job.status, progress: job.progress, message: job.statusMessage ?? null, at: (job.finishedAt ?? new Date()).toISOString() };
        await this.createDeliveries(em, job, [endpoint], type, state);
      }
    }
  }

  /** Dispatchers that already hold the owners learn of this one before the job events that follow. */
  private async announceOwner(ownerId: string): Promise<void> {
    this.owners?.add(ownerId);
    await this.pubsub.publish('webhookOwners', undefined, { ownerId });
  }

  /** Reads the users with an enabled endpoint from the rows: the set a dispatcher checks job events against. */
  async loadOwners(em: EntityManager): Promise<void> {
    const rows = await em.getConnection().execute<{ owner_id: string }[]>(`select distinct owner_id from webhook_endpoints where enabled`);
    const owners = new Set(rows.map((r) => r.owner_id));
    // Owners announced while the rows were read stay: a reload never forgets one.
    for (const owner of this.owners ?? []) owners.add(owner);
    this.owners = owners;
  }

  /** Adds an owner announced by another process. */
  noteOwner(ownerId: string): void {
    this.owners?.add(ownerId);
  }

  /* ---- deliveries ---- */

  /** False when no endpoint can want this event: a webhook event type whose owner has endpoints. */
  mayWant(event: JobEvent): boolean {
    // Before loadOwners (not a dispatching process) every owner may have endpoints.
    return webhookTypeOf(event) !== null && (this.owners === null || this.owners.has(event.ownerId));
  }

  /** Turns one job event into deliveries for every endpoint that wants it. */
  async dispatch(em: EntityManager, event: JobEvent): Promise<number> {
    const type = webhookTypeOf(event);
    if (!type || !this.mayWant(event)) return 0;
    const endpoints = await em.find(WebhookEndpoint, {
      owner: event.ownerId,
      enabled: true,
      $or: [{ job: null }, { job: event.jobId }],
    });
    const wanted = endpoints.filter((e) => e.events.includes(type));
    if (!wanted.length) return 0;
    const job = await em.findOne(Job, { id: event.jobId });
    if (!job) return 0;
    return this.createDeliveries(em, job, wanted, type, event);
  }

  private async createDeliveries(em: EntityManager, job: Job, endpoints: WebhookEndpoint[], type: WebhookEventType, state: DeliveryState) {
    const body = JSON.stringify({ type, timestamp: state.at, data: jobView(job, state) });
    let created = 0;
    for (const endpoint of endpoints) {
      const step = type === 'job.progress' ? `:${state.progress}` : '';
      const dedupeKey = `${endpoint.id}:${job.id}:${job.attempt}:${type}${step}`;
      const rows = await em.getConnection().execute<{ id: string }[]>(
        `insert into webhook_deliveries (id, owner_id, endpoint_id, job_id, event_type, dedupe_key, body, status, attempts, created_at)
         values (?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, now()) on conflict (dedupe_key) do nothing returning id`,
        [newMessageId(), job.owner.id, endpoint.id, job.id, type, dedupeKey, body],
      );
      for (const row of rows) {
        await this.queue.add(WEBHOOK_JOB_NAME, { deliveryId: row.id }, { jobId: row.id });
        created++;
      }
    }
    return created;
  }

  async listDeliveries(
    em: EntityManager,
    actor: Actor,
    args: { jobId?: string | null; endpointId?: string | null; limit?: number | null },
  ): Promise<WebhookDelivery[]> {
    const where: Record<string, unknown> = isAdmin(actor) ? {} : { owner: actor.userId };
    if (args.jobId && !isUuid(args.jobId)) throw badInput('jobId must be an id', { field: 'jobId' });
    if (args.endpointId && !isUuid(args.endpointId)) throw badInput('endpointId must be an id', { field: 'endpointId' });
    if (args.jobId) where.job = args.jobId;
    if (args.endpointId) where.endpoint = args.endpointId;
    const limit = Math.max(1, Math.min(500, args.limit ?? 100));
    return em.find(WebhookDelivery, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit, populate: ['endpoint'] });
  }

  async getDelivery(em: EntityManager, actor: Actor, id: string): Promise<WebhookDelivery> {
    const delivery = await em.findOne(WebhookDelivery, { id: String(id) }, { populate: ['endpoint'] });
    if (!delivery) throw notFound('Webhook delivery', id);
    if (!canSeeOwnedBy(actor, delivery.owner.id)) throw forbidden(`Webhook delivery ${id} belongs to another user`);
    return delivery;
  }

  /** Sends a delivery again, the same message (same webhook-id and body), with a fresh round of attempts. */
  async redeliver(em: EntityManager, actor: Actor, id: string): Promise<WebhookDelivery> {
    const delivery = await this.getDelivery(em, actor, id);
    if (!delivery.endpoint.enabled) {
      throw new AppError('CONFLICT', `Its endpoint is disabled (${delivery.endpoint.disabledReason ?? 'no reason recorded'})`, { id });
    }
    const existing = await this.queue.getJob(id);
    const state = existing ? await existing.getState() : null;
    if (state && state !== 'completed' && state !== 'failed' && state !== 'unknown') {
      throw new AppError('CONFLICT', `Webhook delivery ${id} is already queued (${state})`, { id, state });
    }
    await existing?.remove().catch(() => undefined);
    Object.assign(delivery, { status: 'PENDING', nextRetryAt: new Date(), lastError: null });
    await em.flush();
    await this.queue.add(WEBHOOK_JOB_NAME, { deliveryId: id }, { jobId: id });
    return delivery;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
