import { randomInt, randomUUID } from 'node:crypto';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { Asset, type AssetKind } from '../db/entities/asset.entity.ts';
import { Batch } from '../db/entities/batch.entity.ts';
import { FINAL_JOB_STATUSES, JOB_KINDS, JOB_STATUSES, Job, type JobKind, type JobStatus } from '../db/entities/job.entity.ts';
import { JobLog } from '../db/entities/job-log.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import type { JobEvent, PubSub } from '../pubsub/pubsub.ts';

export { jobEvent, publishJobEvent };
export type { QueueInfo };
import { ENGINE_FAMILIES, type EngineFamily, isEngineFamily } from '../queue/queue.names.ts';
import { dequeueGeneration, enqueueGeneration, type GenerationQueues } from '../queue/queue.producer.ts';
import { endedJobsFilter, jobEvent, publishJobEvent } from '../jobs/jobs.events.ts';
import { type EventStream, filterStream } from '../pubsub/event-stream.ts';
import { jobQueries, type QueueInfo, type QueueInfoReader } from '../jobs/jobs.query.ts';
import { jobsRepository, toJob } from '../jobs/jobs.repository.ts';
import { enginesFor } from '../jobs/jobs.state.ts';
import { type Actor, canSeeOwnedBy, isAdmin } from './actor.ts';
import { AppError, badInput, forbidden, notFound } from './errors.ts';
import {
  generateBatchInput,
  generateImageInput,
  generateTalkingHeadInput,
  generateVideoInput,
  MAX_SEED,
  synthesizeSpeechInput,
  upscaleImageInput,
  chooseVideoUpscaler,
  type UpscaleImageInput,
  type UpscaleJobInput,
  type GenerateImageInput,
  type GenerateTalkingHeadInput,
  type GenerateVideoInput,
  type ImageJobInput,
  type SpeechJobInput,
  type SynthesizeSpeechInput,
  type TalkingHeadJobInput,
  type VideoJobInput,
} from './generation.inputs.ts';
import { type KeysetCursor, parsePageArgs, toPage, type Page, type PageArgs } from './pagination.ts';
import type { ProfileService } from './profile.service.ts';
import type { ProviderService } from './provider.service.ts';
import { MediaLimits } from './media-limits.ts';
import type { QuotaService } from './quota.service.ts';
import type { WorkerRegistry } from './worker-registry.service.ts';
import { getTalkingHeadConfig } from './user.service.ts';
import { isUuid, parseInput } from './validation.ts';
import { findVoice, BUILTIN_VOICES } from './voice.catalog.ts';

export interface JobFilter extends PageArgs {
  status?: JobStatus | null;
  kind?: JobKind | null;
  engine?: string | null;
  search?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  order?: 'NEWEST' | 'OLDEST' | null;
  batchId?: string | null;
}

const jobFilter = z.object({
  status: z.enum(JOB_STATUSES).nullish(),
  kind: z.enum(JOB_KINDS).nullish(),
  engine: z.string().trim().min(1).max(64).nullish(),
  search: z.string().trim().min(1).max(200).nullish(),
  createdAfter: z.date().nullish(),
  createdBefore: z.date().nullish(),
  order: z.enum(['NEWEST', 'OLDEST']).nullish(),
  batchId: z.uuid().nullish(),
});

export interface JobStats {
  total: number;
  byStatus: { status: JobStatus; count: number }[];
  byKind: { kind: JobKind; count: number }[];
}

export interface BatchProgress {
  batchId: string;
  status: 'QUEUED' | 'PROCESSING' | 'COMPLETED' | 'COMPLETED_WITH_ERRORS' | 'FAILED';
  total: number;
  queued: number;
  processing: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Mean progress of the batch's jobs, a finished job counting 100. */
  progress: number;
  cost: number;
}

export const isFinalStatus = (status: JobStatus) => FINAL_JOB_STATUSES.includes(status);


