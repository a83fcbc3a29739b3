/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type ApiScope =
  | 'ADMIN'
  | 'GENERATE'
  | 'READ';

export type AssetKind =
  | 'AUDIO'
  | 'IMAGE'
  | 'VIDEO';

export type AudioFormat =
  | 'MP3'
  | 'WAV';

export type BatchStatus =
  | 'COMPLETED'
  | 'COMPLETED_WITH_ERRORS'
  | 'FAILED'
  | 'PROCESSING'
  | 'QUEUED';

export type CostGroup =
  | 'DAY'
  | 'KIND'
  | 'PROVIDER'
  | 'USER';

export type GenerateImageInput = {
  /** A character profile whose prompt fragments and seed apply. */
  characterId?: string | number | null | undefined;
  /** builtin, onnx, comfyui or provider; default from the project preset or DEFAULT_ENGINE. */
  engine?: string | null | undefined;
  /** Passed to the engine or provider as is. */
  extraParams?: unknown;
  /** onnx engine: the GPU to prefer when it has room, e.g. "1" or "cuda:1". */
  gpuPreference?: string | null | undefined;
  /** 0–30. Default 7.5. */
  guidance?: number | null | undefined;
  /** 64–2048, a multiple of 8. Default 512. */
  height?: number | null | undefined;
  /** The same key with the same input within 24 h returns the first job instead of a new one; with another input it is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: string | null | undefined;
  /** img2img (onnx engine): an uploaded or generated image to start from. */
  initImageAssetId?: string | number | null | undefined;
  /** A local model pack (see `models`); implies engine onnx. Default: ONNX_DEFAULT_MODEL or the first pack. */
  model?: string | null | undefined;
  negativePrompt?: string | null | undefined;
  /** 1–4. Default 1. */
  numImages?: number | null | undefined;
  /** 1 runs first, 10 last. Default 5. */
  priority?: number | null | undefined;
  /** A project preset whose style and default engine apply. */
  projectId?: string | number | null | undefined;
  /** 1–4000 characters. */
  prompt: string;
  /** A configured provider to generate with. */
  providerId?: string | null | undefined;
  /** Same prompt and seed give the same image. Random when absent. */
  seed?: number | null | undefined;
  /** 1–150. Default 30. */
  steps?: number | null | undefined;
  /** img2img: how much of the start image to repaint, (0, 1]. Default 0.75. */
  strength?: number | null | undefined;
  /** e.g. realistic, art, anime; also used to route to a provider. */
  style?: string | null | undefined;
  /** Seconds the job may run, 30–300. Default 300. */
  timeout?: number | null | undefined;
  /** Send this job's events to a URL (ignored inside generateBatch requests). */
  webhook?: WebhookInput | null | undefined;
  /** 64–2048, a multiple of 8. Default 512. */
  width?: number | null | undefined;
};

export type GenerateTalkingHeadInput = {
  /** An uploaded driving audio (WAV, MP3, OGG or M4A). */
  audioAssetId: string | number;
  /** builtin, onnx, comfyui or provider; default from the project preset or DEFAULT_ENGINE. */
  engine?: string | null | undefined;
  /** Default 25. */
  fps?: number | null | undefined;
  /** The same key with the same input within 24 h returns the first job instead of a new one; with another input it is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: string | null | undefined;
  /** An uploaded portrait. */
  imageAssetId: string | number;
  priority?: number | null | undefined;
  timeout?: number | null | undefined;
  /** Defaults to your talking-head config. */
  useCache?: boolean | null | undefined;
  /** Send this job's events to a URL (ignored inside generateBatch requests). */
  webhook?: WebhookInput | null | undefined;
};

