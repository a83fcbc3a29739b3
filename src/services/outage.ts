import { AppError, badInput } from './errors.ts';
import { isRefusedValue } from './input-hygiene.ts';

export type Dependency = 'postgres' | 'redis' | 'storage';

/** PostgreSQL's "cannot serve now" classes: connection exceptions, shutdown, too many connections. */
const PG_CODES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const STORAGE_CODES = new Set(['ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EDQUOT', 'EMFILE', 'ENFILE']);
const REDIS_MESSAGE = /Stream isn't writeable|Connection is closed|MaxRetriesPerRequest|Reached the max retries per request|READONLY|LOADING Redis/i;
const PG_MESSAGE = /Connection terminated|connection timeout|timeout exceeded when trying to connect|the database system is (starting up|shutting down)|Client has encountered a connection error/i;

function* chain(error: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    yield current as Record<string, unknown>;
    const next = current as { cause?: unknown; previous?: unknown; originalError?: unknown };
    current = next.cause ?? next.previous ?? next.originalError;
  }
}

/** Which dependency an error says is unavailable, if it is an outage rather than a bug or bad input. */
export function outageOf(error: unknown): Dependency | null {
  for (const link of chain(error)) {
    if (link instanceof AppError) return null;
    const code = typeof link.code === 'string' ? link.code : '';
    const message = typeof link.message === 'string' ? link.message : '';
    const name = typeof link.name === 'string' ? link.name : '';
    if (name === 'MaxRetriesPerRequestError' || REDIS_MESSAGE.test(message)) return 'redis';
    if (PG_CODES.has(code) || PG_MESSAGE.test(message) || /ConnectionException/.test(name)) return 'postgres';
    // Files are the only thing reached through a path; a syscall error carrying one is storage.
    if (STORAGE_CODES.has(code) && typeof link.path === 'string') return 'storage';
    // Object storage: the AWS SDK marks its answers with $metadata, a 5xx or throttling as a server fault, and its
    // connection errors come up through its own HTTP handler.
    const metadata = link.$metadata as { httpStatusCode?: number } | undefined;
    if (link.$fault === 'server' || (metadata?.httpStatusCode ?? 0) >= 500) return 'storage';
    if (NETWORK_CODES.has(code) && /@smithy|@aws-sdk/.test(String(link.stack ?? ''))) return 'storage';
    if (NETWORK_CODES.has(code)) return /redis/i.test(String(link.stack ?? '')) ? 'redis' : 'postgres';
  }
  return null;
}

const WHAT: Record<Dependency, string> = {
  postgres: 'The database is unavailable',
  redis: 'The job queue (Redis) is unavailable',
  storage: 'File storage is unavailable (unwritable or full)',
};

/** The 503 a face answers for an outage: names the part, never a host, port or server path. */
export function unavailable(dependency: Dependency): AppError {
  return new AppError('SERVICE_UNAVAILABLE', `${WHAT[dependency]}; try again shortly`, { dependency, retryAfterSeconds: 5 });
}

/** `error` as a 503 when it is an outage; otherwise `error` itself. */
export function asOutage(error: unknown): unknown {
  const dependency = outageOf(error);
  return dependency ? unavailable(dependency) : error;
}

/** A message safe to show a client or store on a job: absolute server paths replaced by their last part. */
export function withoutPaths(message: string): string {
  return message.replace(/(?:[A-Za-z]:)?(?:\/[^\s'",:;)]+){2,}/g, (path) => `…/${path.split('/').pop()}`);
}

/**
 * What every face does with an error before shaping it: an outage becomes a 503, a value PostgreSQL refused
 * becomes BAD_USER_INPUT (the edge checks should have caught it; this is the net under them).
 */
export function asKnownFailure(error: unknown): unknown {
  if (error instanceof AppError) return error;
  if (isRefusedValue(error)) return badInput('Invalid input: a value is malformed or out of range');
  return asOutage(error);
}