interface Quota {
  kind: 'IMAGE' | 'VIDEO';
  check: () => Promise<void> | undefined;
}

export interface Submission {
  kind: JobKind;
  input: object;
  priority: number;
  timeout: number;
  prompt: string | null;
  engine: EngineFamily;
  batch?: Batch;
}

export class JobService {
  private readonly queues: GenerationQueues;
  private readonly queueInfoReader: QueueInfoReader | undefined;
  private readonly pubsub: PubSub;
  private readonly profiles: ProfileService;
  private readonly defaultEngine: EngineFamily;
  private readonly quotas: QuotaService | undefined;
  private readonly workers: WorkerRegistry | undefined;
  private readonly providers: ProviderService | undefined;
  /**
   * One for every `jobs` subscriber of this process, not one each: all of them see the same events in the same
   * order, so the verdict on an event is the same for each, and is reached once (per event object).
   */
  private readonly notEnded = endedJobsFilter();

  constructor(deps: {
    queues: GenerationQueues;
    /** Queue position and ETA at read time (none without it). */
    queueInfo?: QueueInfoReader;
    pubsub: PubSub;
    profiles: ProfileService;
    defaultEngine?: EngineFamily;
    quotas?: QuotaService;
    /** Knows the model packs the live workers have, to check `model` on a request. */
    workers?: WorkerRegistry;
    /** Routes image requests to paid providers (engine "provider"). */
    providers?: ProviderService;
  }) {
    this.queues = deps.queues;
    this.queueInfoReader = deps.queueInfo;
    this.pubsub = deps.pubsub;
    this.profiles = deps.profiles;
    this.defaultEngine = deps.defaultEngine ?? 'builtin';
    this.quotas = deps.quotas;
    this.workers = deps.workers;
    this.providers = deps.providers;
  }

  /**
   * The request's engine, else its project's default, else the configured default; refused here when it
   * cannot run this kind of job, rather than failing later on a worker.
   */
  private engineFor(kind: JobKind, requested: string | null | undefined, projectDefault: string | null | undefined): EngineFamily {
    const engine = requested ?? projectDefault ?? this.defaultEngine;
    if (!isEngineFamily(engine)) {
      throw badInput(`Unknown engine "${engine}". Available: ${ENGINE_FAMILIES.join(', ')}`, { field: 'engine' });
    }
    const able = enginesFor(kind);
    if (!able.includes(engine)) {
      throw badInput(`The ${engine} engine cannot run ${kind} jobs. Engines that can: ${able.join(', ')}`, { field: 'engine', engines: [...able] });
    }
    return engine;
  }

  /* ---- submission ---- */

  private async resolveImage(em: EntityManager, raw: GenerateImageInput) {
    const { priority, timeout, engine, ...request } = parseInput(generateImageInput, raw);
    const applied = await this.profiles.apply(em, request);
    const input: ImageJobInput = {
      prompt: applied.prompt,
      negativePrompt: applied.negativePrompt ?? null,
      width: request.width,
      height: request.height,
      steps: request.steps,
      guidance: request.guidance,
      seed: applied.seed ?? randomInt(0, MAX_SEED),
      numImages: request.numImages,
      style: applied.style ?? null,
      providerId: request.providerId ?? null,
      extraParams: request.extraParams ?? null,
      characterId: request.characterId ?? null,
      projectId: request.projectId ?? null,
      model: request.model ?? null,
      initImageAssetId: request.initImageAssetId ?? null,
      strength: request.strength,
      gpuPreference: request.gpuPreference ?? null,
    };
    // Naming a local model means the onnx engine unless the request says otherwise.
    // Naming a provider means the paid providers, as naming a local model means onnx.
    const family = this.engineFor('IMAGE', engine ?? (request.providerId ? 'provider' : request.model ? 'onnx' : null), applied.engine);
    if (family === 'provider' && this.providers) {
      Object.assign(input, { route: await this.providers.routeImage(em, input, applied.seed != null) });
    }
    if (request.model && family === 'onnx' && this.workers) {
      await this.workers.requireModel(request.model, ['STABLE_DIFFUSION', 'SDXL'], 'model');
    }
    return { kind: 'IMAGE' as const, input, priority, timeout, prompt: input.prompt, engine: family };
  }

