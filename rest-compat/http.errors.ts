import type { FastifyReply } from 'fastify';
import { AppError, type ErrorCode } from '../src/services/errors.ts';
import { asKnownFailure } from '../src/services/outage.ts';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
  QUOTA_EXCEEDED: 429,
  RATE_LIMITED: 429,
  RESOURCE_ERROR: 507,
  IDEMPOTENCY_KEY_REUSED: 409,
};

/** Atelier's own HTTP routes answer `{error: {code, message}}`; each compat family has its own mapper. */
export function sendAtelierError(reply: FastifyReply, caught: unknown): FastifyReply {
  const error = asKnownFailure(caught);
  if (error instanceof AppError) {
    const retryAfter = error.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    return reply.status(HTTP_STATUS[error.code]).send({ error: { code: error.code, message: error.message } });
  }
  reply.log.error({ err: error }, 'unexpected error');
  return reply.status(500).send({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error' } });
}
