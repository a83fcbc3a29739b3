import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { Job } from './job.entity.ts';
import { User } from './user.entity.ts';

export const WEBHOOK_EVENT_TYPES = ['job.started', 'job.progress', 'job.completed', 'job.failed', 'job.cancelled'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WEBHOOK_DELIVERY_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/** A user's Standard Webhooks signing secret (`whsec_` + base64 key); receivers need it in clear to verify. */
const WebhookSecretSchema = defineEntity({
  name: 'WebhookSecret',
  tableName: 'webhook_secrets',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    owner: () => p.manyToOne(User).deleteRule('cascade').unique(),
    secret: p.string().length(128).hidden(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class WebhookSecret extends WebhookSecretSchema.class {}
WebhookSecretSchema.setClass(WebhookSecret);

/** Where a user's job events go: for all their jobs, or (with `job`) for one job only. */
const WebhookEndpointSchema = defineEntity({
  name: 'WebhookEndpoint',
  tableName: 'webhook_endpoints',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    owner: () => p.manyToOne(User).deleteRule('cascade').index(),
    job: () => p.manyToOne(Job).nullable().deleteRule('cascade').index(),
    url: p.string().length(2048),
    events: p.json<WebhookEventType[]>(),
    enabled: p.boolean().default(true),
    /** Why it was switched off (a 410 from the receiver). */
    disabledReason: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class WebhookEndpoint extends WebhookEndpointSchema.class {}
WebhookEndpointSchema.setClass(WebhookEndpoint);

/** One message to one endpoint; its id is the `webhook-id` sent on every attempt. */
const WebhookDeliverySchema = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  indexes: [
    { properties: ['owner', 'createdAt'] },
    // The webhook sweeper's query (Migration20261128120000_webhook_pending_index); declared so schema diffs keep it.
    {
      name: 'webhook_deliveries_pending_due_index',
      expression: `create index "webhook_deliveries_pending_due_index" on "webhook_deliveries" ((coalesce("next_retry_at", "created_at"))) where "status" = 'PENDING'`,
    },
  ],
  properties: {
    id: p.string().length(64).primary(),
    owner: () => p.manyToOne(User).deleteRule('cascade'),
    endpoint: () => p.manyToOne(WebhookEndpoint).deleteRule('cascade').index(),
    job: () => p.manyToOne(Job).nullable().deleteRule('set null').index(),
    eventType: p.enum(WEBHOOK_EVENT_TYPES),
    /** Every process that sees the same job event derives the same key, so the event is sent once. */
    dedupeKey: p.string().length(255).unique(),
    /** The exact bytes signed and sent, the same on every attempt. */
    body: p.text(),
    status: p.enum(WEBHOOK_DELIVERY_STATUSES).default('PENDING'),
    attempts: p.integer().default(0),
    lastStatusCode: p.integer().nullable(),
    lastLatencyMs: p.integer().nullable(),
    lastError: p.text().nullable(),
    nextRetryAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    deliveredAt: p.datetime().nullable(),
  },
});

export class WebhookDelivery extends WebhookDeliverySchema.class {}
WebhookDeliverySchema.setClass(WebhookDelivery);

export { WebhookDeliverySchema, WebhookEndpointSchema, WebhookSecretSchema };
