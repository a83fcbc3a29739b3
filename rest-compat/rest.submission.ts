import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyRequest } from 'fastify';
import type { Core } from '../src/core.ts';
import type { Batch } from '../src/db/entities/batch.entity.ts';
import type { Job } from '../src/db/entities/job.entity.ts';
import type { SubmitExtras } from '../src/jobs/jobs.submission.ts';
import type { Actor } from '../src/services/actor.ts';
import { badInput } from '../src/services/errors.ts';

const WEBHOOK_FIELDS = ['webhook', 'webhook_events_filter'];

/**
 * The extras every REST create route takes beside its family's own fields: an `Idempotency-Key` header, and
 * `webhook` (a URL) with `webhook_events_filter` (a list, or a comma-separated form field) in the body.
 */
function extrasOf(request: FastifyRequest, fields: Record<string, unknown>): SubmitExtras {
  const header = request.headers['idempotency-key'];
  const idempotencyKey = Array.isArray(header) ? header[0] : header;
  const url = fields.webhook;
  if (url != null && typeof url !== 'string') throw badInput('webhook must be a URL', { field: 'webhook' });
  const filter = fields.webhook_events_filter;
  const events = filter == null ? null : Array.isArray(filter) ? filter.map(String) : String(filter).split(',').map((w) => w.trim()).filter(Boolean);
  return { idempotencyKey: idempotencyKey ?? null, webhook: url ? { url, events } : null };
}

/** The request as an idempotency key guards it: its route and body, less the extras themselves. */
function fingerprintBody(fields: Record<string, unknown>, more: Record<string, unknown>) {
  return { ...Object.fromEntries(Object.entries(fields).filter(([key]) => !WEBHOOK_FIELDS.includes(key))), ...more };
}

const operationOf = (request: FastifyRequest) => `${request.method} ${request.routeOptions.url}`;

/**
 * Creates a job for a REST route through the submission extras. `fields` are the request's fields (the JSON
 * body by default; a multipart route passes its form fields and, in `more`, what identifies its files).
 */
export async function restJob(
  core: Core,
  em: EntityManager,
  actor: Actor,
  request: FastifyRequest,
  create: () => Promise<Job>,
  fields: Record<string, unknown> = (request.body ?? {}) as Record<string, unknown>,
  more: Record<string, unknown> = {},
): Promise<Job> {
  const { value } = await core.submissions.job(em, actor, operationOf(request), fingerprintBody(fields, more), extrasOf(request, fields), create);
  return value;
}

export async function restBatch(core: Core, em: EntityManager, actor: Actor, request: FastifyRequest, create: () => Promise<Batch>): Promise<Batch> {
  const fields = (request.body ?? {}) as Record<string, unknown>;
  const { value } = await core.submissions.batch(em, actor, operationOf(request), fingerprintBody(fields, {}), extrasOf(request, fields), create);
  return value;
}

/** The REST routes that create jobs: each takes the extras above (restJob / restBatch in its handler). */
export const CREATE_ROUTES = new Set([
  '/generate/image',
  '/generate/video',
  '/synthesize/speech',
  '/comfy/execute',
  '/comfy/execute/file',
  '/api/v1/images/generate',
  '/api/v1/videos/generate',
  '/api/v1/images/batch-generate',
  '/api/v1/images/batch',
  '/api/v1/inference/hallo2',
  '/api/generate',
]);

/**
 * An onRoute hook: documents the Idempotency-Key header of every create route. Their bodies' extras
 * (`webhook`, `webhook_events_filter`) are in the routes' contracts (submitFields in image.contract.ts).
 */
export function documentSubmitExtras(route: { method: string | string[]; url: string; schema?: Record<string, any> }) {
  if (route.method !== 'POST' || !CREATE_ROUTES.has(route.url) || !route.schema) return;
  route.schema = {
    ...route.schema,
    headers: {
      type: 'object',
      properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255, description: 'The same key and body within 24 h give back the first task' } },
    },
  };
}