  async createImageJob(em: EntityManager, actor: Actor, raw: GenerateImageInput): Promise<Job> {
    const resolved = await this.resolveImage(em, raw);
    if (resolved.input.initImageAssetId) await this.requireAsset(em, actor, resolved.input.initImageAssetId, 'IMAGE', 'initImageAssetId');
    const check = () => this.quotas?.checkImages(em, actor, [{ width: resolved.input.width, height: resolved.input.height, count: resolved.input.numImages }]);
    return this.submit(em, actor, resolved, { kind: 'IMAGE', check });
  }

  /** An IMAGE job on the onnx engine that upscales a stored image with an ESRGAN-family pack. */
  async createUpscaleJob(em: EntityManager, actor: Actor, raw: UpscaleImageInput): Promise<Job> {
    const { priority, timeout, assetId, scale, model } = parseInput(upscaleImageInput, raw);
    await this.requireAsset(em, actor, assetId, 'IMAGE', 'assetId');
    await this.workers?.requireUpscaler(scale, model);
    const input: UpscaleJobInput = { upscale: { assetId, scale, model: model ?? null } };
    return this.submit(em, actor, { kind: 'IMAGE', input, priority, timeout, prompt: null, engine: 'onnx' });
  }

  async createVideoJob(em: EntityManager, actor: Actor, raw: GenerateVideoInput): Promise<Job> {
    const { priority, timeout, engine, ...request } = parseInput(generateVideoInput, raw);
    const applied = await this.profiles.apply(em, request);
    if (request.imageAssetId) await this.requireAsset(em, actor, request.imageAssetId, 'IMAGE', 'imageAssetId');
    const fps = request.videoConfig?.fps ?? request.fps;
    const [width, height] = request.videoConfig?.resolution ?? [512, 512];
    const scenes = request.scenes?.length
      ? request.scenes.map((scene) => ({ prompt: scene.prompt, frames: Math.max(1, Math.round(scene.duration * fps)) }))
      : [{ prompt: applied.prompt, frames: request.numFrames }];
    const totalFrames = scenes.reduce((sum, s) => sum + s.frames, 0);
    if (totalFrames > 1440) throw badInput(`The scenes add up to ${totalFrames} frames; at most 1440`, { field: 'scenes' });
    const input: VideoJobInput = {
      prompt: applied.prompt,
      negativePrompt: applied.negativePrompt ?? null,
      width,
      height,
      fps,
      motionScale: request.motionScale,
      seed: applied.seed ?? randomInt(0, MAX_SEED),
      imageAssetId: request.imageAssetId ?? null,
      scenes,
      upscale: request.videoConfig?.upscale ?? false,
      characterId: request.characterId ?? null,
      projectId: request.projectId ?? null,
    };
    const requested = engine ?? applied.engine ?? null;
    if (input.upscale && (requested === null || requested === 'onnx')) {
      // Only a request naming onnx insists; a project's default engine does not.
      input.upscaleModel = await this.videoUpscaler(width, height, engine === 'onnx');
    }
    // An upscale a live worker can do sends the video to the onnx engine, which renders and then upscales.
    const family = this.engineFor('VIDEO', engine ?? (input.upscaleModel ? 'onnx' : null), applied.engine);
    const check = () => this.quotas?.checkVideo(em, actor, { width, height, frames: totalFrames, durationSeconds: totalFrames / fps });
    return this.submit(em, actor, { kind: 'VIDEO', input, priority, timeout, prompt: input.prompt, engine: family }, { kind: 'VIDEO', check });
  }

