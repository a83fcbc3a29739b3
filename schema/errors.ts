import { GraphQLError } from 'graphql';
import { AppError } from '../src/services/errors.ts';
import { asKnownFailure } from '../src/services/outage.ts';

const unwrap = (error: unknown): unknown =>
  error instanceof GraphQLError && error.originalError ? unwrap(error.originalError) : error;

/**
 * The GraphQL face's one error mapper: domain errors keep their message and gain `extensions.code`;
 * anything unexpected is masked so internals never reach a client.
 */
export function maskError(error: unknown, message: string, isDev = false): Error {
  // A dependency that is down is a 503 the client can retry, not a bug to hide.
  const original = asKnownFailure(unwrap(error));
  const located = error instanceof GraphQLError ? error : undefined;
  if (original instanceof AppError) {
    return new GraphQLError(original.message, {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: original.code, ...original.details, ...httpOf(original) },
    });
  }
  if (original instanceof GraphQLError) return original;
  return new GraphQLError(message, {
    nodes: located?.nodes,
    path: located?.path,
    originalError: isDev && original instanceof Error ? original : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

/** The HTTP status (and Retry-After) yoga answers with for refusals a client should wait out. */
function httpOf(error: AppError) {
  const status = error.code === 'SERVICE_UNAVAILABLE' ? 503 : error.code === 'RATE_LIMITED' ? 429 : null;
  if (!status) return {};
  const retryAfter = error.details?.retryAfterSeconds;
  return { http: { status, ...(typeof retryAfter === 'number' ? { headers: { 'retry-after': String(retryAfter) } } : {}) } };
}
