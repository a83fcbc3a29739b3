import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from './config/config.ts';
import { loadOrCreateSecret } from './config/secrets.ts';
import { requireSharedSecrets } from './config/shared-secrets.ts';
import { connectOrm, type Orm } from './db/orm.ts';
import { PubSub } from './pubsub/pubsub.ts';
import { GenerationQueues } from './queue/queue.producer.ts';
import { clusterTarget, createRedis, waitForRedis } from './queue/redis.connection.ts';
import { AssetService } from './services/asset.service.ts';
import { QueueInfoReader } from './jobs/jobs.query.ts';
import { AuthCache } from './services/auth.cache.ts';
import { AuthService } from './services/auth.service.ts';
import { ComfyService } from './services/comfy.service.ts';
import { JobLifecycle } from './services/job-lifecycle.service.ts';
import { JobService } from './services/job.service.ts';
import { WorkerRegistry } from './services/worker-registry.service.ts';
import { ProfileService } from './services/profile.service.ts';
import { ConfigFilesService } from './services/config-files.service.ts';
import { SceneProfileService } from './services/scene-profile.service.ts';
import { createLogger } from './config/logger.ts';
import { parseEngineAliases } from './services/engine-aliases.ts';
import { ProviderService, providerKeySecret } from './services/provider.service.ts';
import { QuotaService } from './services/quota.service.ts';
import { UploadService } from './services/upload.service.ts';
import { createStorage } from './storage/storage.factory.ts';
import type { Storage } from './storage/storage.service.ts';
import { FileUrlSigner } from './storage/file-url.signer.ts';
import { IdempotencyService } from './jobs/jobs.idempotency.ts';
import { JobSubmissions } from './jobs/jobs.submission.ts';
import { WebhookService } from './webhooks/webhook.service.ts';
import { QueueControl } from './queue/queue.control.ts';
import { AssetRetention } from './storage/asset.retention.ts';
import { FairQueues } from './jobs/jobs.fairness.ts';

/** Everything a process needs from the core, built once at start and closed once at exit. */
export interface Core {
  config: Config;
  orm: Orm;
  redis: Redis;
  queues: GenerationQueues;
  pubsub: PubSub;
  storage: Storage;
  auth: AuthService;
  jobs: JobService;
  profiles: ProfileService;
  /** Scene profiles: named scenes video requests cite. */
  scenes: SceneProfileService;
  /** The YAML files under CONFIG_DIR, when there is one; API processes apply and watch them. */
  configFiles: ConfigFilesService | null;
  quotas: QuotaService;
  /** Live workers, their GPUs and model packs, from their heartbeats. */
  workers: WorkerRegistry;
  uploads: UploadService;
  assets: AssetService;
  lifecycle: JobLifecycle;
  /** Queue position and ETA, read from BullMQ and Redis when asked. */
  queueInfo: QueueInfoReader;
  comfy: ComfyService;
  /** Paid image providers: admin, routing, credits, cache, alerts. */
  providers: ProviderService;
  /** Signs result URLs handed to clients, and checks them when they come back. */
  fileUrls: FileUrlSigner;
  /** Users' signed webhooks: secrets, endpoints, deliveries. */
  webhooks: WebhookService;
  /** Idempotency keys and per-job webhooks around every face's job creation. */
  submissions: JobSubmissions;
  /** Pause, resume, reprioritise, cancel in bulk. */
  queueControl: QueueControl;
  /** Deleting files, the ASSET_RETENTION_DAYS sweep, storage used per user. */
  retention: AssetRetention;
  idempotency: IdempotencyService;
  /** Turns within a priority, per user; null when FAIR_QUEUES is false. */
  fairness: FairQueues | null;
  close(): Promise<void>;
}

/** `redisUrl` is REDIS_URL, or REDIS_CLUSTER_NODES as a `redis-cluster://` target that createRedis understands. */
export function requireUrls(config: Config): { databaseUrl: string; redisUrl: string } {
  const redisUrl = config.REDIS_CLUSTER_NODES ? clusterTarget(config.REDIS_CLUSTER_NODES) : config.REDIS_URL;
  if (!config.DATABASE_URL || !redisUrl) {
    throw new Error('DATABASE_URL and REDIS_URL (or REDIS_CLUSTER_NODES) must be set (npm start sets them when it starts embedded services)');
  }
  return { databaseUrl: config.DATABASE_URL, redisUrl };
}

/**
 * Connections a process needs: a worker holds one per running job (its builtin jobs and its provider jobs may run
 * side by side) plus a few for heartbeats and give-up writes; an API process one per statement in flight.
 */
export function poolSize(config: Config, role: 'api' | 'worker'): number {
  if (config.DB_POOL_MAX) return config.DB_POOL_MAX;
  return role === 'worker' ? Math.max(10, config.WORKER_CONCURRENCY + config.BATCH_MAX_CONCURRENT + 2) : 10;
}

/**
 * API processes fail fast when Redis is down (a request gets an error, not a hang); workers wait for it.
 */