  /**
   * The ESRGAN pack of a live worker that fits the video's size. Without one the video is still made, at its
   * size and marked not upscaled, unless the request insisted on the onnx engine.
   */
  private async videoUpscaler(width: number, height: number, required: boolean): Promise<string | null> {
    const upscalers = this.workers ? (await this.workers.models()).filter((m) => m.kind === 'UPSCALE') : [];
    const chosen = chooseVideoUpscaler(upscalers, width, height);
    if (chosen || !required) return chosen?.name ?? null;
    const list = upscalers.map((m) => `${m.name} (×${m.details.scale})`).join(', ') || 'none (no worker with an upscale pack is online)';
    throw badInput(`No ×2 or ×4 upscale model can upscale to ${width}x${height} (both sides must divide by the scale). Available: ${list}`, {
      field: 'videoConfig.upscale',
    });
  }

  async createSpeechJob(em: EntityManager, actor: Actor, raw: SynthesizeSpeechInput): Promise<Job> {
    const { priority, timeout, engine, ...input } = parseInput(synthesizeSpeechInput, raw);
    if (this.quotas) await new MediaLimits(this.quotas).checkSpeech(em, actor, input.text);
    // Piper voices (VOICE packs on onnx workers) are named by their pack and run on the onnx engine.
    const piperVoices = findVoice(input.voiceId) || !this.workers ? [] : (await this.workers.models()).filter((m) => m.kind === 'VOICE').map((m) => m.name);
    const piper = piperVoices.includes(input.voiceId);
    if (!findVoice(input.voiceId) && !piper) {
      throw badInput(`Unknown voiceId "${input.voiceId}". Available: ${[...BUILTIN_VOICES.map((v) => v.id), ...piperVoices].join(', ')}`, {
        field: 'voiceId',
      });
    }
    const stored: SpeechJobInput = input;
    const family = this.engineFor('SPEECH', engine ?? (piper ? 'onnx' : null), null);
    return this.submit(em, actor, { kind: 'SPEECH', input: stored, priority, timeout, prompt: input.text, engine: family });
  }

  async createTalkingHeadJob(em: EntityManager, actor: Actor, raw: GenerateTalkingHeadInput): Promise<Job> {
    const { priority, timeout, engine, ...request } = parseInput(generateTalkingHeadInput, raw);
    await this.requireAsset(em, actor, request.imageAssetId, 'IMAGE', 'imageAssetId');
    await this.requireAsset(em, actor, request.audioAssetId, 'AUDIO', 'audioAssetId');
    if (this.quotas) await new MediaLimits(this.quotas).checkAudioAsset(em, actor, request.audioAssetId);
    const config = await getTalkingHeadConfig(em, actor.userId);
    const input: TalkingHeadJobInput = {
      imageAssetId: request.imageAssetId,
      audioAssetId: request.audioAssetId,
      useCache: request.useCache ?? config.enableCache,
      fps: request.fps,
      guidanceScale: config.guidanceScale,
      inferenceSteps: config.inferenceSteps,
    };
    return this.submit(em, actor, { kind: 'TALKING_HEAD', input, priority, timeout, prompt: null, engine: this.engineFor('TALKING_HEAD', engine, null) });
  }

