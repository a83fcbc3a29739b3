import { UnrecoverableError, type Job as QueueJob } from 'bullmq';
import type { Logger } from 'pino';
import type { Core } from '../src/core.ts';
import type { GenerationJobName, GenerationPayload } from '../src/queue/queue.names.ts';
import { AppError } from '../src/services/errors.ts';
import type { Engine } from './engine.types.ts';

/**
 * Runs one queued job: re-reads the row, hands it to its engine, records the outcome. A failure is
 * recorded on the row and then raised as unrecoverable, so BullMQ does not retry behind the user's back.
 */
export function createProcessor(core: Core, handlers: Map<GenerationJobName, Engine>, logger: Logger) {
  return async function process(queueJob: QueueJob<GenerationPayload>, _token?: string, signal?: AbortSignal) {
    const { jobId } = queueJob.data;
    const log = logger.child({ jobId, queueJobId: queueJob.id, name: queueJob.name });
    const engine = handlers.get(queueJob.name as GenerationJobName);
    const em = core.orm.em.fork();
    if (!engine) {
      const job = await core.lifecycle.start(em, jobId, 'none');
      const message = `No engine on this worker runs "${queueJob.name}"`;
      if (job) await core.lifecycle.fail(em, job, 'NO_ENGINE', message);
      throw new UnrecoverableError(message);
    }
    const job = await core.lifecycle.start(em, jobId, engine.name);
    if (!job) {
      log.info('job no longer runnable; skipped');
      return { skipped: true };
    }
    const started = performance.now();
    log.info({ engine: engine.name }, 'job started');
    // Progress updates are applied strictly in order, and all of them before the job completes.
    let updates = Promise.resolve();
    const progress = (fraction: number, message: string) => {
      updates = updates
        .then(() => core.lifecycle.progress(em, job, fraction * 100, message))
        .catch((error) => log.warn({ err: error }, 'progress update failed'));
    };
    try {
      const output = await engine.run({
        job,
        em,
        log,
        signal: signal ?? new AbortController().signal,
        progress,
        saveAsset: (asset) => core.lifecycle.saveAsset(em, job, asset),
      });
      await updates;
      await core.lifecycle.complete(em, job, output.assets, output.extra);
      log.info({ ms: Math.round(performance.now() - started) }, 'job completed');
      return { assetIds: output.assets.map((a) => a.id) };
    } catch (error) {
      await updates;
      const code = error instanceof AppError ? error.code : 'ENGINE_ERROR';
      const message = error instanceof Error ? error.message : String(error);
      log.error({ err: error }, 'job failed');
      await core.lifecycle.fail(em, job, code, message);
      throw new UnrecoverableError(message);
    }
  };
}
