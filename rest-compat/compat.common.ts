import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { anonymousFamilies } from '../src/config/anonymous-families.ts';
import type { Core } from '../src/core.ts';
import type { Job } from '../src/db/entities/job.entity.ts';
import { type Actor, scopesForRole } from '../src/services/actor.ts';
import { AppError, unauthenticated } from '../src/services/errors.ts';
import { absoluteUrl } from '../src/services/public-url.ts';
import { getOrCreateAnonymousUser } from '../src/services/user.service.ts';
import { HTTP_STATUS } from './http.errors.ts';
import { authorizedActors, operationOf } from './route-scopes.ts';
import { authorize } from '../src/services/scopes.ts';
import { asKnownFailure } from '../src/services/outage.ts';

/** The five documents' families; each renders errors its own way. */
export type CompatFamily = 'media-api' | 'image-service' | 'talking-head' | 'video-platform' | 'video-generator';

/** A failure as every family's mapper sees it: an HTTP status, a code, a message and its details. */
export interface CompatFailure {
  status: number;
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export type ErrorShape = (failure: CompatFailure) => unknown;

/** A failure that is not a domain error: a generation that failed or timed out while the client waited. */
export class HttpFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The family whose error shape this route answers with. */
    family?: CompatFamily;
    /** A per-route rate limit on top of the global one. */
    rateLimit?: RouteLimit;
  }
}

export type RouteLimit = 'comfyExecute' | 'generateImage' | 'generateVideo';

const FASTIFY_CODES: Record<number, string> = { 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 429: 'RATE_LIMITED' };

export function toFailure(caught: unknown): CompatFailure {
  const error = asKnownFailure(caught);
  if (error instanceof AppError) {
    return { status: HTTP_STATUS[error.code], code: error.code, message: error.message, details: error.details ?? {} };
  }
  if (error instanceof HttpFailure) return { status: error.status, code: error.code, message: error.message, details: error.details };
  const fastifyError = error as Partial<FastifyError>;
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    // Body parsing, schema validation, multipart limits: all the caller's to fix.
    return {
      status: fastifyError.statusCode,
      code: FASTIFY_CODES[fastifyError.statusCode] ?? 'BAD_USER_INPUT',
      message: fastifyError.message ?? 'Bad request',
      details: fastifyError.validation ? { validation: fastifyError.validation } : {},
    };
  }
  return { status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error', details: {} };
}

/**
 * One error handler for the whole server: a route that names its family answers in that family's shape
 * (and sets Retry-After on 429); other routes keep Atelier's own `{error: {code, message}}`.
 */
export function installCompatErrorHandler(app: FastifyInstance, shapes: Partial<Record<CompatFamily, ErrorShape>>) {
  app.setErrorHandler((error, request, reply) => {
    const failure = toFailure(error);
    if (failure.status >= 500) request.log.error({ err: error }, 'request failed');
    const retryAfter = failure.details.retryAfterSeconds;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    const family = request.routeOptions.config?.family;
    const shape = family ? shapes[family] : undefined;
    const body = shape ? shape(failure) : { error: { code: failure.code, message: failure.message } };
    return reply.status(failure.status).send(body);
  });
}

/**
 * The caller: a JWT or API key as Bearer; with no credential, the built-in anonymous user where config
 * allows it for this family, else 401.
 */
export async function actorFor(core: Core, em: EntityManager, request: FastifyRequest): Promise<Actor> {
  const known = authorizedActors.get(request);
  if (known) return known;
  const actor = await core.auth.authenticate(em, request.headers.authorization);
  if (actor) {
    // The same check GraphQL makes: a key's scopes mean the same on every face.
    authorize(actor, operationOf(request));
    return actor;
  }
  const family = request.routeOptions.config?.family;
  if (family && (anonymousFamilies(core.config) as readonly string[]).includes(family)) return anonymousActor(em);
  throw unauthenticated('Not authenticated: send "Authorization: Bearer <token or API key>"');
}

