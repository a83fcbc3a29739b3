import { JOB_KINDS, JOB_STATUSES, type Job } from '../src/db/entities/job.entity.ts';
import type { JobLog } from '../src/db/entities/job-log.entity.ts';
import type { JobEvent } from '../src/pubsub/pubsub.ts';
import { badInput } from '../src/services/errors.ts';
import { SPEECH_EMOTIONS } from '../src/services/generation.inputs.ts';
import type { JobStats } from '../src/jobs/jobs.read.ts';
import { AssetRef } from './asset.ts';
import { builder } from './builder.ts';
import { requireActor } from './context.ts';
import { UserRef } from './user.ts';
import { submitJob, WebhookInput } from './webhook.ts';

const JobKindEnum = builder.enumType('JobKind', { values: JOB_KINDS });
const JobStatusEnum = builder.enumType('JobStatus', { values: JOB_STATUSES });

interface JobErrorShape {
  code: string;
  message: string;
}

const JobError = builder.objectRef<JobErrorShape>('JobError').implement({
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

export const idOrNull = (id: string | number | null | undefined) => (id == null ? null : String(id));

const jobError = (code: string | null | undefined, message: string | null | undefined): JobErrorShape | null =>
  code ? { code, message: message ?? code } : null;

export const JobRef = builder.objectRef<Job>('Job').implement({
  description: 'One generation request and everything that happened to it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.field({ type: JobKindEnum, resolve: (j) => j.kind }),
    status: t.field({ type: JobStatusEnum, resolve: (j) => j.status }),
    progress: t.exposeInt('progress', { description: '0–100 across all steps of the job.' }),
    statusMessage: t.exposeString('statusMessage', { nullable: true }),
    input: t.field({ type: 'JSON', description: 'The request as stored, defaults and seed applied.', resolve: (j) => j.input }),
    result: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What the job made; `urls` are signed links (see Asset.url).',
      resolve: (j, _args, ctx) => ctx.core.fileUrls.signAll(j.result ?? null, ctx.baseUrl),
    }),
    error: t.field({ type: JobError, nullable: true, resolve: (j) => jobError(j.errorCode, j.errorMessage) }),
    priority: t.exposeInt('priority', { description: '1 runs first, 10 last.' }),
    engine: t.exposeString('engine', { nullable: true }),
    cost: t.float({ resolve: (j) => Number(j.cost) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    owner: t.field({
      type: UserRef,
      resolve: async (j, _args, ctx) => (await ctx.loaders.user.load(j.owner.id))!,
    }),
    assets: t.field({ type: [AssetRef], resolve: (j, _args, ctx) => ctx.loaders.jobAssets.load(j.id) }),
    batchId: t.id({ nullable: true, resolve: (j) => j.batch?.id ?? null }),
    attempt: t.exposeInt('attempt', { description: '0 for the first run; each retry, and each run again after its worker died, adds one.' }),
    timeoutSeconds: t.exposeInt('timeoutSeconds'),
    queuePosition: t.int({
      nullable: true,
      description: 'Jobs ahead of this one in the queue (queued jobs only).',
      resolve: async (j, _args, ctx) => (await ctx.core.jobs.queueInfo(ctx.em, j)).queuePosition,
    }),
    etaSeconds: t.int({
      nullable: true,
      description: 'Seconds until the job should finish: from its progress when running, from recent run times of its kind when queued.',
      resolve: async (j, _args, ctx) => (await ctx.core.jobs.queueInfo(ctx.em, j)).etaSeconds,
    }),
    queuedMs: t.float({
      description: 'Time spent waiting in the queue (so far, while queued).',
      resolve: (j) => (j.startedAt ?? (j.status === 'QUEUED' ? new Date() : j.finishedAt ?? new Date())).getTime() - j.createdAt.getTime(),
    }),
    runMs: t.float({
      nullable: true,
      description: 'Time spent running (so far, while running).',
      resolve: (j) => (j.startedAt ? (j.finishedAt ?? new Date()).getTime() - j.startedAt.getTime() : null),
    }),
    stepDurationsMs: t.floatList({ nullable: true, description: 'Wall time of each step, in order.', resolve: (j) => j.stepDurationsMs ?? null }),
    logs: t.field({
      type: [JobLogRef],
      description: 'Lines the worker wrote for this job, in order.',
      resolve: (j, _args, ctx) => ctx.core.jobs.jobLogs(ctx.em, requireActor(ctx), j.id),
    }),
  }),
});

