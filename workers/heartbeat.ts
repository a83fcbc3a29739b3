import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { workerId } from '../src/jobs/job-attempts.ts';
import type { WorkerRegistry, WorkerState } from '../src/services/worker-registry.service.ts';
import type { EngineStatus } from './engine.types.ts';
import { createSystemSampler, startGpuMonitor } from './telemetry.ts';

export interface Heartbeat {
  id: string;
  /** Publishes one beat now (also done every interval). */
  beat(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Every worker process (whatever its engines) samples its GPUs and host each interval and publishes them
 * with its engines' status to the worker registry; a worker whose beats stop is reported lost.
 */
export function startHeartbeat(options: {
  registry: WorkerRegistry;
  engines: string[];
  runningJobs: () => string[];
  engineStatus: () => EngineStatus[];
  intervalMs: number;
  log: Logger;
}): Heartbeat {
  const id = workerId();
  const startedAt = new Date().toISOString();
  const sampleSystem = createSystemSampler();
  const gpus = startGpuMonitor({ intervalMs: options.intervalMs });
  let inFlight: Promise<void> | undefined;

  const beat = async () => {
    const statuses = options.engineStatus();
    const state: WorkerState = {
      id,
      host: hostname(),
      pid: process.pid,
      engines: options.engines,
      executionProvider: statuses.find((s) => s.executionProvider)?.executionProvider ?? null,
      executionProviderNote: statuses.find((s) => s.executionProviderNote)?.executionProviderNote ?? null,
      gpus: await gpus.firstSample.then(() => gpus.latest()),
      system: sampleSystem(),
      models: statuses.flatMap((s) => s.models ?? []),
      runningJobs: options.runningJobs(),
      allocations: statuses.flatMap((s) => s.allocations ?? []),
      modelLoads: statuses.flatMap((s) => s.modelLoads ?? []),
      startedAt,
      lastHeartbeat: new Date().toISOString(),
    };
    await options.registry.publish(state);
  };
  const tick = () => {
    // A slow Redis must not pile beats up.
    inFlight ??= beat()
      .catch((error) => options.log.warn({ err: error }, 'heartbeat failed'))
      .finally(() => (inFlight = undefined));
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return {
    id,
    beat,
    async stop() {
      clearInterval(timer);
      gpus.stop();
      await inFlight;
      await options.registry.remove(id).catch(() => undefined);
    },
  };
}