export type GenerateVideoInput = {
  characterId?: string | number | null | undefined;
  /** builtin, onnx, comfyui or provider; default from the project preset or DEFAULT_ENGINE. */
  engine?: string | null | undefined;
  /** 1–60. Default 24. */
  fps?: number | null | undefined;
  /** The same key with the same input within 24 h returns the first job instead of a new one; with another input it is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: string | null | undefined;
  /** Animate this image (an upload or an earlier output). */
  imageAssetId?: string | number | null | undefined;
  /** 0–10. Default 1. */
  motionScale?: number | null | undefined;
  negativePrompt?: string | null | undefined;
  /** 1–1440. Default 48. Ignored when scenes are given. */
  numFrames?: number | null | undefined;
  priority?: number | null | undefined;
  projectId?: string | number | null | undefined;
  prompt: string;
  /** Rendered in order into one video. */
  scenes?: Array<VideoSceneInput> | null | undefined;
  seed?: number | null | undefined;
  timeout?: number | null | undefined;
  videoConfig?: VideoConfigInput | null | undefined;
  /** Send this job's events to a URL (ignored inside generateBatch requests). */
  webhook?: WebhookInput | null | undefined;
};

export type JobKind =
  | 'IMAGE'
  | 'SPEECH'
  | 'TALKING_HEAD'
  | 'VIDEO'
  | 'WORKFLOW';

export type JobStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'PROCESSING'
  | 'QUEUED';

export type ProviderAlertKind =
  | 'CREDITS_EXHAUSTED'
  | 'HIGH_FAILURE_RATE'
  | 'LOW_CREDITS'
  | 'PROVIDER_UNAVAILABLE'
  | 'QUEUE_BACKLOG'
  | 'RATE_LIMITED'
  | 'SLOW_RESPONSE';

export type ProviderHealth =
  | 'COOLING_DOWN'
  | 'INACTIVE'
  | 'NO_CREDITS'
  | 'OK';

export type ProviderType =
  | 'OPENAI'
  | 'PIAPI'
  | 'STABLE_DIFFUSION';

export type SpeechEmotion =
  | 'ANGRY'
  | 'CALM'
  | 'EXCITED'
  | 'HAPPY'
  | 'NEUTRAL'
  | 'SAD';

export type SynthesizeSpeechInput = {
  emotion?: SpeechEmotion | null | undefined;
  /** builtin, onnx, comfyui or provider; default from the project preset or DEFAULT_ENGINE. */
  engine?: string | null | undefined;
  /** Default WAV. */
  format?: AudioFormat | null | undefined;
  /** The same key with the same input within 24 h returns the first job instead of a new one; with another input it is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: string | null | undefined;
  priority?: number | null | undefined;
  /** Multi-speaker Piper voices: the speaker, 0-based (the voice's speaker_id_map). Default 0. */
  speakerId?: number | null | undefined;
  /** 0.5–2.0. Default 1. */
  speed?: number | null | undefined;
  /** 1–5000 characters. */
  text: string;
  timeout?: number | null | undefined;
  /** See Query.voices. Default en_us_female. */
  voiceId?: string | null | undefined;
  /** Send this job's events to a URL (ignored inside generateBatch requests). */
  webhook?: WebhookInput | null | undefined;
};

/** Only the fields given change; a field given as null returns to the default. */
export type UserQuotaInput = {
  imagesPerDay?: number | null | undefined;
  maxDurationSeconds?: number | null | undefined;
  maxFrames?: number | null | undefined;
  maxResolution?: string | null | undefined;
  videosPerDay?: number | null | undefined;
};

export type UserRole =
  | 'ADMIN'
  | 'USER';

export type VideoConfigInput = {
  /** Overrides fps. */
  fps?: number | null | undefined;
  /** "WIDTHxHEIGHT", each side 64–1920 and even. Default 512x512. */
  resolution?: string | null | undefined;
  /** Render at half (or a quarter) of the resolution and upscale every frame with an ESRGAN pack (engine onnx, chosen when a live worker has one); the video keeps the asked resolution. Without such a worker the video is rendered at the resolution and result.upscale says it was not applied. */
  upscale?: boolean | null | undefined;
};

