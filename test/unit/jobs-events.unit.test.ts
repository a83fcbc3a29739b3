import { describe, expect, it } from 'vitest';
import { endedJobsFilter } from '../../src/jobs/jobs.events.ts';
import type { JobEvent } from '../../src/pubsub/pubsub.ts';

const event = (jobId: string, status: JobEvent['status'], progress = 0) => ({ jobId, status, progress }) as JobEvent;

describe('endedJobsFilter', () => {
  it('drops a job’s steps published after its final event, until the job is queued again', () => {
    const keep = endedJobsFilter();
    expect(keep(event('a', 'PROCESSING', 1))).toBe(true);
    expect(keep(event('a', 'CANCELLED', 1))).toBe(true);
    // A worker that had not yet heard of the cancel.
    expect(keep(event('a', 'PROCESSING', 2))).toBe(false);
    expect(keep(event('b', 'PROCESSING', 2))).toBe(true);
    // retryJob queues the same id again: its new run is shown.
    expect(keep(event('a', 'QUEUED'))).toBe(true);
    expect(keep(event('a', 'PROCESSING', 1))).toBe(true);
  });

  it('remembers only the most recent ended jobs', () => {
    const keep = endedJobsFilter(2);
    for (const id of ['a', 'b', 'c']) keep(event(id, 'COMPLETED', 100));
    expect(keep(event('a', 'PROCESSING', 5))).toBe(true);
    expect(keep(event('c', 'PROCESSING', 5))).toBe(false);
  });
});
