import { randomInt } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AssetKind } from '../db/entities/asset.entity.ts';
import { Asset } from '../db/entities/asset.entity.ts';
import type { Batch } from '../db/entities/batch.entity.ts';
import type { Job, JobKind } from '../db/entities/job.entity.ts';
import type { JobLog } from '../db/entities/job-log.entity.ts';
import type { EventStream } from '../pubsub/event-stream.ts';
import type { JobEvent, PubSub } from '../pubsub/pubsub.ts';
import type { EngineFamily } from '../queue/queue.names.ts';
import type { GenerationQueues } from '../queue/queue.producer.ts';
import { cancelJob } from '../jobs/jobs.cancel.ts';
import type { QueueInfo, QueueInfoReader } from '../jobs/jobs.query.ts';
import { type BatchProgress, type JobFilter, JobReader, type JobStats } from '../jobs/jobs.read.ts';
import { JobSubmitter, type QuotaCheck, requireEngine, type Submission } from '../jobs/jobs.submit.ts';
import { JobWatcher } from '../jobs/jobs.watch.ts';
import { type Actor, canSeeOwnedBy, isAdmin } from './actor.ts';
import { AppError, badInput } from './errors.ts';
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
import type { FilterQuery } from '@mikro-orm/postgresql';
import type { EngineAlias } from './engine-aliases.ts';
import type { ProfileService } from './profile.service.ts';
import type { ProviderService } from './provider.service.ts';
import { MediaLimits } from './media-limits.ts';
import type { QuotaService } from './quota.service.ts';
import type { WorkerRegistry } from './worker-registry.service.ts';
import { getTalkingHeadConfig } from './user.service.ts';
import { isUuid, parseInput } from './validation.ts';
import { findVoice, BUILTIN_VOICES } from './voice.catalog.ts';


/**
 * What a project's engine alias ("instantid" → comfyui + sdxl_base) adds to a job that runs on the alias's own
 * family: the library workflow ComfyUI runs instead of the kind's default, or the model pack onnx loads when the
 * request names none. On any other family (the request chose another engine) the alias says nothing.
 */
function aliasChoices(alias: EngineAlias | null, family: EngineFamily, kind: JobKind, input: { model?: string | null }): { workflowName?: string; model?: string } {
  if (!alias || alias.engine !== family) return {};
  if (alias.kinds && !alias.kinds.includes(kind)) {
    const what = alias.workflow ? `the ${alias.workflow} workflow` : alias.modelPack ? `the ${alias.modelPack} pack` : `the ${alias.engine} engine`;
    throw badInput(`The preset's default engine runs ${what}, which makes ${alias.kinds.join(' or ')} jobs, not ${kind}`, { field: 'projectId' });
  }
  if (family === 'comfyui' && alias.workflow) return { workflowName: alias.workflow };
  if (family === 'onnx' && alias.modelPack && !input.model) return { model: alias.modelPack };
  return {};
}

/**
 * Turns each kind of generation request into a submission (defaults, profiles, provider routes, model and
 * asset checks) and hands it to the jobs module (src/jobs), which owns the rows, the queue entries and the
 * events. Reads, watches and control are the jobs module's, offered here so both faces have one door.
 */