  /** Validates every request first, so a batch is accepted whole or refused whole. */
  async createBatch(em: EntityManager, actor: Actor, raw: { requests: unknown[]; priority?: number | null; metadata?: unknown }) {
    const batchInput = parseInput(generateBatchInput, raw);
    const resolved: Awaited<ReturnType<JobService['resolveImage']>>[] = [];
    for (const [index, request] of batchInput.requests.entries()) {
      try {
        resolved.push(await this.resolveImage(em, { ...(request as GenerateImageInput), priority: batchInput.priority }));
      } catch (error) {
        if (error instanceof AppError) throw badInput(`requests[${index}]: ${error.message}`, { field: `requests.${index}`, ...error.details });
        throw error;
      }
    }
    const check = () => this.quotas?.checkImages(em, actor, resolved.map((r) => ({ width: r.input.width, height: r.input.height, count: r.input.numImages })));
    const batch = em.create(
      Batch,
      {
        id: randomUUID(),
        owner: em.getReference(User, actor.userId),
        priority: batchInput.priority,
        metadata: batchInput.metadata ?? null,
        total: resolved.length,
        createdAt: new Date(),
      },
      { persist: false },
    );
    const jobs = resolved.map((r) => this.newJob(em, actor, { ...r, batch }));
    // A batch and its jobs are stored whole or not at all, so always in a transaction.
    await this.store(em, actor, { kind: 'IMAGE', check }, jobs, batch);
    await Promise.all(jobs.map((job) => this.enqueue(em, job)));
    return batch;
  }

  /**
   * Writes new rows. The common case is one INSERT on one connection. Only a daily limit needs a transaction:
   * its check holds the user's quota lock until commit, so two requests at the limit cannot both count the same
   * room.
   */
  private async store(em: EntityManager, actor: Actor, quota: Quota | undefined, jobs: Job[], batch?: Batch): Promise<void> {
    const daily = quota && this.quotas ? await this.quotas.hasDailyLimit(em, actor, quota.kind) : false;
    if (!daily && !batch) {
      await quota?.check();
      await jobsRepository.insert(em, jobs);
      return;
    }
    await em.begin();
    try {
      await quota?.check();
      if (batch) await em.insert(Batch, batch);
      await jobsRepository.insert(em, jobs);
      await em.commit();
    } catch (error) {
      await em.rollback();
      throw error;
    }
  }

  /** A new job with every column set here, so storing it needs no RETURNING and no re-read. */
  private newJob(em: EntityManager, actor: Actor, submission: Submission): Job {
    return em.create(
      Job,
      {
        id: randomUUID(),
        kind: submission.kind,
        status: 'QUEUED',
        progress: 0,
        input: submission.input as Record<string, unknown>,
        priority: submission.priority,
        timeoutSeconds: submission.timeout,
        prompt: submission.prompt,
        engine: submission.engine,
        cost: 0,
        attempt: 0,
        batch: submission.batch ?? null,
        owner: em.getReference(User, actor.userId),
        createdAt: new Date(),
      },
      { persist: false },
    );
  }

  /** Stores and queues a job whose input another service (e.g. ComfyService) has already validated. */
  async submitValidated(em: EntityManager, actor: Actor, submission: Submission): Promise<Job> {
    this.engineFor(submission.kind, submission.engine, null);
    return this.submit(em, actor, submission);
  }

  private async submit(em: EntityManager, actor: Actor, submission: Submission, quota?: Quota): Promise<Job> {
    const job = this.newJob(em, actor, submission);
    await this.store(em, actor, quota, [job]);
    await this.enqueue(em, job);
    return job;
  }

  /**
   * Announces and queues a stored job. QUEUED goes out on the same Redis connection just before the queue entry,
   * so no worker can start (and announce PROCESSING) before it. If the queue cannot take the job, the row says so
   * rather than vanishing.
   */
  private async enqueue(em: EntityManager, job: Job): Promise<void> {
    const announced = publishJobEvent(this.pubsub, jobEvent(job)).catch(() => undefined);
    try {
      await enqueueGeneration(this.queues, job);
    } catch (error) {
      await announced;
      const message = 'The job queue is unavailable; the job was not queued. Retry later.';
      const row = await jobsRepository.fail(em, job.id, 'QUEUE_UNAVAILABLE', message);
      if (row) await publishJobEvent(this.pubsub, jobEvent(toJob(em, row))).catch(() => undefined);
      throw new AppError('SERVICE_UNAVAILABLE', message, { jobId: job.id, cause: (error as Error).message });
    }
    await announced;
  }