const JobLogRef = builder.objectRef<JobLog>('JobLog').implement({
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    level: t.exposeString('level'),
    message: t.exposeString('message'),
  }),
});

const JobEventRef = builder.objectRef<JobEvent>('JobEvent').implement({
  description: 'One change of a job, as it happened.',
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    kind: t.field({ type: JobKindEnum, resolve: (e) => e.kind }),
    status: t.field({ type: JobStatusEnum, resolve: (e) => e.status }),
    progress: t.exposeInt('progress'),
    message: t.exposeString('message', { nullable: true }),
    result: t.field({ type: 'JSON', nullable: true, resolve: (e, _args, ctx) => ctx.core.fileUrls.signAll(e.result, ctx.baseUrl) }),
    error: t.field({ type: JobError, nullable: true, resolve: (e) => jobError(e.errorCode, e.errorMessage) }),
    queuePosition: t.exposeInt('queuePosition', { nullable: true }),
    etaSeconds: t.exposeInt('etaSeconds', { nullable: true }),
    batchId: t.exposeID('batchId', { nullable: true }),
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
    job: t.field({
      type: JobRef,
      description: 'The job as stored now (one read per event: ask only when needed).',
      resolve: (e, _args, ctx) => ctx.core.jobs.getJob(ctx.em.fork(), requireActor(ctx), e.jobId),
    }),
  }),
});

export const GenerateImageInput = builder.inputType('GenerateImageInput', {
  fields: (t) => ({
    prompt: t.string({ required: true, description: '1–4000 characters.' }),
    negativePrompt: t.string({ required: false }),
    width: t.int({ required: false, description: '64–2048, a multiple of 8. Default 512.' }),
    height: t.int({ required: false, description: '64–2048, a multiple of 8. Default 512.' }),
    steps: t.int({ required: false, description: '1–150. Default 30.' }),
    guidance: t.float({ required: false, description: '0–30. Default 7.5.' }),
    seed: t.int({ required: false, description: 'Same prompt and seed give the same image. Random when absent.' }),
    numImages: t.int({ required: false, description: '1–4. Default 1.' }),
    style: t.string({ required: false, description: 'e.g. realistic, art, anime; also used to route to a provider.' }),
    characterId: t.id({ required: false, description: "A character profile whose prompt fragments and seed apply." }),
    projectId: t.id({ required: false, description: "A project preset whose style and default engine apply." }),
    providerId: t.string({ required: false, description: 'A configured provider to generate with.' }),
    engine: t.string({ required: false, description: 'builtin, onnx, comfyui or provider; default from the project preset or DEFAULT_ENGINE.' }),
    extraParams: t.field({ type: 'JSON', required: false, description: 'Passed to the engine or provider as is.' }),
    model: t.string({ required: false, description: 'A local model pack (see `models`); implies engine onnx. Default: ONNX_DEFAULT_MODEL or the first pack.' }),
    initImageAssetId: t.id({ required: false, description: 'img2img (onnx engine): an uploaded or generated image to start from.' }),
    strength: t.float({ required: false, description: 'img2img: how much of the start image to repaint, (0, 1]. Default 0.75.' }),
    gpuPreference: t.string({ required: false, description: 'onnx engine: the GPU to prefer when it has room, e.g. "1" or "cuda:1".' }),
    priority: t.int({ required: false, description: '1 runs first, 10 last. Default 5.' }),
    timeout: t.int({ required: false, description: 'Seconds the job may run, 30–300. Default 300.' }),
    webhook: t.field({ type: WebhookInput, required: false, description: "Send this job's events to a URL (ignored inside generateBatch requests)." }),
    idempotencyKey: t.string({
      required: false,
      description: 'The same key with the same input within 24 h returns the first job instead of a new one; with another input it is refused (IDEMPOTENCY_KEY_REUSED).',
    }),
  }),
});

