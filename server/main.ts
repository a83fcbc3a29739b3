import { anonymousBanner } from '../src/config/anonymous-families.ts';
import { getConfig } from '../src/config/config.ts';
import { createLogger } from '../src/config/logger.ts';
import { createCore } from '../src/core.ts';
import { registerStaticApiKey } from '../src/services/static-api-key.ts';
import { startQueueMonitor } from '../src/services/queue-monitor.ts';
import { buildServer } from './server.ts';

const config = getConfig();
const logger = createLogger('api', config);
const core = await createCore(config, 'api');
// CONFIG_DIR's files are applied before the first request; a bad one stops the start with its file and line.
const applied = await core.configFiles?.start().catch(async (error: Error) => {
  logger.fatal({ err: error }, `configuration files refused: ${error.message}`);
  await core.close();
  process.exit(1);
});
if (applied) logger.info({ dir: config.configDir, ...applied }, 'configuration files applied');
if (config.API_KEY && !(await registerStaticApiKey(core.orm.em.fork(), config.API_KEY, core.auth.cache))) {
  logger.warn('API_KEY is set but there is no admin user yet to hold it; it works once the API restarts after one exists');
}
// An hour is far longer than any upload stays silent, so what is older was left by a process that died.
const swept = await core.uploads.sweepStale(60 * 60 * 1000);
if (swept) logger.warn({ files: swept }, 'removed temp files of unfinished uploads');
const server = await buildServer(core, logger);
const stopMonitor = startQueueMonitor(core, (error) => logger.warn({ err: error }, 'queue depth check failed'));
const address = await server.app.listen({ host: config.HOST, port: config.PORT });
logger.info({ address }, 'API listening');
logger.info(anonymousBanner(config));
process.send?.({ type: 'ready', service: 'api', address });

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'API stopping');
  // Closing talks to Redis and PostgreSQL; if they are already gone it could wait for ever.
  setTimeout(() => {
    logger.error('API shutdown did not finish in 10 s; exiting');
    process.exit(1);
  }, 10_000).unref();
  stopMonitor();
  await server.close().catch((error) => logger.error({ err: error }, 'closing HTTP server failed'));
  await core.close().catch((error) => logger.error({ err: error }, 'closing core failed'));
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// Started by the launcher: if it dies without stopping us, stop too rather than linger as an orphan.
if (process.connected) process.once('disconnect', () => void shutdown('launcher exited'));
