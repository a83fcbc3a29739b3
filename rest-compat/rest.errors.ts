import { z } from 'zod';
import type { CompatFailure, CompatFamily, ErrorShape } from './compat.common.ts';
import { type JsonSchema, toJsonSchema } from './rest.contract.ts';

/** The media API document's (000) error types, by Atelier error code. */
const MEDIA_API_TYPES: Record<string, string> = {
  UNAUTHENTICATED: 'authentication_error',
  FORBIDDEN: 'permission_error',
  BAD_USER_INPUT: 'validation_error',
  NOT_FOUND: 'not_found',
  CONFLICT: 'conflict',
  IDEMPOTENCY_KEY_REUSED: 'idempotency_key_reused',
  RATE_LIMITED: 'rate_limit_exceeded',
  QUOTA_EXCEEDED: 'quota_exceeded',
  TIMEOUT: 'timeout_error',
  RESOURCE_ERROR: 'resource_error',
  SERVICE_UNAVAILABLE: 'service_unavailable',
  CANCELLED: 'cancelled',
};

export const RATE_LIMIT_MESSAGE = 'Muitas requisições. Tente novamente em alguns segundos.';

/** 000: `{detail, type}`, with the document's own wording for rate limits and workflow resource errors. */
export function mediaApiError(failure: CompatFailure) {
  const type = MEDIA_API_TYPES[failure.code] ?? 'internal_error';
  if (failure.code === 'RATE_LIMITED') return { detail: RATE_LIMIT_MESSAGE, type };
  if (failure.code === 'RESOURCE_ERROR') return { detail: `Erro ao executar workflow: ${failure.message}`, type };
  return { detail: failure.message, type };
}

/** 001, 002 and 003 are FastAPI services: `{detail}`, plus the code 002's error section documents. */
export function detailError(failure: CompatFailure) {
  return { detail: failure.message, error_code: failure.code };
}

const VIDEO_GENERATOR_TITLES: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  408: 'Timeout',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
};

/** 004: `{error, details}`, plus a code. */
export function videoGeneratorError(failure: CompatFailure) {
  const error = failure.status >= 500 ? 'Server error' : (VIDEO_GENERATOR_TITLES[failure.status] ?? 'Invalid input');
  return { error, details: failure.message, code: failure.code };
}

export const FAMILY_ERROR_SHAPES: Record<CompatFamily, ErrorShape> = {
  'media-api': mediaApiError,
  'image-service': detailError,
  'talking-head': detailError,
  'video-platform': detailError,
  'video-generator': videoGeneratorError,
};

const ERROR_BODIES: Record<CompatFamily, JsonSchema> = (() => {
  const detail = toJsonSchema(z.object({ detail: z.string(), error_code: z.string() }).describe('FastAPI error: {detail, error_code}'), 'output');
  return {
    'media-api': toJsonSchema(z.object({ detail: z.string(), type: z.string() }).describe('Media API error: {detail, type}'), 'output'),
    'image-service': detail,
    'talking-head': detail,
    'video-platform': detail,
    'video-generator': toJsonSchema(z.object({ error: z.string(), details: z.string(), code: z.string() }).describe('Video generator error: {error, details}'), 'output'),
  };
})();

const ERROR_MEANINGS: Record<number, string> = {
  400: 'Invalid input',
  401: 'No valid credential',
  403: 'Not allowed for this caller',
  404: 'Not found',
  408: 'The job ran past its timeout',
  409: 'Conflicts with the current state',
  413: 'Body or file too large',
  415: 'Body media type not accepted',
  429: 'Rate limit or quota exceeded (Retry-After says when to retry)',
  500: 'Server error',
  503: 'A dependency (database, queue, provider) is unavailable',
};

/** The errors every REST route can answer (auth, limits, sizes, media types, a dependency down). */
const COMMON_ERRORS = [400, 401, 403, 413, 415, 429, 503];

/**
 * A route's documented responses: its answer, and each error it can give in its family's shape. `errors` adds
 * route-specific ones (404, 409, 408, 500) to the common set; `anonymous` routes may still answer 401 to a bad token.
 */
export function familyResponses(family: CompatFamily, ok: JsonSchema | null, errors: number[] = [], okDescription = 'Success'): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  out['200'] = ok ? { description: okDescription, ...ok } : { description: okDescription, type: 'object', additionalProperties: true };
  for (const status of [...new Set([...COMMON_ERRORS, ...errors])].sort()) {
    out[String(status)] = { description: ERROR_MEANINGS[status] ?? 'Error', ...ERROR_BODIES[family] };
  }
  return out;
}
