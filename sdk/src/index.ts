export { Atelier, AtelierError, FINISHED, GENERATION_KINDS } from './client.ts';
export type { Asset, AtelierOptions, GenerationInput, GenerationKind, Job, JobDetail, JobEvent } from './client.ts';
export * as operations from './operations.ts';