const VideoSceneInput = builder.inputType('VideoSceneInput', {
  description: 'A scene spelled out (prompt and duration), or citing a scene profile; what is given here overrides the profile.',
  fields: (t) => ({
    prompt: t.string({ required: false, description: "Required unless sceneProfileId gives it." }),
    duration: t.float({ required: false, description: "Seconds; at most 60. Required unless sceneProfileId gives it." }),
    sceneProfileId: t.id({ required: false, description: 'A scene profile (see sceneProfiles), by id or name.' }),
  }),
});

const VideoConfigInput = builder.inputType('VideoConfigInput', {
  fields: (t) => ({
    fps: t.int({ required: false, description: 'Overrides fps.' }),
    resolution: t.string({ required: false, description: '"WIDTHxHEIGHT", each side 64–1920 and even. Default 512x512.' }),
    upscale: t.boolean({
      required: false,
      description:
        'Render at half (or a quarter) of the resolution and upscale every frame with an ESRGAN pack (engine onnx, chosen when a live worker has one); the video keeps the asked resolution. Without such a worker the video is rendered at the resolution and result.upscale says it was not applied.',
    }),
  }),
});

const GenerateVideoInput = builder.inputType('GenerateVideoInput', {
  fields: (t) => ({
    prompt: t.string({ required: true }),
    negativePrompt: t.string({ required: false }),
    numFrames: t.int({ required: false, description: '1–1440. Default 48. Ignored when scenes are given.' }),
    fps: t.int({ required: false, description: '1–60. Default 24.' }),
    motionScale: t.float({ required: false, description: '0–10. Default 1.' }),
    imageAssetId: t.id({ required: false, description: 'Animate this image (an upload or an earlier output).' }),
    scenes: t.field({ type: [VideoSceneInput], required: false, description: 'Rendered in order into one video.' }),
    videoConfig: t.field({ type: VideoConfigInput, required: false }),
    engine: t.string({ required: false, description: 'builtin, onnx, comfyui or provider; default from the project preset or DEFAULT_ENGINE.' }),
    seed: t.int({ required: false }),
    characterId: t.id({ required: false }),
    projectId: t.id({ required: false }),
    priority: t.int({ required: false }),
    timeout: t.int({ required: false }),
    webhook: t.field({ type: WebhookInput, required: false, description: "Send this job's events to a URL (ignored inside generateBatch requests)." }),
    idempotencyKey: t.string({
      required: false,
      description: 'The same key with the same input within 24 h returns the first job instead of a new one; with another input it is refused (IDEMPOTENCY_KEY_REUSED).',
    }),
  }),
});

const SpeechEmotionEnum = builder.enumType('SpeechEmotion', { values: SPEECH_EMOTIONS.map((e) => e.toUpperCase()) as ['NEUTRAL'] });
const AudioFormatEnum = builder.enumType('AudioFormat', { values: ['WAV', 'MP3'] as const });

const SynthesizeSpeechInput = builder.inputType('SynthesizeSpeechInput', {
  fields: (t) => ({
    text: t.string({ required: true, description: '1–5000 characters.' }),
    voiceId: t.string({ required: false, description: 'See Query.voices. Default en_us_female.' }),
    emotion: t.field({ type: SpeechEmotionEnum, required: false }),
    speed: t.float({ required: false, description: '0.5–2.0. Default 1.' }),
    format: t.field({ type: AudioFormatEnum, required: false, description: 'Default WAV.' }),
    speakerId: t.int({ required: false, description: "Multi-speaker Piper voices: the speaker, 0-based (the voice's speaker_id_map). Default 0." }),
    engine: t.string({ required: false, description: 'builtin, onnx, comfyui or provider; default from the project preset or DEFAULT_ENGINE.' }),
    priority: t.int({ required: false }),
    timeout: t.int({ required: false }),
    webhook: t.field({ type: WebhookInput, required: false, description: "Send this job's events to a URL (ignored inside generateBatch requests)." }),
    idempotencyKey: t.string({
      required: false,
      description: 'The same key with the same input within 24 h returns the first job instead of a new one; with another input it is refused (IDEMPOTENCY_KEY_REUSED).',
    }),
  }),
});