/** A scene spelled out (prompt and duration), or citing a scene profile; what is given here overrides the profile. */
export type VideoSceneInput = {
  /** Seconds; at most 60. Required unless sceneProfileId gives it. */
  duration?: number | null | undefined;
  /** Required unless sceneProfileId gives it. */
  prompt?: string | null | undefined;
  /** A scene profile (see sceneProfiles), by id or name. */
  sceneProfileId?: string | number | null | undefined;
};

export type WebhookEvent =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'PROGRESS'
  | 'STARTED';

/** Where to send this job's events, signed per Standard Webhooks with your `webhookSecret` (webhook-id, webhook-timestamp, webhook-signature). */
export type WebhookInput = {
  /** Default: all of them. */
  events?: Array<WebhookEvent> | null | undefined;
  /** http(s); loopback and private addresses only when listed in WEBHOOK_ALLOWED_HOSTS. */
  url: string;
};

export type JobFieldsFragment = { id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } };

export type SdkLoginMutationVariables = Exact<{
  username: string;
  password: string;
}>;


export type SdkLoginMutation = { login: { accessToken: string, expiresIn: number, tokenType: string } };

export type SdkMeQueryVariables = Exact<{ [key: string]: never; }>;


export type SdkMeQuery = { me: { id: string, username: string, role: UserRole } };

export type SdkGenerateImageMutationVariables = Exact<{
  input: GenerateImageInput;
}>;


export type SdkGenerateImageMutation = { generateImage: { id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } } };

export type SdkGenerateVideoMutationVariables = Exact<{
  input: GenerateVideoInput;
}>;


export type SdkGenerateVideoMutation = { generateVideo: { id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } } };

export type SdkSynthesizeSpeechMutationVariables = Exact<{
  input: SynthesizeSpeechInput;
}>;


export type SdkSynthesizeSpeechMutation = { synthesizeSpeech: { id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } } };

export type SdkGenerateTalkingHeadMutationVariables = Exact<{
  input: GenerateTalkingHeadInput;
}>;


export type SdkGenerateTalkingHeadMutation = { generateTalkingHead: { id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } } };

export type SdkGenerateBatchMutationVariables = Exact<{
  requests: Array<GenerateImageInput> | GenerateImageInput;
  priority?: number | null | undefined;
  metadata?: unknown;
}>;


export type SdkGenerateBatchMutation = { generateBatch: { id: string, total: number, createdAt: string, progress: { batchId: string, status: BatchStatus, progress: number, total: number, queued: number, processing: number, completed: number, failed: number, cancelled: number, cost: number }, jobs: Array<{ id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } }> } };

export type SdkUploadAssetMutationVariables = Exact<{
  file: Blob;
}>;


export type SdkUploadAssetMutation = { uploadAsset: { id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, filename: string | null, url: string } };

export type SdkJobQueryVariables = Exact<{
  id: string | number;
}>;


export type SdkJobQuery = { job: { preview: string | null, stepDurationsMs: Array<number> | null, timeoutSeconds: number, attempt: number, id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, logs: Array<{ at: string, level: string, message: string }>, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } } };

export type SdkJobsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  status?: JobStatus | null | undefined;
  kind?: JobKind | null | undefined;
  search?: string | null | undefined;
  batchId?: string | number | null | undefined;
  engine?: string | null | undefined;
}>;


