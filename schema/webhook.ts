import { WEBHOOK_DELIVERY_STATUSES, type WebhookDelivery, type WebhookEndpoint } from '../src/db/entities/webhook.entity.ts';
import type { Actor } from '../src/services/actor.ts';
import { WEBHOOK_EVENT_NAMES, nameOfType } from '../src/webhooks/webhook.events.ts';
import type { Job } from '../src/db/entities/job.entity.ts';
import type { Batch } from '../src/db/entities/batch.entity.ts';
import { builder } from './builder.ts';
import { type GraphQLContext, requireActor } from './context.ts';

export const WebhookEventEnum = builder.enumType('WebhookEvent', { values: WEBHOOK_EVENT_NAMES });
const WebhookDeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', { values: WEBHOOK_DELIVERY_STATUSES });

export const WebhookInput = builder.inputType('WebhookInput', {
  description:
    "Where to send this job's events, signed per Standard Webhooks with your `webhookSecret` (webhook-id, webhook-timestamp, webhook-signature).",
  fields: (t) => ({
    url: t.string({ required: true, description: 'http(s); loopback and private addresses only when listed in WEBHOOK_ALLOWED_HOSTS.' }),
    events: t.field({ type: [WebhookEventEnum], required: false, description: 'Default: all of them.' }),
  }),
});

const WebhookEndpointRef = builder.objectRef<WebhookEndpoint>('WebhookEndpoint').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    events: t.field({ type: [WebhookEventEnum], resolve: (e) => e.events.map(nameOfType) }),
    jobId: t.id({ nullable: true, description: 'Set for a webhook given with one job.', resolve: (e) => e.job?.id ?? null }),
    enabled: t.exposeBoolean('enabled', { description: 'False once the receiver answered 410 Gone.' }),
    disabledReason: t.exposeString('disabledReason', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const WebhookDeliveryRef = builder.objectRef<WebhookDelivery>('WebhookDelivery').implement({
  description: 'One message to one endpoint; `id` is its webhook-id, the same on every attempt.',
  fields: (t) => ({
    id: t.exposeID('id'),
    endpoint: t.field({ type: WebhookEndpointRef, resolve: (d) => d.endpoint }),
    url: t.string({ resolve: (d) => d.endpoint.url }),
    jobId: t.id({ nullable: true, resolve: (d) => d.job?.id ?? null }),
    event: t.field({ type: WebhookEventEnum, resolve: (d) => nameOfType(d.eventType) }),
    status: t.field({ type: WebhookDeliveryStatusEnum, resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts'),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true, description: "The receiver's HTTP status on the last attempt." }),
    latencyMs: t.exposeInt('lastLatencyMs', { nullable: true, description: 'How long the last attempt took.' }),
    lastError: t.exposeString('lastError', { nullable: true }),
    nextRetryAt: t.expose('nextRetryAt', { type: 'DateTime', nullable: true }),
    payload: t.field({ type: 'JSON', description: 'The body sent: {type, timestamp, data}.', resolve: (d) => JSON.parse(d.body) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
  }),
});

interface Extras {
  webhook?: { url: string; events?: readonly string[] | null } | null;
  idempotencyKey?: string | null;
}

/** Creates a job through the submission extras (idempotency key, per-job webhook); `body` is what the key guards. */
export async function submitJob<I extends Extras>(
  ctx: GraphQLContext,
  operation: string,
  input: I,
  create: (actor: Actor, body: Omit<I, keyof Extras>) => Promise<Job>,
): Promise<Job> {
  const actor = requireActor(ctx);
  const { webhook, idempotencyKey, ...body } = input;
  const { value } = await ctx.core.submissions.job(ctx.em, actor, operation, body, { webhook, idempotencyKey }, () => create(actor, body));
  return value;
}

export async function submitBatch<I extends Extras>(ctx: GraphQLContext, input: I, create: (actor: Actor, body: Omit<I, keyof Extras>) => Promise<Batch>) {
  const actor = requireActor(ctx);
  const { webhook, idempotencyKey, ...body } = input;
  const { value } = await ctx.core.submissions.batch(ctx.em, actor, 'generateBatch', body, { webhook, idempotencyKey }, () => create(actor, body));
  return value;
}

builder.queryField('webhookSecret', (t) =>
  t.string({
    description: 'Your signing secret (whsec_…), made on first ask. Verify deliveries with any Standard Webhooks library.',
    resolve: (_root, _args, ctx) => ctx.core.webhooks.secret(ctx.em, requireActor(ctx)),
  }),
);

builder.mutationField('rotateWebhookSecret', (t) =>
  t.string({
    description: 'A new signing secret, used from now on (also for retries of earlier messages).',
    resolve: (_root, _args, ctx) => ctx.core.webhooks.rotateSecret(ctx.em, requireActor(ctx)),
  }),
);

builder.queryField('webhookEndpoints', (t) =>
  t.field({
    type: [WebhookEndpointRef],
    description: 'Your account-wide webhook endpoints.',
    resolve: (_root, _args, ctx) => ctx.core.webhooks.listEndpoints(ctx.em, requireActor(ctx)),
  }),
);

builder.mutationField('createWebhookEndpoint', (t) =>
  t.field({
    type: WebhookEndpointRef,
    description: 'Sends the events of all your jobs to this URL.',
    args: { url: t.arg.string({ required: true }), events: t.arg({ type: [WebhookEventEnum], required: false }) },
    resolve: (_root, args, ctx) => ctx.core.webhooks.createEndpoint(ctx.em, requireActor(ctx), args),
  }),
);

builder.mutationField('deleteWebhookEndpoint', (t) =>
  t.boolean({
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.webhooks.deleteEndpoint(ctx.em, requireActor(ctx), String(args.id)),
  }),
);

builder.queryField('webhookDeliveries', (t) =>
  t.field({
    type: [WebhookDeliveryRef],
    description: 'The delivery log, newest first: yours (everyone’s, for an admin).',
    args: {
      jobId: t.arg.id({ required: false }),
      endpointId: t.arg.id({ required: false }),
      limit: t.arg.int({ required: false, description: '1–500. Default 100.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.core.webhooks.listDeliveries(ctx.em, requireActor(ctx), {
        jobId: args.jobId == null ? null : String(args.jobId),
        endpointId: args.endpointId == null ? null : String(args.endpointId),
        limit: args.limit,
      }),
  }),
);

builder.mutationField('redeliverWebhook', (t) =>
  t.field({
    type: WebhookDeliveryRef,
    description: 'Sends a delivery again: the same webhook-id and body, a fresh round of attempts.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.webhooks.redeliver(ctx.em, requireActor(ctx), String(args.id)),
  }),
);
