import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from './config/config.ts';
import { loadOrCreateSecret } from './config/secrets.ts';
import { connectOrm, type Orm } from './db/orm.ts';
import { PubSub } from './pubsub/pubsub.ts';
import { GenerationQueues } from './queue/queue.producer.ts';
import { createRedis, waitForRedis } from './queue/redis.connection.ts';
import { AssetService } from './services/asset.service.ts';
import { QueueInfoReader } from './jobs/jobs.query.ts';
import { AuthCache } from './services/auth.cache.ts';
import { AuthService } from './services/auth.service.ts';
import { ComfyService } from './services/comfy.service.ts';
import { JobLifecycle } from './services/job-lifecycle.service.ts';
import { JobService } from './services/job.service.ts';
import { WorkerRegistry } from './services/worker-registry.service.ts';
import { ProfileService } from './services/profile.service.ts';
import { ProviderService, providerKeySecret } from './services/provider.service.ts';
import { QuotaService } from './services/quota.service.ts';
import { UploadService } from './services/upload.service.ts';
import { LocalStorage, type Storage } from './storage/storage.service.ts';

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
  close(): Promise<void>;
}

export function requireUrls(config: Config): { databaseUrl: string; redisUrl: string } {
  if (!config.DATABASE_URL || !config.REDIS_URL) {
    throw new Error('DATABASE_URL and REDIS_URL must be set (npm start sets them when it starts embedded services)');
  }
  return { databaseUrl: config.DATABASE_URL, redisUrl: config.REDIS_URL };
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
  const pubsub = new PubSub(redis, subscriber, config.QUEUE_PREFIX);
  const storage = new LocalStorage(config.storageDir);
  const profiles = new ProfileService();
  const authCache = new AuthCache({ pubsub, ttlMs: config.AUTH_CACHE_TTL_MS });
  await authCache.listen();
  const quotas = new QuotaService({
    imagesPerDay: config.QUOTA_IMAGES_PER_DAY ?? null,
    videosPerDay: config.QUOTA_VIDEOS_PER_DAY ?? null,
    maxResolution: config.QUOTA_MAX_RESOLUTION,
    maxDurationSeconds: config.QUOTA_MAX_DURATION_SECONDS,
    maxFrames: config.QUOTA_MAX_FRAMES,
  }, authCache);
  const auth = new AuthService(
    {
      jwtSecret: config.JWT_SECRET ?? loadOrCreateSecret(config.dataDir, 'jwt.secret'),
      jwtExpiresInSeconds: config.JWT_EXPIRES_IN_SECONDS,
    },
    authCache,
  );
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
    async close() {
      await authCache.close().catch(() => undefined);
      await queues.close().catch(() => undefined);
      redis.disconnect();
      subscriber.disconnect();
      await orm.close();
    },
  };
}