  private async requireAsset(em: EntityManager, actor: Actor, id: string, kind: AssetKind, field: string): Promise<Asset> {
    const asset = isUuid(id) ? await em.findOne(Asset, { id }) : null;
    if (!asset || !canSeeOwnedBy(actor, asset.owner.id)) throw badInput(`No asset ${id} of yours`, { field });
    if (asset.kind !== kind) throw badInput(`Asset ${id} is ${asset.kind.toLowerCase()}, not ${kind.toLowerCase()}`, { field });
    return asset;
  }

  /* ---- control ---- */

  async cancelJob(em: EntityManager, actor: Actor, id: string): Promise<Job> {
    const job = await this.getJob(em, actor, id);
    const row = await jobsRepository.cancel(em, id);
    if (!row) throw new AppError('CONFLICT', `Job ${id} is already ${job.status} and cannot be cancelled`, { status: job.status });
    const cancelled = toJob(em, row);
    // A waiting entry is removed; a running one is locked by its worker, which stops at its next step.
    await dequeueGeneration(this.queues, cancelled).catch(() => false);
    await this.pubsub.publish('cancel', undefined, { jobId: id }).catch(() => undefined);
    await publishJobEvent(this.pubsub, jobEvent(cancelled)).catch(() => undefined);
    return cancelled;
  }

  async retryJob(em: EntityManager, actor: Actor, id: string): Promise<Job> {
    const job = await this.getJob(em, actor, id);
    const row = await jobsRepository.retry(em, id);
    if (!row) {
      throw new AppError('CONFLICT', `Only failed or cancelled jobs can be retried; job ${id} is ${job.status}`, { status: job.status });
    }
    const queued = toJob(em, row);
    await this.enqueue(em, queued);
    return queued;
  }

  /**
   * Waits until the job reaches a final state or `timeoutMs` passes, and returns the job as it then is
   * (the REST faces answer synchronously when the client is willing to wait).
   */
  async awaitJob(em: EntityManager, actor: Actor, jobOrId: Job | string, timeoutMs: number): Promise<Job> {
    // Not waiting: the job just submitted is what the client gets, without reading it back.
    if (timeoutMs <= 0 && typeof jobOrId !== 'string') return jobOrId;
    const id = typeof jobOrId === 'string' ? jobOrId : jobOrId.id;
    if (timeoutMs > 0) {
      const events = await this.watchJob(em, actor, id);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      try {
        for (;;) {
          const step = await Promise.race([events.next(), timedOut]);
          if (step === 'timeout' || step.done || isFinalStatus(step.value.status)) break;
        }
      } finally {
        clearTimeout(timer);
        await events.return?.();
      }
    }
    em.clear();
    return this.getJob(em, actor, id);
  }

  /* ---- reading ---- */

  async getJob(em: EntityManager, actor: Actor, id: string): Promise<Job> {
    const job = isUuid(id) ? await em.findOne(Job, { id }) : null;
    if (!job) throw notFound('Job', id);
    if (!canSeeOwnedBy(actor, job.owner.id)) throw forbidden(`Job ${id} belongs to another user`);
    return job;
  }

  async listJobs(em: EntityManager, actor: Actor, args: JobFilter): Promise<Page<Job>> {
    const { limit, after } = parsePageArgs(args);
    const filter = parseInput(jobFilter, args);
    const query = jobQueries.list({ ...filter, ownerId: isAdmin(actor) ? null : actor.userId, oldestFirst: filter.order === 'OLDEST', after, limit: limit + 1 });
    const rows = (await em.execute<Record<string, unknown>[]>(query.sql, query.params)).map((row) => toJob(em, row));
    return toPage(rows, limit, after !== null);
  }

