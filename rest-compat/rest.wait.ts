import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../src/core.ts';
import type { Job } from '../src/db/entities/job.entity.ts';
import type { Actor } from '../src/services/actor.ts';
import { z } from 'zod';
import { absoluteUrl } from '../src/services/public-url.ts';
import { jobFailure } from './compat.common.ts';

/** The documents accept job timeouts of 30–300 s; a synchronous answer never waits longer than that. */
const MAX_WAIT_SECONDS = 300;

/**
 * How long a generation request waits for its result: `Prefer: respond-async` not at all, `Prefer: wait=N` up to
 * N seconds (RFC 7240); otherwise, for a route that waits by default, as long as the request's own `timeout`
 * lets the job run (else REST_SYNC_TIMEOUT_SECONDS), never more than 300 s.
 */
export function syncWaitMs(core: Core, request: FastifyRequest, waitByDefault: boolean, jobTimeoutSeconds?: number | null): number {
  const prefer = String(request.headers.prefer ?? '').toLowerCase();
  if (/\brespond-async\b/.test(prefer)) return 0;
  const wait = /\bwait\s*=\s*(\d+)/.exec(prefer);
  if (wait) return Math.min(MAX_WAIT_SECONDS, Number(wait[1])) * 1000;
  if (!waitByDefault) return 0;
  return Math.min(MAX_WAIT_SECONDS, jobTimeoutSeconds ?? core.config.REST_SYNC_TIMEOUT_SECONDS) * 1000;
}

export interface WaitOptions {
  /** Whether the route waits without a Prefer header (the documents' synchronous routes do). */
  waitByDefault: boolean;
  /** The request's own `timeout` (seconds the job may run), when it gave one. */
  timeoutSeconds?: number | null;
  /** Where the client polls when the wait ends first; defaults to the task route both 002 and 003 read. */
  pollPath?: (job: Job) => string;
}

/** The documents' task statuses, as every answer schema names them. */
export const taskStatus = z.enum(['queued', 'processing', 'completed', 'failed', 'cancelled']);

/** The answer fields of a request that stopped waiting (PendingInfo), for the answer schemas. */
export const pendingFields = {
  poll_url: z.string().optional().describe('Present while the job runs on: where to poll it'),
  retry_after: z.number().int().optional(),
};

/** What a request that stopped waiting tells its client: the task and where to follow it. */
export interface PendingInfo {
  task_id: string;
  poll_url: string;
  retry_after: number;
}

/**
 * The one wait every synchronous REST route shares: until the job ends or the wait above runs out. A failed or
 * cancelled job is thrown in the family's error shape; one still running comes back with where to poll, also
 * sent as `Location` and `Retry-After` headers.
 */
export async function waitForResult(
  core: Core,
  em: EntityManager,
  actor: Actor,
  created: Job,
  request: FastifyRequest,
  reply: FastifyReply,
  options: WaitOptions,
): Promise<{ job: Job; pending: PendingInfo | null }> {
  const job = await core.jobs.awaitJob(em, actor, created, syncWaitMs(core, request, options.waitByDefault, options.timeoutSeconds));
  if (job.status === 'FAILED' || job.status === 'CANCELLED') throw jobFailure(job);
  if (job.status === 'COMPLETED') return { job, pending: null };
  const path = options.pollPath?.(job) ?? `/api/v1/tasks/${job.id}`;
  const pending = { task_id: job.id, poll_url: absoluteUrl(path), retry_after: 5 };
  void reply.header('location', pending.poll_url).header('retry-after', String(pending.retry_after));
  return { job, pending };
}