export class JobService {
  private readonly profiles: ProfileService;
  private readonly defaultEngine: EngineFamily;
  private readonly quotas: QuotaService | undefined;
  private readonly workers: WorkerRegistry | undefined;
  private readonly providers: ProviderService | undefined;
  private readonly queues: GenerationQueues;
  private readonly pubsub: PubSub;
  private readonly submitter: JobSubmitter;
  private readonly reader: JobReader;
  private readonly watcher: JobWatcher;

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
    this.profiles = deps.profiles;
    this.defaultEngine = deps.defaultEngine ?? 'builtin';
    this.quotas = deps.quotas;
    this.workers = deps.workers;
    this.providers = deps.providers;
    this.queues = deps.queues;
    this.pubsub = deps.pubsub;
    this.submitter = new JobSubmitter({ queues: deps.queues, pubsub: deps.pubsub, quotas: deps.quotas });
    this.reader = new JobReader({ queueInfo: deps.queueInfo });
    this.watcher = new JobWatcher({ pubsub: deps.pubsub, reader: this.reader });
  }

  /** The request's engine, else its project's default, else the configured default. */
  private engineFor(kind: JobKind, requested: string | null | undefined, projectDefault: string | null | undefined): EngineFamily {
    return requireEngine(kind, requested ?? projectDefault ?? this.defaultEngine);
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
    Object.assign(input, aliasChoices(applied.alias, family, 'IMAGE', input));
    if (family === 'provider' && this.providers) {
      Object.assign(input, { route: await this.providers.routeImage(em, input, applied.seed != null) });
    }
    if (input.model && family === 'onnx' && this.workers) {
      await this.workers.requireModel(input.model, ['STABLE_DIFFUSION', 'SDXL'], 'model');
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
    // A model pack is an image model; for a video only the alias's workflow carries over.
    if (family === 'comfyui') Object.assign(input, aliasChoices(applied.alias, family, 'VIDEO', {}));
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
    return this.submitter.submitBatch(em, actor, { priority: batchInput.priority, metadata: batchInput.metadata, submissions: resolved }, { kind: 'IMAGE', check });
  }

  /** Stores and queues a job whose input another service (e.g. ComfyService) has already validated. */
  async submitValidated(em: EntityManager, actor: Actor, submission: Submission): Promise<Job> {
    this.engineFor(submission.kind, submission.engine, null);
    return this.submit(em, actor, submission);
  }

  private submit(em: EntityManager, actor: Actor, submission: Submission, quota?: QuotaCheck): Promise<Job> {
    return this.submitter.submit(em, actor, submission, quota);
  }

  private async requireAsset(em: EntityManager, actor: Actor, id: string, kind: AssetKind, field: string): Promise<Asset> {
    const asset = isUuid(id) ? await em.findOne(Asset, { id }) : null;
    if (!asset || !canSeeOwnedBy(actor, asset.owner.id)) throw badInput(`No asset ${id} of yours`, { field });
    if (asset.kind !== kind) throw badInput(`Asset ${id} is ${asset.kind.toLowerCase()}, not ${kind.toLowerCase()}`, { field });
    return asset;
  }

  /* ---- control, reads and live streams: the jobs module's ---- */

  async cancelJob(em: EntityManager, actor: Actor, id: string): Promise<Job> {
    const job = await this.reader.getJob(em, actor, id);
    const cancelled = await cancelJob({ queues: this.queues, pubsub: this.pubsub }, em, id);
    if (!cancelled) throw new AppError('CONFLICT', `Job ${id} is already ${job.status} and cannot be cancelled`, { status: job.status });
    return cancelled;
  }

  async retryJob(em: EntityManager, actor: Actor, id: string): Promise<Job> {
    const job = await this.reader.getJob(em, actor, id);
    const queued = await this.submitter.retry(em, id);
    if (!queued) throw new AppError('CONFLICT', `Only failed or cancelled jobs can be retried; job ${id} is ${job.status}`, { status: job.status });
    return queued;
  }

  awaitJob(em: EntityManager, actor: Actor, jobOrId: Job | string, timeoutMs: number): Promise<Job> {
    return this.watcher.awaitJob(em, actor, jobOrId, timeoutMs);
  }

  getJob(em: EntityManager, actor: Actor, id: string): Promise<Job> {
    return this.reader.getJob(em, actor, id);
  }

  listJobs(em: EntityManager, actor: Actor, args: JobFilter): Promise<Page<Job>> {
    return this.reader.listJobs(em, actor, args);
  }

  stats(em: EntityManager, actor: Actor, everyone: boolean): Promise<JobStats> {
    return this.reader.stats(em, actor, everyone);
  }

  jobLogs(em: EntityManager, actor: Actor, id: string): Promise<JobLog[]> {
    return this.reader.jobLogs(em, actor, id);
  }

  queueInfo(_em: EntityManager, job: Job): Promise<QueueInfo> {
    return this.reader.queueInfo(job);
  }

  getBatch(em: EntityManager, actor: Actor, id: string): Promise<Batch> {
    return this.reader.getBatch(em, actor, id);
  }

  batchProgress(em: EntityManager, batch: Batch): Promise<BatchProgress> {
    return this.reader.batchProgress(em, batch);
  }

  watchJob(em: EntityManager, actor: Actor, id: string): Promise<EventStream<JobEvent>> {
    return this.watcher.watchJob(em, actor, id);
  }

  watchJobs(actor: Actor): Promise<EventStream<JobEvent>> {
    return this.watcher.watchJobs(actor);
  }

  watchBatch(em: EntityManager, actor: Actor, id: string): Promise<AsyncIterableIterator<BatchProgress>> {
    return this.watcher.watchBatch(em, actor, id);
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

}

/** The keyset condition "strictly after this cursor" in the page's order. */
function keysetAfter(cursor: KeysetCursor, ascending: boolean): FilterQuery<Job> {
  const op = ascending ? '$gt' : '$lt';
  return { $or: [{ createdAt: { [op]: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { [op]: cursor.id } }] } as FilterQuery<Job>;
}
