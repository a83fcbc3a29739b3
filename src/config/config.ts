import path from 'node:path';
import { z } from 'zod';
import { ENGINE_FAMILIES } from '../queue/queue.names.ts';

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
  DATABASE_URL: optionalUrl,
  REDIS_URL: optionalUrl,
  QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('atelier'),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  JWT_EXPIRES_IN_SECONDS: z.coerce.number().int().positive().default(3600),
  ADMIN_USERNAME: z.string().min(1).default('admin'),
  ADMIN_PASSWORD: z.string().min(8, 'ADMIN_PASSWORD must be at least 8 characters').optional(),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  WORKER_ENGINES: z.string().default('builtin'),
  DEFAULT_ENGINE: z.enum(ENGINE_FAMILIES).default('builtin'),
  UPLOAD_MAX_BYTES: z.coerce.number().int().positive().default(524_288_000),
  UPLOAD_MAX_PIXELS: z.coerce.number().int().positive().default(50_000_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  GRAPHIQL: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});

export type Config = Readonly<
  z.infer<typeof envSchema> & {
    dataDir: string;
    storageDir: string;
    publicUrl: string;
  }
>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (PORT=) means "not set", as in most tools, rather than 0 or an empty secret.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(set);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const values = parsed.data;
  const dataDir = path.resolve(values.DATA_DIR);
  return Object.freeze({
    ...values,
    dataDir,
    storageDir: path.resolve(values.STORAGE_DIR ?? path.join(dataDir, 'storage')),
    publicUrl: (values.PUBLIC_URL ?? `http://${values.HOST}:${values.PORT}`).replace(/\/$/, ''),
  });
}

let current: Config | undefined;

/** The process-wide configuration, read from the environment once. */
export function getConfig(): Config {
  current ??= loadConfig();
  return current;
}
