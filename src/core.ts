import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from './config/config.ts';
import { loadOrCreateSecret } from './config/secrets.ts';
import { connectOrm, type Orm } from './db/orm.ts';
import { PubSub } from './pubsub/pubsub.ts';
import { GenerationQueues } from './queue/queue.producer.ts';
import { createRedis, waitForRedis } from './queue/redis.connection.ts';
import { AssetService } from './services/asset.service.ts';
import { AuthService } from './services/auth.service.ts';
import { JobLifecycle } from './services/job-lifecycle.service.ts';
import { JobService } from './services/job.service.ts';
import { ProfileService } from './services/profile.service.ts';
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
  uploads: UploadService;
  assets: AssetService;
  lifecycle: JobLifecycle;
  close(): Promise<void>;
}

export function requireUrls(config: Config): { databaseUrl: string; redisUrl: string } {
  if (!config.DATABASE_URL || !config.REDIS_URL) {
    throw new Error('DATABASE_URL and REDIS_URL must be set (npm start sets them when it starts embedded services)');
  }
  return { databaseUrl: config.DATABASE_URL, redisUrl: config.REDIS_URL };
}

/**
 * API processes fail fast when Redis is down (a request gets an error, not a hang); workers wait for it.
 */
export async function createCore(config: Config, role: 'api' | 'worker'): Promise<Core> {
  const { databaseUrl, redisUrl } = requireUrls(config);
  const orm = await connectOrm(databaseUrl);
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
  const auth = new AuthService({
    jwtSecret: config.JWT_SECRET ?? loadOrCreateSecret(config.dataDir, 'jwt.secret'),
    jwtExpiresInSeconds: config.JWT_EXPIRES_IN_SECONDS,
  });
  return {
    config,
    orm,
    redis,
    queues,
    pubsub,
    storage,
    auth,
    jobs: new JobService({ queues, pubsub, profiles, defaultEngine: config.DEFAULT_ENGINE }),
    profiles,
    uploads: new UploadService({
      storage,
      tempDir: path.join(config.dataDir, 'tmp', 'uploads'),
      limits: { maxBytes: config.UPLOAD_MAX_BYTES, maxPixels: config.UPLOAD_MAX_PIXELS },
    }),
    assets: new AssetService(storage),
    lifecycle: new JobLifecycle({ pubsub, storage, publicUrl: config.publicUrl }),
    async close() {
      await queues.close().catch(() => undefined);
      redis.disconnect();
      subscriber.disconnect();
      await orm.close();
    },
  };
}
