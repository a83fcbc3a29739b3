import { withoutPaths } from '../src/services/outage.ts';
import { UnrecoverableError, type Job as QueueJob } from 'bullmq';
import type { Logger } from 'pino';
import type { Core } from '../src/core.ts';
import { Asset } from '../src/db/entities/asset.entity.ts';
import type { JobLogLevel } from '../src/db/entities/job-log.entity.ts';
import type { GenerationJobName, GenerationPayload } from '../src/queue/queue.names.ts';
import { AppError } from '../src/services/errors.ts';
import type { Engine } from './engine.types.ts';

class JobTimeoutError extends Error {}
class JobCancelledError extends Error {}

/**
 * Runs one queued job: re-reads the row, hands it to its engine, records the outcome. A failure is
 * recorded on the row and then raised as unrecoverable, so BullMQ does not retry behind the user's back.
 */
export function createProcessor(core: Core, handlers: Map<GenerationJobName, Engine>, logger: Logger) {
  return async function process(queueJob: QueueJob<GenerationPayload>, _token?: string, workerSignal?: AbortSignal) {
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
    // Subscribe before starting, so a cancel sent the moment the job starts is not missed.
    const cancelRequests = await core.pubsub.subscribe('cancel', jobId);
    const job = await core.lifecycle.start(em, jobId, engine.name);
    if (!job) {
      await cancelRequests.return?.();
      log.info('job no longer runnable; skipped');
      return { skipped: true };
    }

    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new JobTimeoutError(`Job exceeded its ${job.timeoutSeconds} s timeout`)),
      job.timeoutSeconds * 1000,
    );
    void cancelRequests.next().then((step) => {
      if (!step.done) controller.abort(new JobCancelledError('Job cancelled'));
    });
    workerSignal?.addEventListener('abort', () => controller.abort(workerSignal.reason), { once: true });

    const started = performance.now();
    let lastStepAt = started;
    const stepDurationsMs: number[] = [];
    // Progress and log writes are applied strictly in order, and all of them before the job ends.
    let writes = Promise.resolve();
    const enqueueWrite = (write: () => Promise<unknown>) => {
      writes = writes.then(write).then(
        () => undefined,
        (error) => log.warn({ err: error }, 'job update failed'),
      );
    };
    const note = (message: string, level: JobLogLevel = 'info') => {
      log[level]({ engine: engine.name }, message);
      enqueueWrite(() => core.lifecycle.log(em, job, level, message));
    };
    const progress = (fraction: number, message: string) => {
      const now = performance.now();
      stepDurationsMs.push(Math.round((now - lastStepAt) * 100) / 100);
      lastStepAt = now;
      const elapsed = now - started;
      const eta = fraction > 0 && fraction < 1 ? Math.round((elapsed * (1 - fraction)) / fraction / 1000) : null;
      enqueueWrite(() => core.lifecycle.progress(em, job, fraction * 100, message, eta));
    };

    note(`Started on ${engine.name} (attempt ${job.attempt + 1})`);
    try {
      const output = await engine.run({
        job,
        em,
        log,
        signal: controller.signal,
        progress,
        note,
        saveAsset: (asset) => core.lifecycle.saveAsset(em, job, asset),
        readAsset: async (assetId) => {
          const asset = await em.findOneOrFail(Asset, { id: assetId });
          const chunks: Buffer[] = [];
          for await (const chunk of core.storage.open(asset.storageKey)) chunks.push(chunk as Buffer);
          return { asset, data: Buffer.concat(chunks) };
        },
      });
      controller.signal.throwIfAborted();
      note(`Completed in ${Math.round(performance.now() - started)} ms`);
      await writes;
      await core.lifecycle.complete(em, job, output.assets, output.extra, stepDurationsMs);
      return { assetIds: output.assets.map((a) => a.id) };
    } catch (caught) {
      const error = controller.signal.aborted ? controller.signal.reason : caught;
      if (error instanceof JobCancelledError) {
        note('Stopped: cancelled', 'warn');
        await writes;
        return { cancelled: true };
      }
      const code = error instanceof JobTimeoutError ? 'TIMEOUT' : error instanceof AppError ? error.code : 'ENGINE_ERROR';
      // Stored on the job and shown to its owner: no server paths (src/services/outage.ts).
      const message = withoutPaths(error instanceof Error ? error.message : String(error));
      note(`Failed: ${message}`, 'error');
      await writes;
      await core.lifecycle.fail(em, job, code, message, stepDurationsMs);
      throw new UnrecoverableError(message);
    } finally {
      clearTimeout(timer);
      await cancelRequests.return?.();
    }
  };
}
