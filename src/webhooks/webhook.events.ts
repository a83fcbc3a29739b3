import type { Job, JobStatus } from '../db/entities/job.entity.ts';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../db/entities/webhook.entity.ts';
import type { JobEvent } from '../pubsub/pubsub.ts';
import { badInput } from '../services/errors.ts';

/** The GraphQL enum's names for the event types. */
export const WEBHOOK_EVENT_NAMES = ['STARTED', 'PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

export const typeOfName = (name: WebhookEventName): WebhookEventType => `job.${name.toLowerCase()}` as WebhookEventType;
export const nameOfType = (type: WebhookEventType): WebhookEventName => type.slice(4).toUpperCase() as WebhookEventName;

/**
 * Words a REST client may put in `webhook_events_filter`: ours, and those of Replicate's API, which named the
 * field (there `completed` is any final state). The GraphQL enum's names (upper case) mean exactly their event.
 */
const FILTER_WORDS: Record<string, WebhookEventType[]> = {
  started: ['job.started'],
  start: ['job.started'],
  progress: ['job.progress'],
  output: ['job.progress'],
  logs: ['job.progress'],
  completed: ['job.completed', 'job.failed', 'job.cancelled'],
  failed: ['job.failed'],
  cancelled: ['job.cancelled'],
};

/** The event types a filter asks for; all of them when there is none. */
export function eventTypesOf(filter: readonly string[] | null | undefined, field = 'webhook_events_filter'): WebhookEventType[] {
  if (!filter || filter.length === 0) return [...WEBHOOK_EVENT_TYPES];
  const types = new Set<WebhookEventType>();
  for (const word of filter) {
    if ((WEBHOOK_EVENT_NAMES as readonly string[]).includes(word)) {
      types.add(typeOfName(word as WebhookEventName));
      continue;
    }
    const key = String(word).trim().toLowerCase().replace(/^job\./, '');
    const found = FILTER_WORDS[key];
    if (!found) throw badInput(`Unknown webhook event "${word}". Use: ${WEBHOOK_EVENT_NAMES.join(', ')}`, { field });
    for (const type of found) types.add(type);
  }
  return [...types];
}

const FINAL_TYPES: Partial<Record<JobStatus, WebhookEventType>> = {
  COMPLETED: 'job.completed',
  FAILED: 'job.failed',
  CANCELLED: 'job.cancelled',
};

/**
 * The webhook event a job event is, if any. The lifecycle's start is the PROCESSING event at 0 % saying
 * "Started"; every other PROCESSING event is progress. A job being queued sends nothing.
 */
export function webhookTypeOf(event: Pick<JobEvent, 'status' | 'progress' | 'message'>): WebhookEventType | null {
  if (event.status === 'PROCESSING') return event.progress === 0 && event.message === 'Started' ? 'job.started' : 'job.progress';
  return FINAL_TYPES[event.status] ?? null;
}

/** The events a job in this state has certainly gone through (for an endpoint attached after they happened). */
export function passedTypes(status: JobStatus): WebhookEventType[] {
  if (status === 'QUEUED') return [];
  const final = FINAL_TYPES[status];
  return final ? ['job.started', final] : ['job.started'];
}

/** The job as the API shows it (GraphQL's Job, its scalar fields). */
export function jobView(job: Job, event?: Pick<JobEvent, 'status' | 'progress' | 'message'>) {
  return {
    id: job.id,
    kind: job.kind,
    status: event?.status ?? job.status,
    progress: event?.progress ?? job.progress,
    statusMessage: event ? event.message : (job.statusMessage ?? null),
    input: job.input,
    result: job.result ?? null,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? job.errorCode } : null,
    priority: job.priority,
    engine: job.engine ?? null,
    cost: Number(job.cost),
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
    batchId: job.batch?.id ?? null,
    attempt: job.attempt,
  };
}
