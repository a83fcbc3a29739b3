import type { JobKind, JobStatus } from '../db/entities/job.entity.ts';
import type { EngineFamily } from '../queue/queue.names.ts';

/**
 * The one table of a job's allowed status changes. Every status write in jobs.repository.ts is a conditional
 * UPDATE whose WHERE clause comes from here, so a write that races another (a cancel against a finish) loses
 * in the database, never in memory.
 */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  // QUEUED → FAILED: the queue refused it, or BullMQ gave up on it before it ran.
  QUEUED: ['PROCESSING', 'CANCELLED', 'FAILED'],
  // PROCESSING → PROCESSING: a dead worker's job started again from the beginning.
  PROCESSING: ['PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'],
  COMPLETED: [],
  // Retry.
  FAILED: ['QUEUED'],
  CANCELLED: ['QUEUED'],
};

/** The statuses a job may be in for a change to `to`: what a status write's WHERE clause allows. */
export function sourcesOf(to: JobStatus): JobStatus[] {
  return (Object.keys(TRANSITIONS) as JobStatus[]).filter((from) => TRANSITIONS[from].includes(to));
}

export const canTransition = (from: JobStatus, to: JobStatus) => TRANSITIONS[from].includes(to);

/**
 * Which engine family can run which kind of job: a request for a pair not listed here is refused at submission,
 * rather than failing later on a worker with NO_ENGINE. Mirrors the `jobNames` of workers/engines.
 */
export const KIND_ENGINES: Readonly<Record<JobKind, readonly EngineFamily[]>> = {
  IMAGE: ['builtin', 'onnx', 'comfyui', 'provider'],
  VIDEO: ['builtin', 'onnx', 'comfyui'],
  SPEECH: ['builtin', 'onnx'],
  TALKING_HEAD: ['builtin', 'comfyui'],
  WORKFLOW: ['comfyui'],
};

export const enginesFor = (kind: JobKind) => KIND_ENGINES[kind];
