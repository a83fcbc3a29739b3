import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ENGINE_FAMILIES } from '../queue/queue.names.ts';
import { readYamlFile, resolveConfigDir, SYSTEM_FILE, systemSettings } from './config-files.ts';
import { systemConfigFile } from './config-files.schema.ts';
import { loadEnvFile } from './env-file.ts';
import { aliasNote, withAliases } from './env.aliases.ts';

/** Sized to the machine: a builtin job renders on a thread of its own, so one job per core keeps every core busy. */
export const defaultWorkerConcurrency = () => Math.min(64, Math.max(2, availableParallelism()));

const port = z.coerce.number().int().min(0).max(65535);
const optionalUrl = z
  .string()
  .trim()
  .transform((v) => v || undefined)
  .pipe(z.string().url().optional())
  .optional();

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(4000),
  PUBLIC_URL: optionalUrl,
  DATA_DIR: z.string().default('.data'),
  STORAGE_DIR: z.string().optional(),
  /** s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true&redirect=true: assets in a shared bucket instead of STORAGE_DIR. */
  STORAGE_URL: z.string().trim().startsWith('s3://', 'must start with s3://').optional(),
  DATABASE_URL: optionalUrl,
  REDIS_URL: optionalUrl,
  /** Redis Cluster seed nodes (`host:port` or `redis://:password@host:port`, comma-separated), instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: z.string().trim().optional(),
  // `{atelier}` (a hash tag) keeps every key in one cluster slot, as BullMQ and multi-key commands need on a cluster.
  QUEUE_PREFIX: z
    .string()
    .regex(/^(\{[a-zA-Z0-9_-]+\}|[a-zA-Z0-9_-]+)+$/, 'letters, digits, "_" and "-", optionally with one {hash-tag}')
    .refine((v) => (v.match(/\{/g) ?? []).length <= 1, 'at most one {hash-tag}')
    .default('atelier'),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  /** Document 003's static API key: a Bearer credential that acts as the admin user. */
  API_KEY: z.string().min(16, 'API_KEY must be at least 16 characters').optional(),
  /** The video platform's YAML files (system_config.yaml, users/, projects/); default ./configs when it exists. */
  CONFIG_DIR: z.string().optional(),
  JWT_EXPIRES_IN_SECONDS: z.coerce.number().int().positive().default(3600),
  /** How long a process may reuse a user or API key it read; changes reach every process at once through pubsub. */
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).default(30_000),
  ADMIN_USERNAME: z.string().min(1).default('admin'),
  ADMIN_PASSWORD: z.string().min(8, 'ADMIN_PASSWORD must be at least 8 characters').optional(),
  /** Jobs one worker runs at once: one per core by default (each builtin render takes a thread), at least 2. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(defaultWorkerConcurrency()),
  /** Database connections per process; by default enough for every job a worker may run at once, never fewer. */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(500).optional(),
  WORKER_ENGINES: z.string().default('builtin,provider,comfyui'),
  /** How long a worker's hold on a job lasts without renewal: a worker that dies loses its jobs to others after this. */
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** How often some worker looks for QUEUED rows with no queue entry and for lost workers' jobs. */
  JOB_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
  /** A QUEUED row older than this with no queue entry was left by an API that died; it is queued again. */
  JOB_ORPHAN_AFTER_SECONDS: z.coerce.number().min(1).max(86_400).default(30),
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  DEFAULT_ENGINE: z.enum(ENGINE_FAMILIES).default('builtin'),
  UPLOAD_MAX_BYTES: z.coerce.number().int().positive().default(524_288_000),
  UPLOAD_MAX_PIXELS: z.coerce.number().int().positive().default(50_000_000),
  /** How long a signed result URL (`/files/{id}?exp=…&sig=…`) handed to a client stays valid. */
  FILE_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(31_536_000).default(3600),
  /** Paid image providers (see README "Paid providers"). */
  PROVIDER_KEY_SECRET: z.string().min(32, 'PROVIDER_KEY_SECRET must be at least 32 characters').optional(),
  OPENAI_API_KEY: z.string().optional(),
  PIAPI_API_KEY: z.string().optional(),
  STABLE_DIFFUSION_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: optionalUrl,
  PIAPI_BASE_URL: optionalUrl,
  STABLE_DIFFUSION_BASE_URL: optionalUrl,
  /** Seconds between checks of queue depth (the image service document's BATCH_MONITOR_INTERVAL). */
  BATCH_MONITOR_INTERVAL: z.coerce.number().positive().default(30),
  /** Jobs waiting in one queue above which a QUEUE_BACKLOG alert is raised. */
  ALERT_QUEUE_DEPTH: z.coerce.number().int().positive().default(100),
  /** Browser origins allowed by CORS: a comma-separated list, or "*"; unset, this machine's pages on loopback (cors.ts). */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean)),
  PROVIDER_ROUTING_RULES: z.string().optional(),
  /** JSON {name: {engine, workflow?, modelPack?}} adding to the documents' engine names (engine-aliases.ts). */
  ENGINE_ALIASES: z.string().optional(),
  PROVIDER_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  PROVIDER_POLL_INTERVAL_MS: z.coerce.number().int().positive().default(2000),
  PROVIDER_BREAKER_THRESHOLD: z.coerce.number().int().min(1).default(3),
  PROVIDER_BREAKER_COOLDOWN_SECONDS: z.coerce.number().positive().default(60),
  PROVIDER_CREDITS_TTL_SECONDS: z.coerce.number().min(0).default(60),
  BATCH_CACHE_TTL_HOURS: z.coerce.number().positive().default(24),
  BATCH_CACHE_MAX_MEMORY_ITEMS: z.coerce.number().int().min(1).default(1000),
  BATCH_MAX_CONCURRENT: z.coerce.number().int().min(1).default(10),
  BATCH_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  BATCH_RETRY_DELAY: z.coerce.number().min(0).default(2.0),
  ALERT_HIGH_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0.2),
  ALERT_SLOW_RESPONSE_TIME: z.coerce.number().positive().default(30.0),
  COMFYUI_SERVER_URLS: z.string().optional(),
  COMFYUI_ALLOWED_SERVERS: z.string().optional(),
  COMFYUI_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /** Local ONNX models (see README "Local ONNX models and GPUs"). */
  MODELS_DIR: z.string().optional(),
  ONNX_EXECUTION_PROVIDER: z.enum(['auto', 'cuda', 'cpu']).default('auto'),
  GPU_IDS: z.string().regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'must be GPU indexes like "0,1"').optional(),
  GPU_VRAM_GB: z.coerce.number().positive().optional(),
  MAX_CONCURRENT_PER_GPU: z.coerce.number().int().min(1).max(64).default(2),
  ONNX_BATCH_WINDOW_MS: z.coerce.number().int().min(0).max(1000).default(20),
  ONNX_MAX_BATCH: z.coerce.number().int().min(1).max(64).default(8),
  ONNX_CPU_MEMORY_GB: z.coerce.number().positive().default(8),
  MODEL_CACHE_MAX_GB: z.coerce.number().positive().default(16),
  ONNX_DEFAULT_MODEL: z.string().optional(),
  TELEMETRY_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  GRAPHIQL: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Unset: talking-head and video-generator while HOST is loopback, none otherwise (see anonymous-families.ts). */
  REST_ANONYMOUS_FAMILIES: z
    .string()
    .optional()
    .transform((v) => v?.split(',').map((f) => f.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['talking-head', 'video-generator', 'none'])).optional()),
  REST_SYNC_TIMEOUT_SECONDS: z.coerce.number().min(0).max(600).default(60),
  RATE_LIMIT_GLOBAL: z.coerce.number().int().positive().default(500),
  /** Requests per window for the whole server, all clients together (the media API document's "Global"). */
  RATE_LIMIT_SERVER: z.coerce.number().int().positive().default(500),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(1),
  RATE_LIMIT_COMFY_EXECUTE: z.coerce.number().int().positive().default(50),
  RATE_LIMIT_GENERATE_IMAGE: z.coerce.number().int().positive().default(100),
  RATE_LIMIT_GENERATE_VIDEO: z.coerce.number().int().positive().default(20),
  // Unset: no daily limit until an admin sets one for a user.
  QUOTA_IMAGES_PER_DAY: z.coerce.number().int().min(0).optional(),
  QUOTA_VIDEOS_PER_DAY: z.coerce.number().int().min(0).optional(),
  QUOTA_MAX_RESOLUTION: z.string().regex(/^\d{2,5}x\d{2,5}$/, 'must look like "1920x1080"').default('2048x2048'),
  QUOTA_MAX_DURATION_SECONDS: z.coerce.number().positive().default(60),
  QUOTA_MAX_FRAMES: z.coerce.number().int().positive().default(1440),
  /** Login throttling: consecutive failures per username and address, failures per username and per address an hour. */
  LOGIN_MAX_CONSECUTIVE_FAILS: z.coerce.number().int().min(1).default(5),
  LOGIN_MAX_FAILS_PER_USERNAME: z.coerce.number().int().min(1).default(50),
  LOGIN_MAX_FAILS_PER_IP: z.coerce.number().int().min(1).default(100),
  LOGIN_BLOCK_SECONDS: z.coerce.number().int().min(1).default(900),
  /** Longest a client may take to send a whole request (headers and body); a trickled body is cut off. */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).default(120_000),
  /** GraphQL Armor limits (see README "Reliability and security"). */
  GRAPHQL_MAX_COST: z.coerce.number().int().positive().default(5000),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().positive().default(12),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).default(15),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().positive().default(5000),
  /** Who may introspect the schema and see "Did you mean …" hints; unset: everyone, but only signed-in callers in production. */
  GRAPHQL_INTROSPECTION: z.enum(['everyone', 'authenticated', 'nobody']).optional(),
  GRAPHQL_SUGGESTIONS: z.enum(['everyone', 'authenticated', 'nobody']).optional(),
  /** Webhooks (see README "Webhooks"): loopback and private targets only when listed here (host or host:port). */
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  /** Attempts in all, the first included; with the defaults the last retry comes about a day after the event. */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(30).default(8),
  /** Delay before the first retry; each later one is WEBHOOK_RETRY_FACTOR times longer, ±25% jitter. */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(5_000),
  WEBHOOK_RETRY_FACTOR: z.coerce.number().min(1).max(20).default(5),
  WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(1).max(7 * 86_400_000).default(86_400_000),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Age after which a PENDING delivery with no queue entry (Redis failed as it was made) is queued again. */
  WEBHOOK_ORPHAN_AFTER_SECONDS: z.coerce.number().min(1).max(86_400).default(60),
  /** Within a priority, users' jobs take turns (weighted round robin) instead of running in arrival order. */
  FAIR_QUEUES: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** A user's share when an admin has set none (setUserQueueWeight): 1–12. */
  FAIR_QUEUE_DEFAULT_WEIGHT: z.coerce.number().int().min(1).max(12).default(1),
  /** At most this many of one user's jobs run at once across all workers; unset: no cap. */
  MAX_RUNNING_JOBS_PER_USER: z.coerce.number().int().min(1).optional(),
  /** How long an Idempotency-Key is remembered. */
  IDEMPOTENCY_TTL_HOURS: z.coerce.number().positive().max(24 * 30).default(24),
  /** Files (and their rows) older than this many days are removed by a daily sweep; unset keeps them for ever. */
  ASSET_RETENTION_DAYS: z.coerce.number().positive().optional(),
  READY_REQUIRES_WORKER: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});