const GenerateTalkingHeadInput = builder.inputType('GenerateTalkingHeadInput', {
  fields: (t) => ({
    imageAssetId: t.id({ required: true, description: 'An uploaded portrait.' }),
    audioAssetId: t.id({ required: true, description: 'An uploaded driving audio (WAV, MP3, OGG or M4A).' }),
    useCache: t.boolean({ required: false, description: 'Defaults to your talking-head config.' }),
    fps: t.int({ required: false, description: 'Default 25.' }),
    engine: t.string({ required: false, description: 'builtin, onnx, comfyui or provider; default from the project preset or DEFAULT_ENGINE.' }),
    priority: t.int({ required: false }),
    timeout: t.int({ required: false }),
    webhook: t.field({ type: WebhookInput, required: false, description: "Send this job's events to a URL (ignored inside generateBatch requests)." }),
    idempotencyKey: t.string({
      required: false,
      description: 'The same key with the same input within 24 h returns the first job instead of a new one; with another input it is refused (IDEMPOTENCY_KEY_REUSED).',
    }),
  }),
});

const JobOrderEnum = builder.enumType('JobOrder', { values: ['NEWEST', 'OLDEST'] as const });

builder.queryField('job', (t) =>
  t.field({
    type: JobRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.jobs.getJob(ctx.em, requireActor(ctx), String(args.id)),
  }),
);

builder.queryField('jobs', (t) =>
  t.connection({
    type: JobRef,
    description: 'Your jobs, newest first (every job, for an admin). Page forward with first/after.',
    args: {
      status: t.arg({ type: JobStatusEnum, required: false }),
      kind: t.arg({ type: JobKindEnum, required: false }),
      engine: t.arg.string({ required: false }),
      search: t.arg.string({ required: false, description: 'Text in the prompt (or speech text).' }),
      createdAfter: t.arg({ type: 'DateTime', required: false }),
      createdBefore: t.arg({ type: 'DateTime', required: false }),
      batchId: t.arg.id({ required: false }),
      order: t.arg({ type: JobOrderEnum, required: false, description: 'By creation time. Default NEWEST.' }),
    },
    resolve: (_root, args, ctx) => {
      if (args.last != null || args.before != null) throw badInput('Only forward pagination (first/after) is supported');
      return ctx.core.jobs.listJobs(ctx.em, requireActor(ctx), { ...args, batchId: args.batchId ? String(args.batchId) : null });
    },
  }),
);

