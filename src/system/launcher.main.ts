import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config/config.ts';
import { ConfigFileError, readConfigDir } from '../config/config-files.ts';
import { EnvFileError } from '../config/env-file.ts';
import { createLogger } from '../config/logger.ts';
import { firstStartLines, logSetup, migrateAndBootstrap } from '../db/bootstrap.ts';
import { anonymousBanner } from '../config/anonymous-families.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './postgres.embedded.ts';
import { removeLeftovers } from './crash-cleanup.ts';
import { Supervisor } from './supervisor.ts';
import { RedisNotInstalledError, startLocalRedis, type LocalRedis } from './redis.local.ts';

/**
 * `npm start`: brings up everything on embedded defaults — PostgreSQL and Redis of its own unless
 * DATABASE_URL / REDIS_URL are given — then migrations, the first admin, the API and one worker.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
let logger = createLogger('atelier', { LOG_LEVEL: 'info', LOG_FORMAT: 'auto' });
const cleanups: (() => Promise<void>)[] = [];
const services: Supervisor[] = [];
let stopping = false;

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  logger.info('stopping Atelier');
  await Promise.all(services.map((service) => service.stop()));
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => logger.warn({ err: error }, 'cleanup failed'));
  process.exit(code);
}

/** A crashed service is restarted (see Supervisor); the others keep serving meanwhile. */
function startService(name: string, script: string, env: NodeJS.ProcessEnv, storageDir: string): Promise<void> {
  const service = new Supervisor({
    name,
    script: path.join(root, script),
    cwd: root,
    env,
    logger,
    afterCrash: async (pid) => {
      const removed = await removeLeftovers(pid, storageDir);
      if (removed.tempDirs || removed.partials) logger.warn({ service: name, pid, ...removed }, 'removed files the crashed process left');
    },
    onGiveUp: () => {
      // Nothing left to serve: stop rather than sit there looking alive.
      if (services.every((s) => s.gaveUp)) void stopAll(1);
    },
  });
  services.push(service);
  return service.start();
}

/**
 * The embedded redis-server, started again on the same port and folder if it dies (its AOF brings the queues back;
 * API and workers reconnect by themselves). A Redis that cannot stay up (five deaths within a minute) stops Atelier.
 */
async function superviseLocalRedis(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  let current: LocalRedis = await startLocalRedis(dir, logger);
  const port = Number(new URL(current.url).port);
  const deaths: number[] = [];
  const watch = (redis: LocalRedis) =>
    redis.process.once('exit', (code, signal) => {
      if (stopping) return;
      const now = Date.now();
      deaths.push(now);
      while (deaths.length && now - deaths[0]! > 60_000) deaths.shift();
      if (deaths.length >= 5) {
        logger.error({ code, signal }, 'redis-server keeps dying; stopping everything');
        void stopAll(1);
        return;
      }
      logger.warn({ code, signal }, 'redis-server exited; starting it again');
      void (async () => {
        // A moment for the old process's port to be released.
        await new Promise((resolve) => setTimeout(resolve, 500 * deaths.length));
        try {
          current = await startLocalRedis(dir, logger, port);
          watch(current);
          logger.info('redis-server started again');
        } catch (error) {
          logger.error({ err: error }, 'redis-server could not be started again; stopping everything');
          void stopAll(1);
        }
      })();
    });
  watch(current);
  return { url: current.url, stop: () => current.stop() };
}

async function main() {
  const config = loadConfig();
  logger = createLogger('atelier', config);
  // A bad configuration file stops everything before any service starts, with its file and line.
  if (config.configDir) readConfigDir(config.configDir);
  mkdirSync(config.dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: config.dataDir };

  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    const db: EmbeddedDatabase = await startEmbeddedPostgres(path.join(config.dataDir, 'postgres'), 'atelier', logger);
    cleanups.push(db.stop);
    databaseUrl = db.url;
    logger.info('embedded PostgreSQL started');
  }
  let redisUrl = config.REDIS_URL;
  if (!redisUrl && !config.REDIS_CLUSTER_NODES) {
    const redis = await superviseLocalRedis(path.join(config.dataDir, 'redis'));
    cleanups.push(redis.stop);
    redisUrl = redis.url;
    logger.info('local redis-server started (AOF on)');
  }
  Object.assign(env, { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl });

  const setup = await migrateAndBootstrap(config, databaseUrl);
  logSetup(logger, setup);
  const firstStart = firstStartLines(setup.admin, config.publicUrl);
  if (firstStart.length) console.log(firstStart.join('\n'));

  await startService('api', 'server/main.ts', env, config.storageDir);
  await startService('worker', 'workers/main.ts', env, config.storageDir);
  console.log(`Atelier ready at ${config.publicUrl}/graphql`);
  console.log(anonymousBanner(config));
  console.log(`Dashboard: ${config.publicUrl}/   CLI: ./atelier login, then ./atelier generate image "a lighthouse at dusk"`);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

main().catch((error) => {
  if ([ConfigError, ConfigFileError, EnvFileError, RedisNotInstalledError].some((kind) => error instanceof kind)) console.error(error.message);
  else logger.error({ err: error }, 'Atelier failed to start');
  void stopAll(1);
});
