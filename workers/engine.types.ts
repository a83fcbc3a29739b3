import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Asset } from '../src/db/entities/asset.entity.ts';
import type { Job } from '../src/db/entities/job.entity.ts';
import type { GenerationJobName } from '../src/queue/queue.names.ts';
import type { NewAsset } from '../src/services/job-lifecycle.service.ts';

export interface EngineRun {
  job: Job;
  em: EntityManager;
  log: Logger;
  /** Aborted when the job is cancelled or the worker shuts down. */
  signal: AbortSignal;
  /** Reports overall progress in [0, 1]; calls are applied in order. */
  progress(fraction: number, message: string): void;
  saveAsset(asset: NewAsset): Promise<Asset>;
}

export interface EngineOutput {
  assets: Asset[];
  /** Extra fields merged into the job's result. */
  extra?: Record<string, unknown>;
}

/** An engine runs some job names; a worker refuses to start if two of its engines claim the same name. */
export interface Engine {
  readonly name: string;
  readonly jobNames: readonly GenerationJobName[];
  run(run: EngineRun): Promise<EngineOutput>;
  close?(): Promise<void>;
}