export type SdkJobsQuery = { jobs: { edges: Array<{ node: { id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type SdkCancelJobMutationVariables = Exact<{
  id: string | number;
}>;


export type SdkCancelJobMutation = { cancelJob: { id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } } };

export type SdkRetryJobMutationVariables = Exact<{
  id: string | number;
}>;


export type SdkRetryJobMutation = { retryJob: { id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } } };

export type SdkJobProgressSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type SdkJobProgressSubscription = { jobProgress: { jobId: string, kind: JobKind, status: JobStatus, progress: number, message: string | null, etaSeconds: number | null, queuePosition: number | null, result: unknown, at: string, error: { code: string, message: string } | null } };

export type SdkJobEventsSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type SdkJobEventsSubscription = { jobs: { jobId: string, kind: JobKind, status: JobStatus, progress: number, message: string | null, etaSeconds: number | null, queuePosition: number | null, result: unknown, at: string, batchId: string | null, error: { code: string, message: string } | null } };

export type SdkBatchQueryVariables = Exact<{
  id: string | number;
}>;


export type SdkBatchQuery = { batch: { id: string, total: number, createdAt: string, metadata: unknown, progress: { batchId: string, status: BatchStatus, progress: number, total: number, queued: number, processing: number, completed: number, failed: number, cancelled: number, cost: number }, jobs: Array<{ id: string, kind: JobKind, status: JobStatus, progress: number, statusMessage: string | null, engine: string | null, priority: number, cost: number, createdAt: string, startedAt: string | null, finishedAt: string | null, queuePosition: number | null, etaSeconds: number | null, queuedMs: number, runMs: number | null, batchId: string | null, input: unknown, result: unknown, error: { code: string, message: string } | null, assets: Array<{ id: string, kind: AssetKind, mime: string, bytes: number, width: number | null, height: number | null, durationSeconds: number | null, url: string }>, owner: { id: string, username: string } }> } };

export type SdkBatchProgressSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type SdkBatchProgressSubscription = { batchProgress: { batchId: string, status: BatchStatus, progress: number, total: number, queued: number, processing: number, completed: number, failed: number, cancelled: number, cost: number } };

export type SdkVoicesQueryVariables = Exact<{ [key: string]: never; }>;


export type SdkVoicesQuery = { voices: Array<{ id: string, name: string, language: string, gender: string, engine: string }> };

export type SdkStatsQueryVariables = Exact<{
  everyone?: boolean | null | undefined;
}>;


export type SdkStatsQuery = { stats: { total: number, byStatus: Array<{ status: JobStatus, count: number }>, byKind: Array<{ kind: JobKind, count: number }> } };

export type SdkWorkersQueryVariables = Exact<{ [key: string]: never; }>;


export type SdkWorkersQuery = { workers: Array<{ id: string, host: string, pid: number, status: string, engines: Array<string>, models: Array<string>, startedAt: string, lastHeartbeat: string, runningJobs: Array<string>, executionProvider: string | null, gpus: Array<{ id: number, name: string, totalVram: number, usedVram: number, temperature: number | null, utilization: number | null, powerDraw: number | null }>, system: { cpuPercent: number, usedRam: number, totalRam: number } }>, queues: Array<{ engine: string, paused: boolean, waiting: number, running: number, delayed: number, failed: number }> };

export type SdkGpuTelemetrySubscriptionVariables = Exact<{ [key: string]: never; }>;


export type SdkGpuTelemetrySubscription = { gpuTelemetry: { at: string, gpus: Array<{ id: number, name: string, workerId: string | null, totalVram: number, usedVram: number, temperature: number | null, utilization: number | null, powerDraw: number | null }>, system: { cpuPercent: number, usedRam: number, totalRam: number }, allocations: Array<{ jobId: string, device: string, vramBytes: number, workerId: string | null }> } };

export type SdkQueuesQueryVariables = Exact<{ [key: string]: never; }>;


export type SdkQueuesQuery = { queues: Array<{ engine: string, paused: boolean, waiting: number, running: number, delayed: number, failed: number }> };

export type SdkCostsQueryVariables = Exact<{
  groupBy: CostGroup;
  from?: string | null | undefined;
  to?: string | null | undefined;
}>;


export type SdkCostsQuery = { costs: Array<{ key: string, count: number, totalCost: number, averageGenerationMs: number | null }> };

export type SdkProvidersQueryVariables = Exact<{ [key: string]: never; }>;


export type SdkProvidersQuery = { providers: Array<{ id: string, name: string, type: ProviderType, isActive: boolean, isDefault: boolean, health: ProviderHealth, costPerImage: number, creditsRemaining: number | null, creditsCheckedAt: string | null, priority: number }>, alerts: Array<{ id: string, kind: ProviderAlertKind, message: string, providerName: string | null, at: string }> };

export type SdkProviderCreditsQueryVariables = Exact<{
  id: string | number;
}>;


export type SdkProviderCreditsQuery = { providerCredits: { credits: number | null, hasCredits: boolean, checkedAt: string | null } };

export type SdkAlertsSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type SdkAlertsSubscription = { alerts: { id: string, kind: ProviderAlertKind, message: string, providerName: string | null, at: string } };

export type SdkUsersQueryVariables = Exact<{ [key: string]: never; }>;


export type SdkUsersQuery = { users: Array<{ id: string, username: string, role: UserRole, createdAt: string }> };

export type SdkCreateUserMutationVariables = Exact<{
  username: string;
  password: string;
  role?: UserRole | null | undefined;
}>;


export type SdkCreateUserMutation = { createUser: { id: string, username: string, role: UserRole, createdAt: string } };

export type SdkApiKeysQueryVariables = Exact<{ [key: string]: never; }>;


export type SdkApiKeysQuery = { apiKeys: Array<{ id: string, name: string, prefix: string, scopes: Array<ApiScope>, createdAt: string, lastUsedAt: string | null, revokedAt: string | null }> };

export type SdkCreateApiKeyMutationVariables = Exact<{
  name: string;
  scopes?: Array<ApiScope> | ApiScope | null | undefined;
  userId?: string | number | null | undefined;
}>;


export type SdkCreateApiKeyMutation = { createApiKey: { secret: string, apiKey: { id: string, name: string, prefix: string, scopes: Array<ApiScope>, createdAt: string, lastUsedAt: string | null, revokedAt: string | null } } };

export type SdkRevokeApiKeyMutationVariables = Exact<{
  id: string | number;
}>;


export type SdkRevokeApiKeyMutation = { revokeApiKey: { id: string, revokedAt: string | null } };

export type SdkUserQuotaQueryVariables = Exact<{
  userId?: string | number | null | undefined;
}>;


export type SdkUserQuotaQuery = { userQuota: { imagesPerDay: number | null, videosPerDay: number | null, maxResolution: string, maxDurationSeconds: number, maxFrames: number } };

export type SdkSetUserQuotaMutationVariables = Exact<{
  userId: string | number;
  input: UserQuotaInput;
}>;


export type SdkSetUserQuotaMutation = { setUserQuota: { imagesPerDay: number | null, videosPerDay: number | null, maxResolution: string, maxDurationSeconds: number, maxFrames: number } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const JobFieldsFragmentDoc = new TypedDocumentString(`
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}
    `, {"fragmentName":"JobFields"}) as unknown as TypedDocumentString<JobFieldsFragment, unknown>;
export const SdkLoginDocument = new TypedDocumentString(`
    mutation SdkLogin($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    accessToken
    expiresIn
    tokenType
  }
}
    `) as unknown as TypedDocumentString<SdkLoginMutation, SdkLoginMutationVariables>;
export const SdkMeDocument = new TypedDocumentString(`
    query SdkMe {
  me {
    id
    username
    role
  }
}
    `) as unknown as TypedDocumentString<SdkMeQuery, SdkMeQueryVariables>;
export const SdkGenerateImageDocument = new TypedDocumentString(`
    mutation SdkGenerateImage($input: GenerateImageInput!) {
  generateImage(input: $input) {
    ...JobFields
  }
}
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}`) as unknown as TypedDocumentString<SdkGenerateImageMutation, SdkGenerateImageMutationVariables>;
export const SdkGenerateVideoDocument = new TypedDocumentString(`
    mutation SdkGenerateVideo($input: GenerateVideoInput!) {
  generateVideo(input: $input) {
    ...JobFields
  }
}
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}`) as unknown as TypedDocumentString<SdkGenerateVideoMutation, SdkGenerateVideoMutationVariables>;
export const SdkSynthesizeSpeechDocument = new TypedDocumentString(`
    mutation SdkSynthesizeSpeech($input: SynthesizeSpeechInput!) {
  synthesizeSpeech(input: $input) {
    ...JobFields
  }
}
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}`) as unknown as TypedDocumentString<SdkSynthesizeSpeechMutation, SdkSynthesizeSpeechMutationVariables>;
export const SdkGenerateTalkingHeadDocument = new TypedDocumentString(`
    mutation SdkGenerateTalkingHead($input: GenerateTalkingHeadInput!) {
  generateTalkingHead(input: $input) {
    ...JobFields
  }
}
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}`) as unknown as TypedDocumentString<SdkGenerateTalkingHeadMutation, SdkGenerateTalkingHeadMutationVariables>;
export const SdkGenerateBatchDocument = new TypedDocumentString(`
    mutation SdkGenerateBatch($requests: [GenerateImageInput!]!, $priority: Int, $metadata: JSON) {
  generateBatch(requests: $requests, priority: $priority, metadata: $metadata) {
    id
    total
    createdAt
    progress {
      batchId
      status
      progress
      total
      queued
      processing
      completed
      failed
      cancelled
      cost
    }
    jobs {
      ...JobFields
    }
  }
}
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}`) as unknown as TypedDocumentString<SdkGenerateBatchMutation, SdkGenerateBatchMutationVariables>;
export const SdkUploadAssetDocument = new TypedDocumentString(`
    mutation SdkUploadAsset($file: File!) {
  uploadAsset(file: $file) {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    filename
    url
  }
}
    `) as unknown as TypedDocumentString<SdkUploadAssetMutation, SdkUploadAssetMutationVariables>;
export const SdkJobDocument = new TypedDocumentString(`
    query SdkJob($id: ID!) {
  job(id: $id) {
    ...JobFields
    preview
    stepDurationsMs
    timeoutSeconds
    attempt
    logs {
      at
      level
      message
    }
  }
}
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}`) as unknown as TypedDocumentString<SdkJobQuery, SdkJobQueryVariables>;
export const SdkJobsDocument = new TypedDocumentString(`
    query SdkJobs($first: Int, $after: String, $status: JobStatus, $kind: JobKind, $search: String, $batchId: ID, $engine: String) {
  jobs(
    first: $first
    after: $after
    status: $status
    kind: $kind
    search: $search
    batchId: $batchId
    engine: $engine
  ) {
    edges {
      node {
        ...JobFields
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}`) as unknown as TypedDocumentString<SdkJobsQuery, SdkJobsQueryVariables>;
export const SdkCancelJobDocument = new TypedDocumentString(`
    mutation SdkCancelJob($id: ID!) {
  cancelJob(id: $id) {
    ...JobFields
  }
}
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}`) as unknown as TypedDocumentString<SdkCancelJobMutation, SdkCancelJobMutationVariables>;
export const SdkRetryJobDocument = new TypedDocumentString(`
    mutation SdkRetryJob($id: ID!) {
  retryJob(id: $id) {
    ...JobFields
  }
}
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}`) as unknown as TypedDocumentString<SdkRetryJobMutation, SdkRetryJobMutationVariables>;
export const SdkJobProgressDocument = new TypedDocumentString(`
    subscription SdkJobProgress($id: ID!) {
  jobProgress(id: $id) {
    jobId
    kind
    status
    progress
    message
    etaSeconds
    queuePosition
    result
    error {
      code
      message
    }
    at
  }
}
    `) as unknown as TypedDocumentString<SdkJobProgressSubscription, SdkJobProgressSubscriptionVariables>;
export const SdkJobEventsDocument = new TypedDocumentString(`
    subscription SdkJobEvents {
  jobs {
    jobId
    kind
    status
    progress
    message
    etaSeconds
    queuePosition
    result
    error {
      code
      message
    }
    at
    batchId
  }
}
    `) as unknown as TypedDocumentString<SdkJobEventsSubscription, SdkJobEventsSubscriptionVariables>;
export const SdkBatchDocument = new TypedDocumentString(`
    query SdkBatch($id: ID!) {
  batch(id: $id) {
    id
    total
    createdAt
    metadata
    progress {
      batchId
      status
      progress
      total
      queued
      processing
      completed
      failed
      cancelled
      cost
    }
    jobs {
      ...JobFields
    }
  }
}
    fragment JobFields on Job {
  id
  kind
  status
  progress
  statusMessage
  engine
  priority
  cost
  createdAt
  startedAt
  finishedAt
  queuePosition
  etaSeconds
  queuedMs
  runMs
  batchId
  input
  result
  error {
    code
    message
  }
  assets {
    id
    kind
    mime
    bytes
    width
    height
    durationSeconds
    url
  }
  owner {
    id
    username
  }
}`) as unknown as TypedDocumentString<SdkBatchQuery, SdkBatchQueryVariables>;
export const SdkBatchProgressDocument = new TypedDocumentString(`
    subscription SdkBatchProgress($id: ID!) {
  batchProgress(id: $id) {
    batchId
    status
    progress
    total
    queued
    processing
    completed
    failed
    cancelled
    cost
  }
}
    `) as unknown as TypedDocumentString<SdkBatchProgressSubscription, SdkBatchProgressSubscriptionVariables>;
export const SdkVoicesDocument = new TypedDocumentString(`
    query SdkVoices {
  voices {
    id
    name
    language
    gender
    engine
  }
}
    `) as unknown as TypedDocumentString<SdkVoicesQuery, SdkVoicesQueryVariables>;
export const SdkStatsDocument = new TypedDocumentString(`
    query SdkStats($everyone: Boolean) {
  stats(everyone: $everyone) {
    total
    byStatus {
      status
      count
    }
    byKind {
      kind
      count
    }
  }
}
    `) as unknown as TypedDocumentString<SdkStatsQuery, SdkStatsQueryVariables>;
export const SdkWorkersDocument = new TypedDocumentString(`
    query SdkWorkers {
  workers {
    id
    host
    pid
    status
    engines
    models
    startedAt
    lastHeartbeat
    runningJobs
    executionProvider
    gpus {
      id
      name
      totalVram
      usedVram
      temperature
      utilization
      powerDraw
    }
    system {
      cpuPercent
      usedRam
      totalRam
    }
  }
  queues {
    engine
    paused
    waiting
    running
    delayed
    failed
  }
}
    `) as unknown as TypedDocumentString<SdkWorkersQuery, SdkWorkersQueryVariables>;
export const SdkGpuTelemetryDocument = new TypedDocumentString(`
    subscription SdkGpuTelemetry {
  gpuTelemetry {
    at
    gpus {
      id
      name
      workerId
      totalVram
      usedVram
      temperature
      utilization
      powerDraw
    }
    system {
      cpuPercent
      usedRam
      totalRam
    }
    allocations {
      jobId
      device
      vramBytes
      workerId
    }
  }
}
    `) as unknown as TypedDocumentString<SdkGpuTelemetrySubscription, SdkGpuTelemetrySubscriptionVariables>;
export const SdkQueuesDocument = new TypedDocumentString(`
    query SdkQueues {
  queues {
    engine
    paused
    waiting
    running
    delayed
    failed
  }
}
    `) as unknown as TypedDocumentString<SdkQueuesQuery, SdkQueuesQueryVariables>;
export const SdkCostsDocument = new TypedDocumentString(`
    query SdkCosts($groupBy: CostGroup!, $from: DateTime, $to: DateTime) {
  costs(groupBy: $groupBy, from: $from, to: $to) {
    key
    count
    totalCost
    averageGenerationMs
  }
}
    `) as unknown as TypedDocumentString<SdkCostsQuery, SdkCostsQueryVariables>;
export const SdkProvidersDocument = new TypedDocumentString(`
    query SdkProviders {
  providers {
    id
    name
    type
    isActive
    isDefault
    health
    costPerImage
    creditsRemaining
    creditsCheckedAt
    priority
  }
  alerts(limit: 20) {
    id
    kind
    message
    providerName
    at
  }
}
    `) as unknown as TypedDocumentString<SdkProvidersQuery, SdkProvidersQueryVariables>;
export const SdkProviderCreditsDocument = new TypedDocumentString(`
    query SdkProviderCredits($id: ID!) {
  providerCredits(id: $id) {
    credits
    hasCredits
    checkedAt
  }
}
    `) as unknown as TypedDocumentString<SdkProviderCreditsQuery, SdkProviderCreditsQueryVariables>;
export const SdkAlertsDocument = new TypedDocumentString(`
    subscription SdkAlerts {
  alerts {
    id
    kind
    message
    providerName
    at
  }
}
    `) as unknown as TypedDocumentString<SdkAlertsSubscription, SdkAlertsSubscriptionVariables>;
export const SdkUsersDocument = new TypedDocumentString(`
    query SdkUsers {
  users {
    id
    username
    role
    createdAt
  }
}
    `) as unknown as TypedDocumentString<SdkUsersQuery, SdkUsersQueryVariables>;
export const SdkCreateUserDocument = new TypedDocumentString(`
    mutation SdkCreateUser($username: String!, $password: String!, $role: UserRole) {
  createUser(username: $username, password: $password, role: $role) {
    id
    username
    role
    createdAt
  }
}
    `) as unknown as TypedDocumentString<SdkCreateUserMutation, SdkCreateUserMutationVariables>;
export const SdkApiKeysDocument = new TypedDocumentString(`
    query SdkApiKeys {
  apiKeys {
    id
    name
    prefix
    scopes
    createdAt
    lastUsedAt
    revokedAt
  }
}
    `) as unknown as TypedDocumentString<SdkApiKeysQuery, SdkApiKeysQueryVariables>;
export const SdkCreateApiKeyDocument = new TypedDocumentString(`
    mutation SdkCreateApiKey($name: String!, $scopes: [ApiScope!], $userId: ID) {
  createApiKey(name: $name, scopes: $scopes, userId: $userId) {
    secret
    apiKey {
      id
      name
      prefix
      scopes
      createdAt
      lastUsedAt
      revokedAt
    }
  }
}
    `) as unknown as TypedDocumentString<SdkCreateApiKeyMutation, SdkCreateApiKeyMutationVariables>;
export const SdkRevokeApiKeyDocument = new TypedDocumentString(`
    mutation SdkRevokeApiKey($id: ID!) {
  revokeApiKey(id: $id) {
    id
    revokedAt
  }
}
    `) as unknown as TypedDocumentString<SdkRevokeApiKeyMutation, SdkRevokeApiKeyMutationVariables>;
export const SdkUserQuotaDocument = new TypedDocumentString(`
    query SdkUserQuota($userId: ID) {
  userQuota(userId: $userId) {
    imagesPerDay
    videosPerDay
    maxResolution
    maxDurationSeconds
    maxFrames
  }
}
    `) as unknown as TypedDocumentString<SdkUserQuotaQuery, SdkUserQuotaQueryVariables>;
export const SdkSetUserQuotaDocument = new TypedDocumentString(`
    mutation SdkSetUserQuota($userId: ID!, $input: UserQuotaInput!) {
  setUserQuota(userId: $userId, input: $input) {
    imagesPerDay
    videosPerDay
    maxResolution
    maxDurationSeconds
    maxFrames
  }
}
    `) as unknown as TypedDocumentString<SdkSetUserQuotaMutation, SdkSetUserQuotaMutationVariables>;