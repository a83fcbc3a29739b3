import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config/config.ts';
import { loadOrCreateSecret } from '../config/secrets.ts';
import { createLogger } from '../config/logger.ts';
import { connectOrm, migrate } from '../db/orm.ts';
import { AuthService } from '../services/auth.service.ts';
import { bootstrapAdmin } from '../services/user.service.ts';
import { bootstrapProviders, providerKeySecret } from '../services/provider.service.ts';
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

async function main() {
  const config = loadConfig();
  logger = createLogger('atelier', config);
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
  if (!redisUrl) {
    const redis: LocalRedis = await startLocalRedis(path.join(config.dataDir, 'redis'), logger);
    cleanups.push(redis.stop);
    redisUrl = redis.url;
    logger.info('local redis-server started (AOF on)');
  }
  Object.assign(env, { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl });

  const orm = await connectOrm(databaseUrl);
  try {
    const ran = await migrate(orm);
    if (ran.length) logger.info({ migrations: ran }, 'migrations applied');
    const auth = new AuthService({
      jwtSecret: config.JWT_SECRET ?? loadOrCreateSecret(config.dataDir, 'jwt.secret'),
      jwtExpiresInSeconds: config.JWT_EXPIRES_IN_SECONDS,
    });
    const admin = await bootstrapAdmin(orm.em.fork(), auth, { username: config.ADMIN_USERNAME, password: config.ADMIN_PASSWORD });
    if (admin.apiKey) printFirstStart(admin.username, admin.generatedPassword, admin.apiKey, config.publicUrl);
    const providers = await bootstrapProviders(orm.em.fork(), config, providerKeySecret(config));
    if (providers.length) logger.info({ providers }, 'paid providers configured from environment keys');
  } finally {
    await orm.close();
  }

  await startService('api', 'rest-compat/main.ts', env, config.storageDir);
  await startService('worker', 'workers/main.ts', env, config.storageDir);
  console.log(`Atelier ready at ${config.publicUrl}/graphql`);
}

function printFirstStart(username: string, password: string | undefined, apiKey: string, url: string) {
  const lines = [
    '',
    'First start: an admin user and an API key were created.',
    `  username: ${username}`,
    password ? `  password: ${password}   (generated; shown only now, set ADMIN_PASSWORD to choose one)` : '  password: (from ADMIN_PASSWORD)',
    `  API key:  ${apiKey}   (shown only now)`,
    '',
    'Try it:',
    `  curl -s ${url}/graphql -H 'content-type: application/json' -H 'authorization: Bearer ${apiKey}' \\`,
    `    -d '{"query":"mutation { generateImage(input: {prompt: \\"a lighthouse at dusk\\", width: 256, height: 256}) { id status } }"}'`,
    '',
  ];
  console.log(lines.join('\n'));
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

main().catch((error) => {
  if (error instanceof ConfigError || error instanceof RedisNotInstalledError) console.error(error.message);
  else logger.error({ err: error }, 'Atelier failed to start');
  void stopAll(1);
});