builder.mutationField('generateImage', (t) =>
  t.field({
    type: JobRef,
    description: 'Queues an image generation; follow it with Subscription.jobProgress.',
    args: { input: t.arg({ type: GenerateImageInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      submitJob(ctx, 'generateImage', input, (actor, body) =>
        ctx.core.jobs.createImageJob(ctx.em, actor, { ...body, characterId: idOrNull(body.characterId), projectId: idOrNull(body.projectId) }),
      ),
  }),
);

builder.mutationField('upscaleImage', (t) =>
  t.field({
    type: JobRef,
    description: 'Queues a ×2 or ×4 upscale of an image asset on a worker with an ESRGAN-family pack (engine onnx).',
    args: {
      assetId: t.arg.id({ required: true }),
      scale: t.arg.int({ required: true, description: '2 or 4.' }),
      model: t.arg.string({ required: false, description: 'An UPSCALE pack from `models`; default: one of that scale.' }),
      priority: t.arg.int({ required: false }),
      webhook: t.arg({ type: WebhookInput, required: false }),
      idempotencyKey: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      submitJob(ctx, 'upscaleImage', args, (actor, body) => ctx.core.jobs.createUpscaleJob(ctx.em, actor, { ...body, assetId: String(body.assetId) })),
  }),
);

builder.mutationField('generateVideo', (t) =>
  t.field({
    type: JobRef,
    args: { input: t.arg({ type: GenerateVideoInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      submitJob(ctx, 'generateVideo', input, async (actor, body) =>
        ctx.core.jobs.createVideoJob(ctx.em, actor, {
          ...body,
          scenes: body.scenes ? await ctx.core.scenes.resolve(ctx.em, body.scenes.map((s) => ({ ...s, sceneProfileId: idOrNull(s.sceneProfileId) }))) : null,
          imageAssetId: idOrNull(body.imageAssetId),
          characterId: idOrNull(body.characterId),
          projectId: idOrNull(body.projectId),
        }),
      ),
  }),
);

builder.mutationField('synthesizeSpeech', (t) =>
  t.field({
    type: JobRef,
    args: { input: t.arg({ type: SynthesizeSpeechInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      submitJob(ctx, 'synthesizeSpeech', input, (actor, body) =>
        ctx.core.jobs.createSpeechJob(ctx.em, actor, {
          ...body,
          emotion: body.emotion ? (body.emotion.toLowerCase() as 'neutral') : null,
          format: body.format ? (body.format.toLowerCase() as 'wav') : null,
        }),
      ),
  }),
);

builder.mutationField('generateTalkingHead', (t) =>
  t.field({
    type: JobRef,
    args: { input: t.arg({ type: GenerateTalkingHeadInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      submitJob(ctx, 'generateTalkingHead', input, (actor, body) =>
        ctx.core.jobs.createTalkingHeadJob(ctx.em, actor, { ...body, imageAssetId: String(body.imageAssetId), audioAssetId: String(body.audioAssetId) }),
      ),
  }),
);

builder.mutationField('cancelJob', (t) =>
  t.field({
    type: JobRef,
    description: 'A queued job leaves the queue; a running one stops at its next step. Either ends CANCELLED.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.jobs.cancelJob(ctx.em, requireActor(ctx), String(args.id)),
  }),
);

builder.mutationField('retryJob', (t) =>
  t.field({
    type: JobRef,
    description: 'Queues a FAILED or CANCELLED job again, from the start.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.jobs.retryJob(ctx.em, requireActor(ctx), String(args.id)),
  }),
);

builder.queryField('jobLogs', (t) =>
  t.field({
    type: [JobLogRef],
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.jobs.jobLogs(ctx.em, requireActor(ctx), String(args.id)),
  }),
);

const StatusCount = builder.objectRef<{ status: string; count: number }>('StatusCount').implement({
  fields: (t) => ({ status: t.field({ type: JobStatusEnum, resolve: (r) => r.status as 'QUEUED' }), count: t.exposeInt('count') }),
});
const KindCount = builder.objectRef<{ kind: string; count: number }>('KindCount').implement({
  fields: (t) => ({ kind: t.field({ type: JobKindEnum, resolve: (r) => r.kind as 'IMAGE' }), count: t.exposeInt('count') }),
});
const JobStatsRef = builder.objectRef<JobStats>('JobStats').implement({
  fields: (t) => ({
    total: t.exposeInt('total'),
    byStatus: t.field({ type: [StatusCount], resolve: (s) => s.byStatus }),
    byKind: t.field({ type: [KindCount], resolve: (s) => s.byKind }),
  }),
});

builder.queryField('stats', (t) =>
  t.field({
    type: JobStatsRef,
    description: "Job counts per status and per kind: yours, or everyone's (admin) with everyone: true.",
    args: { everyone: t.arg.boolean({ required: false }) },
    resolve: (_root, args, ctx) => ctx.core.jobs.stats(ctx.em, requireActor(ctx), args.everyone ?? false),
  }),
);

builder.subscriptionField('jobProgress', (t) =>
  t.field({
    type: JobEventRef,
    description: "Every change of one job: its current state first, then each change until it finishes.",
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => ctx.core.jobs.watchJob(ctx.em, requireActor(ctx), String(args.id)),
    resolve: (event) => event,
  }),
);

builder.subscriptionField('jobs', (t) =>
  t.field({
    type: JobEventRef,
    description: "Changes to all of the caller's jobs (every job, for an admin).",
    subscribe: (_root, _args, ctx) => ctx.core.jobs.watchJobs(requireActor(ctx)),
    resolve: (event) => event,
  }),
);
