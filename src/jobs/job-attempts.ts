import type { EntityManager } from '@mikro-orm/postgresql';
import { hostname } from 'node:os';

/** How this process is named in the worker registry, in BullMQ, and on the job rows it runs. */
export const workerId = () => `${hostname()}:${process.pid}`;

/**
 * Notes on the row that `worker` took the job: `worker_id` is the latest, `attempt_workers` every run (a lost worker's
 * run and the run that replaced it both stay listed). Written whatever the status, so it need not wait for the run to start.
 */
export async function recordAttemptWorker(em: EntityManager, jobId: string, worker: string): Promise<void> {
  await em.getConnection().execute(
    `update jobs
        set worker_id = ?,
            attempt_workers = coalesce(attempt_workers, '[]'::jsonb)
              || jsonb_build_array(jsonb_build_object('attempt', attempt, 'worker', ?::text, 'at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
      where id = ?`,
    [worker, worker, jobId],
  );
}
