import { withoutPaths } from '../src/services/outage.ts';
import { UnrecoverableError, type Job as QueueJob } from 'bullmq';
import type { Logger } from 'pino';
import type { Core } from '../src/core.ts';
import { Asset } from '../src/db/entities/asset.entity.ts';
import type { JobLogLevel } from '../src/db/entities/job-log.entity.ts';
import { workerId } from '../src/jobs/job-attempts.ts';
import { cancelListener } from '../src/jobs/jobs.cancel.ts';
import { jobsRepository } from '../src/jobs/jobs.repository.ts';
import type { GenerationJobName, GenerationPayload } from '../src/queue/queue.names.ts';
import { AppError } from '../src/services/errors.ts';
import type { Engine } from './engine.types.ts';

class JobTimeoutError extends Error {}
class JobCancelledError extends Error {}

/**
 * Runs one queued job in two statements: one UPDATE … RETURNING starts it, one statement stores its assets,
 * log lines and final state. Between them steps are published as they come and written to the row at most a
 * few times a second. A failure is recorded on the row and then raised as unrecoverable, so BullMQ does not
 * retry behind the user's back.
 */
export function createProcessor(core: Core, handlers: Map<GenerationJobName, Engine>, logger: Logger) {
  const cancels = cancelListener(core.pubsub);
  return async function process(queueJob: QueueJob<GenerationPayload>, _token?: string, workerSignal?: AbortSignal) {
    const { jobId } = queueJob.data;
    const log = logger.child({ jobId, queueJobId: queueJob.id, name: queueJob.name });
    const engine = handlers.get(queueJob.name as GenerationJobName);
    const em = core.orm.em.fork();
    if (!engine) {
      const message = `No engine on this worker runs "${queueJob.name}"`;
      await core.lifecycle.giveUp(em, jobId, 'NO_ENGINE', message);
      throw new UnrecoverableError(message);
    }
    const controller = new AbortController();
    // Watched before starting, so a cancel sent the moment the job starts is not missed.
    const unwatch = await cancels.watch(jobId, () => controller.abort(new JobCancelledError('Job cancelled')));
    const writeFailed = (error: unknown) => log.warn({ err: error }, 'job update failed');
    let run;
    try {
      run = await core.lifecycle.begin(em, jobId, engine.name, { startLine: `Started on ${engine.name}`, worker: workerId(), onWriteError: writeFailed });
    } catch (error) {
      unwatch();
      throw error;
    }
    if (!run) {
      unwatch();
      log.info('job no longer runnable; skipped');
      return { skipped: true };
    }
    const job = run.job;
    const timer = setTimeout(
      () => controller.abort(new JobTimeoutError(`Job exceeded its ${job.timeoutSeconds} s timeout`)),
      job.timeoutSeconds * 1000,
    );
    workerSignal?.addEventListener('abort', () => controller.abort(workerSignal.reason), { once: true });

    const started = performance.now();
    let lastStepAt = started;
    const stepDurationsMs: number[] = [];
    let cost: number | null = null;
    const note = (message: string, level: JobLogLevel = 'info') => {
      // A job's routine lines are in its stored log; the process log shows them at debug, its warnings always.
      log[level === 'info' ? 'debug' : level]({ engine: engine.name }, message);
      run.note(message, level);
    };
    const progress = (fraction: number, message: string) => {
      const now = performance.now();
      stepDurationsMs.push(Math.round((now - lastStepAt) * 100) / 100);
      lastStepAt = now;
      const elapsed = now - started;
      const eta = fraction > 0 && fraction < 1 ? Math.round((elapsed * (1 - fraction)) / fraction / 1000) : null;
      if (!controller.signal.aborted) run.progress(fraction * 100, message, eta);
    };

    log.debug({ engine: engine.name }, `Started on ${engine.name} (attempt ${job.attempt + 1})`);
    try {
      const output = await engine.run({
        job,
        em,
        log,
        signal: controller.signal,
        progress,
        note,
        saveAsset: (asset) => run.saveAsset(asset),
        readAsset: async (assetId) => {
          const asset = await em.findOneOrFail(Asset, { id: assetId });
          const chunks: Buffer[] = [];
          for await (const chunk of core.storage.open(asset.storageKey)) chunks.push(chunk as Buffer);
          return { asset, data: Buffer.concat(chunks) };
        },
        reportCost: (value) => (cost = value),
        annotate: (fields) => jobsRepository.annotateInput(em, job.id, fields),
      });
      controller.signal.throwIfAborted();
      note(`Completed in ${Math.round(performance.now() - started)} ms`);
      await run.complete(output.assets, output.extra ?? {}, stepDurationsMs, output.cost ?? cost);
      return { assetIds: output.assets.map((a) => a.id) };
    } catch (caught) {
      const error = controller.signal.aborted ? controller.signal.reason : caught;
      if (error instanceof JobCancelledError) {
        note('Stopped: cancelled', 'warn');
        await run.abandon();
        return { cancelled: true };
      }
      const code = error instanceof JobTimeoutError ? 'TIMEOUT' : error instanceof AppError ? error.code : 'ENGINE_ERROR';
      // Stored on the job and shown to its owner: no server paths (src/services/outage.ts).
      const message = withoutPaths(error instanceof Error ? error.message : String(error));
      note(`Failed: ${message}`, 'error');
      await run.fail(code, message, stepDurationsMs, cost);
      throw new UnrecoverableError(message);
    } finally {
      clearTimeout(timer);
      unwatch();
    }
  };
}