  async listAssets(em: EntityManager, actor: Actor, args: PageArgs & { kind?: AssetKind | null }): Promise<Page<Asset>> {
    const { limit, after } = parsePageArgs(args);
    const where: FilterQuery<Asset>[] = [];
    if (!isAdmin(actor)) where.push({ owner: actor.userId });
    if (args.kind) where.push({ kind: args.kind });
    if (after) where.push(keysetAfter(after, false) as FilterQuery<Asset>);
    const rows = await em.find(Asset, { $and: where }, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
    return toPage(rows, limit, after !== null);
  }

  async stats(em: EntityManager, actor: Actor, everyone: boolean): Promise<JobStats> {
    if (everyone && !isAdmin(actor)) throw forbidden('Only admins can see everyone’s statistics');
    const query = jobQueries.stats(everyone ? null : actor.userId);
    const rows = await em.execute<{ status: JobStatus; kind: JobKind; count: number }[]>(query.sql, query.params);
    const sum = <K extends string>(key: (r: (typeof rows)[number]) => K, keys: readonly K[]) =>
      keys.map((k) => ({ key: k, count: rows.filter((r) => key(r) === k).reduce((s, r) => s + Number(r.count), 0) }));
    return {
      total: rows.reduce((s, r) => s + Number(r.count), 0),
      byStatus: sum((r) => r.status, JOB_STATUSES).map(({ key, count }) => ({ status: key, count })),
      byKind: sum((r) => r.kind, JOB_KINDS).map(({ key, count }) => ({ kind: key, count })),
    };
  }

  async jobLogs(em: EntityManager, actor: Actor, id: string): Promise<JobLog[]> {
    await this.getJob(em, actor, id);
    return em.find(JobLog, { job: id }, { orderBy: { id: 'asc' } });
  }

  /** Where a queued job stands, and when a job should finish: read from BullMQ and Redis, never from `jobs`. */
  async queueInfo(_em: EntityManager, job: Job): Promise<QueueInfo> {
    if (!this.queueInfoReader || isFinalStatus(job.status)) return { queuePosition: null, etaSeconds: null };
    return this.queueInfoReader.read(job).catch(() => ({ queuePosition: null, etaSeconds: null }));
  }

  /* ---- batches ---- */

  async getBatch(em: EntityManager, actor: Actor, id: string): Promise<Batch> {
    const batch = isUuid(id) ? await em.findOne(Batch, { id }) : null;
    if (!batch) throw notFound('Batch', id);
    if (!canSeeOwnedBy(actor, batch.owner.id)) throw forbidden(`Batch ${id} belongs to another user`);
    return batch;
  }

  async batchProgress(em: EntityManager, batch: Batch): Promise<BatchProgress> {
    const query = jobQueries.batchProgress(batch.id);
    const rows = await em.execute<{ status: JobStatus; n: number; progress: number; cost: number }[]>(query.sql, query.params);
    const count = (status: JobStatus) => rows.find((r) => r.status === status)?.n ?? 0;
    const counts = {
      queued: count('QUEUED'),
      processing: count('PROCESSING'),
      completed: count('COMPLETED'),
      failed: count('FAILED'),
      cancelled: count('CANCELLED'),
    };
    const finished = counts.completed + counts.failed + counts.cancelled;
    const progressSum = rows.reduce((sum, r) => sum + (isFinalStatus(r.status) ? 100 * r.n : r.progress), 0);
    const status: BatchProgress['status'] =
      finished === batch.total
        ? counts.completed === batch.total
          ? 'COMPLETED'
          : counts.completed > 0
            ? 'COMPLETED_WITH_ERRORS'
            : 'FAILED'
        : counts.queued === batch.total
          ? 'QUEUED'
          : 'PROCESSING';
    return {
      batchId: batch.id,
      status,
      total: batch.total,
      ...counts,
      progress: batch.total ? Math.floor(progressSum / batch.total) : 100,
      cost: rows.reduce((sum, r) => sum + Number(r.cost), 0),
    };
  }

  /* ---- live ---- */

  /** A live stream of one job's changes, starting with its current state and ending at a final state. */
  async watchJob(em: EntityManager, actor: Actor, id: string): Promise<EventStream<JobEvent>> {
    await this.getJob(em, actor, id);
    const events = await this.pubsub.subscribe('job', id);
    // Read after subscribing: any later change arrives as an event, none falls in between.
    em.clear();
    const job = await this.getJob(em, actor, id);
    const snapshot = jobEvent(job, await this.queueInfo(em, job));
    return untilFinal(snapshot, events);
  }

  /** A live stream of changes to the caller's jobs (every job, for an admin). */
  async watchJobs(actor: Actor): Promise<EventStream<JobEvent>> {
    const events = await this.pubsub.subscribe('jobs');
    // Asked of every event (the filter must see each job's final event), whoever may see it.
    return filterStream(events, (event) => this.notEnded(event) && canSeeOwnedBy(actor, event.ownerId));
  }

  /** The batch's aggregate now, then again after each change of one of its jobs, until all have finished. */
  async watchBatch(em: EntityManager, actor: Actor, id: string): Promise<AsyncIterableIterator<BatchProgress>> {
    const batch = await this.getBatch(em, actor, id);
    const events = await this.pubsub.subscribe('batch', id);
    let sentFirst = false;
    let finished = false;
    const done = { value: undefined, done: true } as IteratorReturnResult<undefined>;
    const aggregate = async () => {
      const progress = await this.batchProgress(em.fork(), batch);
      if (progress.status !== 'QUEUED' && progress.status !== 'PROCESSING') {
        finished = true;
        await events.return?.();
      }
      return { value: progress, done: false as const };
    };
    const iterator: AsyncIterableIterator<BatchProgress> = {
      async next() {
        if (finished) return done;
        if (!sentFirst) {
          sentFirst = true;
          return aggregate();
        }
        const step = await events.next();
        if (step.done) return done;
        return aggregate();
      },
      async return() {
        finished = true;
        await events.return?.();
        return done;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}

/** The keyset condition "strictly after this cursor" in the page's order. */
function keysetAfter(cursor: KeysetCursor, ascending: boolean): FilterQuery<Job> {
  const op = ascending ? '$gt' : '$lt';
  return { $or: [{ createdAt: { [op]: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { [op]: cursor.id } }] } as FilterQuery<Job>;
}

/**
 * `first` (the job's state when the watch began), then the job's events until its final one; progress within one
 * run never goes back. Pulled or pushed as `rest` is.
 */
function untilFinal(first: JobEvent, rest: EventStream<JobEvent>): EventStream<JobEvent> {
  let sentFirst = false;
  let finished = false;
  let last = first;
  const done = { value: undefined, done: true } as IteratorReturnResult<undefined>;
  const finish = async () => {
    finished = true;
    await rest.return?.();
  };
  /** Whether `event` is shown: within one run, events may arrive out of order across publishers. */
  const shown = (event: JobEvent) => {
    const sameRun = event.status === 'PROCESSING' && last.status === 'PROCESSING';
    if (sameRun && event.progress < last.progress) return false;
    last = event;
    return true;
  };
  const stream: EventStream<JobEvent> = {
    async next() {
      if (finished) return done;
      if (!sentFirst) {
        sentFirst = true;
        if (isFinalStatus(first.status)) await finish();
        return { value: first, done: false };
      }
      for (;;) {
        const step = await rest.next();
        if (step.done) return finish().then(() => done);
        const event = step.value;
        if (!shown(event)) continue;
        if (isFinalStatus(event.status)) await finish();
        return { value: event, done: false };
      }
    },
    async return() {
      await finish();
      return done;
    },
    listen(sink, end) {
      if (!sentFirst) {
        sentFirst = true;
        sink(first);
        if (isFinalStatus(first.status)) void finish();
      }
      if (finished) return end();
      // From here, ending `rest` (its final event, or return()) calls `end`.
      rest.listen((event) => {
        if (finished || !shown(event)) return;
        sink(event);
        if (isFinalStatus(event.status)) void finish();
      }, end);
    },
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}