export async function createCore(config: Config, role: 'api' | 'worker'): Promise<Core> {
  const { databaseUrl, redisUrl } = requireUrls(config);
  requireSharedSecrets(config);
  const orm = await connectOrm(databaseUrl, { pool: { min: 0, max: poolSize(config, role) } });
  const redis = createRedis(redisUrl, role === 'api' ? 'producer' : 'worker');
  const subscriber = createRedis(redisUrl, 'subscriber');
  try {
    await Promise.all([waitForRedis(redis), waitForRedis(subscriber)]);
  } catch (error) {
    redis.disconnect();
    subscriber.disconnect();
    await orm.close();
    throw error;
  }
  const queues = new GenerationQueues(redis, config.QUEUE_PREFIX);
  const fairness = config.FAIR_QUEUES ? new FairQueues(redis, config.QUEUE_PREFIX, config.FAIR_QUEUE_DEFAULT_WEIGHT) : null;
  if (fairness) queues.placement = (queue, priority, userId) => fairness.place(queue, priority, userId);
  const pubsub = new PubSub(redis, subscriber, config.QUEUE_PREFIX);
  const storage = createStorage(config);
  const profiles = new ProfileService(parseEngineAliases(config.ENGINE_ALIASES));
  const authLog = createLogger('auth', config);
  const authCache = new AuthCache({ pubsub, ttlMs: config.AUTH_CACHE_TTL_MS, warn: (err, message) => authLog.warn({ err }, message) });
  await authCache.listen();
  const quotas = new QuotaService({
    imagesPerDay: config.QUOTA_IMAGES_PER_DAY ?? null,
    videosPerDay: config.QUOTA_VIDEOS_PER_DAY ?? null,
    maxResolution: config.QUOTA_MAX_RESOLUTION,
    maxDurationSeconds: config.QUOTA_MAX_DURATION_SECONDS,
    maxFrames: config.QUOTA_MAX_FRAMES,
  }, authCache);
  const jwtSecret = config.JWT_SECRET ?? loadOrCreateSecret(config.dataDir, 'jwt.secret');
  const auth = new AuthService({ jwtSecret, jwtExpiresInSeconds: config.JWT_EXPIRES_IN_SECONDS }, authCache);
  const queueInfo = new QueueInfoReader({ redis, queues, prefix: config.QUEUE_PREFIX });
  const workers = new WorkerRegistry(redis, config.QUEUE_PREFIX);
  const providers = new ProviderService({
    config,
    redis,
    pubsub,
    keySecret: () => providerKeySecret(config),
  });
  const jobs = new JobService({ queues, queueInfo, pubsub, profiles, defaultEngine: config.DEFAULT_ENGINE, quotas, workers, providers });
  const comfy = new ComfyService({
    jobs,
    redis,
    prefix: config.QUEUE_PREFIX,
    serverUrls: config.COMFYUI_SERVER_URLS,
    allowedServers: config.COMFYUI_ALLOWED_SERVERS,
    maxAttempts: config.COMFYUI_MAX_ATTEMPTS,
  });
  const configFiles = config.configDir ? new ConfigFilesService({ dir: config.configDir, orm, log: createLogger('config', config), authCache }) : null;
  const webhooks = new WebhookService({
    redis,
    pubsub,
    prefix: config.QUEUE_PREFIX,
    settings: { allowedHosts: config.WEBHOOK_ALLOWED_HOSTS, maxAttempts: config.WEBHOOK_MAX_ATTEMPTS },
  });
  const idempotency = new IdempotencyService({ ttlHours: config.IDEMPOTENCY_TTL_HOURS });
  const submissions = new JobSubmissions({ idempotency, webhooks });
  return {
    config,
    orm,
    redis,
    queues,
    pubsub,
    storage,
    auth,
    jobs,
    profiles,
    scenes: new SceneProfileService(),
    configFiles,
    quotas,
    workers,
    uploads: new UploadService({
      storage,
      tempDir: path.join(config.dataDir, 'tmp', 'uploads'),
      limits: { maxBytes: config.UPLOAD_MAX_BYTES, maxPixels: config.UPLOAD_MAX_PIXELS },
    }),
    assets: new AssetService(storage),
    lifecycle: new JobLifecycle({ pubsub, storage, publicUrl: config.publicUrl, queueInfo }),
    queueInfo,
    comfy,
    providers,
    fileUrls: new FileUrlSigner({ secret: jwtSecret, ttlSeconds: config.FILE_URL_TTL_SECONDS, publicUrl: config.publicUrl }),
    webhooks,
    submissions,
    queueControl: new QueueControl({ queues, jobs }),
    retention: new AssetRetention(storage),
    idempotency,
    fairness,
    async close() {
      configFiles?.stop();
      await authCache.close().catch(() => undefined);
      await queues.close().catch(() => undefined);
      await webhooks.close().catch(() => undefined);
      redis.disconnect();
      subscriber.disconnect();
      await orm.close();
    },
  };
}