export type Config = Readonly<
  z.infer<typeof envSchema> & {
    dataDir: string;
    storageDir: string;
    publicUrl: string;
    /** CONFIG_DIR resolved, or null when there is none. */
    configDir: string | null;
    /** Where each setting system_config.yaml can hold came from: "environment", the file, or "default". */
    settingSources: Readonly<Record<string, string>>;
  }
>;

export class ConfigError extends Error {}

/** The settings system_config.yaml maps onto. */
export const SYSTEM_FILE_KEYS = ['GPU_IDS', 'ONNX_EXECUTION_PROVIDER', 'WORKER_CONCURRENCY', 'MAX_CONCURRENT_PER_GPU', 'MODEL_CACHE_MAX_GB', 'STORAGE_DIR'] as const;

/** The process environment with `.env` (or ENV_FILE) read into it; variables already set win. */
export function processEnvironment(): NodeJS.ProcessEnv {
  loadEnvFile(process.env);
  return process.env;
}

export function loadConfig(env: NodeJS.ProcessEnv = processEnvironment()): Config {
  // An empty variable (PORT=) means "not set", as in most tools, rather than 0 or an empty secret.
  const given = withAliases(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  const configDir = resolveConfigDir(given.CONFIG_DIR);
  const fromFile = configDir && existsSync(path.join(configDir, SYSTEM_FILE)) ? systemSettings(readYamlFile(configDir, SYSTEM_FILE, systemConfigFile)) : {};
  const settingSources = Object.fromEntries(
    SYSTEM_FILE_KEYS.map((key) => [key, given[key] !== undefined ? 'environment' : key in fromFile ? SYSTEM_FILE : 'default']),
  );
  const set = { ...fromFile, ...given };
  const parsed = envSchema.safeParse(set);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}${aliasNote(env, String(i.path[0]))}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const values = parsed.data;
  if (values.REDIS_CLUSTER_NODES && !/\{[^}]+\}/.test(values.QUEUE_PREFIX)) {
    throw new ConfigError(
      `Invalid configuration:\n  QUEUE_PREFIX: with REDIS_CLUSTER_NODES it must hold a hash tag, e.g. "{${values.QUEUE_PREFIX}}", so that every key of a queue lands in one cluster slot`,
    );
  }
  const dataDir = path.resolve(values.DATA_DIR);
  return Object.freeze({
    ...values,
    dataDir,
    storageDir: path.resolve(values.STORAGE_DIR ?? path.join(dataDir, 'storage')),
    publicUrl: (values.PUBLIC_URL ?? `http://${values.HOST}:${values.PORT}`).replace(/\/$/, ''),
    configDir,
    settingSources,
  });
}

let current: Config | undefined;

/** The process-wide configuration, read from the environment once. */
export function getConfig(): Config {
  current ??= loadConfig();
  return current;
}