export async function anonymousActor(em: EntityManager): Promise<Actor> {
  const user = await getOrCreateAnonymousUser(em);
  return { userId: user.id, username: user.username, role: 'user', scopes: scopesForRole('user'), via: 'jwt' };
}

/** Runs a handler with a fresh entity manager and the authenticated caller. */
export function withActor<T>(core: Core, fn: (em: EntityManager, actor: Actor, request: FastifyRequest, reply: FastifyReply) => Promise<T>) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const em = core.orm.em.fork() as EntityManager;
    const actor = await actorFor(core, em, request);
    return fn(em, actor, request, reply);
  };
}

/** The documents' task statuses: queued, processing, completed, failed (and cancelled). */
export const lowerStatus = (job: Job) => job.status.toLowerCase();

/** A finished job's files: the first image and the video among its URLs, by the order engines save them. */
export function jobFiles(job: Job) {
  const urls = (job.result?.urls ?? []).map((u) => absoluteUrl(u));
  const ids = job.result?.assetIds ?? [];
  const posterId = job.result?.posterAssetId as string | undefined;
  const posterUrl = posterId ? urls[ids.indexOf(posterId)] : undefined;
  if (job.kind === 'VIDEO' || job.kind === 'TALKING_HEAD') {
    return { main: urls[0] ?? null, mainId: ids[0] ?? null, thumbnail: posterUrl ?? null, urls };
  }
  // An image's thumbnail is made from it on request (files.routes.ts), not the full image again.
  return { main: urls[0] ?? null, mainId: ids[0] ?? null, thumbnail: urls[0] ? `${urls[0]}/thumbnail` : null, urls };
}

/** Seconds a queued or running job is expected to take, for `estimated_time`. */
export async function estimatedSeconds(core: Core, em: EntityManager, job: Job): Promise<number> {
  if (job.status === 'COMPLETED' || job.status === 'FAILED' || job.status === 'CANCELLED') return 0;
  const info = await core.jobs.queueInfo(em, job);
  return info.etaSeconds ?? 30;
}

/**
 * A timestamp as the documents print it, to the second, with the offset written out ("2024-01-01T12:00:00+00:00"):
 * Python 3.10's `datetime.fromisoformat`, which the documents' clients use, does not read a trailing "Z".
 */
export const isoSeconds = (date: Date | null | undefined) => (date ? `${date.toISOString().slice(0, 19)}+00:00` : null);

export const updatedAt = (job: Job) => job.finishedAt ?? job.startedAt ?? job.createdAt;

/** A job that failed while its client waited: a timeout is 408, running out of GPU memory a resource error. */
export function jobFailure(job: Job): HttpFailure {
  const code = job.errorCode ?? 'GENERATION_FAILED';
  const message = job.errorMessage ?? 'Generation failed';
  const details = { taskId: job.id, errorCode: code };
  if (code === 'TIMEOUT') return new HttpFailure(408, 'TIMEOUT', message, details);
  if (/VRAM|MEMORY|OOM|RESOURCE/i.test(code) || /VRAM|out of memory/i.test(message)) {
    return new HttpFailure(500, 'RESOURCE_ERROR', message, details);
  }
  if (job.status === 'CANCELLED') return new HttpFailure(409, 'CANCELLED', `Task ${job.id} was cancelled`, details);
  // The engine refused what the client sent (e.g. a workflow ComfyUI does not validate): the client's to fix.
  if (code === 'BAD_USER_INPUT') return new HttpFailure(400, code, message, details);
  return new HttpFailure(500, code, message, details);
}

/** A job's result fields beyond its files (seed, duration, provider analysis…), for `metadata`. */
export function resultMetadata(job: Job): Record<string, unknown> {
  const { urls: _urls, assetIds: _ids, ...rest } = job.result ?? { urls: [], assetIds: [] };
  return rest;
}
