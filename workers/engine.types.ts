import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Core } from '../src/core.ts';
import type { Asset } from '../src/db/entities/asset.entity.ts';
import type { Job } from '../src/db/entities/job.entity.ts';
import type { JobLogLevel } from '../src/db/entities/job-log.entity.ts';
import type { GenerationJobName } from '../src/queue/queue.names.ts';
import type { NewAsset } from '../src/services/job-lifecycle.service.ts';
import type { WorkerState } from '../src/services/worker-registry.service.ts';

export interface EngineRun {
  job: Job;
  em: EntityManager;
  log: Logger;
  /** Aborted when the job is cancelled, times out, or the worker shuts down: stop at the next step. */
  signal: AbortSignal;
  /** Reports overall progress in [0, 1], once per step; calls are applied in order. */
  progress(fraction: number, message: string): void;
  /** A line for the job's own log (Query.jobLogs), kept after the job ends. */
  note(message: string, level?: JobLogLevel): void;
  saveAsset(asset: NewAsset): Promise<Asset>;
  /** Reads a stored asset (an upload or an earlier output) that the job refers to. */
  readAsset(assetId: string): Promise<{ asset: Asset; data: Buffer }>;
  /** What the job was billed so far; the processor stores it with the job's outcome (success or failure). */
  reportCost?(cost: number): void;
  /** Facts the engine learnt that must be on the job while it runs (e.g. ComfyUI's prompt id); the processor stores them. */
  annotate?(fields: Record<string, string | number | boolean | null>): Promise<void>;
}

export interface EngineOutput {
  assets: Asset[];
  /** Extra fields merged into the job's result. */
  extra?: Record<string, unknown>;
  /** What the job cost (paid providers); stored on the job by the processor. */
  cost?: number;
}

/** An engine runs some job names; a worker refuses to start if two of its engines claim the same name. */
export interface Engine {
  readonly name: string;
  readonly jobNames: readonly GenerationJobName[];
  run(run: EngineRun): Promise<EngineOutput>;
  close?(): Promise<void>;
  /** What the engine adds to the worker's heartbeat (models, execution provider, allocations). */
  status?(): EngineStatus;
  /** Resolves when the engine has finished starting (e.g. found its models); the worker waits for it. */
  ready?(): Promise<void>;
}

export type EngineStatus = Partial<
  Pick<WorkerState, 'executionProvider' | 'executionProviderNote' | 'models' | 'allocations' | 'modelLoads'>
>;

export interface EngineDeps {
  core: Core;
  threads: number;
  log?: Logger;
}
