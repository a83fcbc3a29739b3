import { getConfig } from '../config/config.ts';
import { createLogger } from '../config/logger.ts';
import { requireUrls } from '../core.ts';
import { firstStartLines, logSetup, migrateAndBootstrap } from './bootstrap.ts';

/**
 * `migrate` (alias `bootstrap`): migrations, the first admin (ADMIN_USERNAME / ADMIN_PASSWORD) and the paid providers
 * from their keys. Safe to run on every machine at every deploy: runs take turns on an advisory lock.
 */
const config = getConfig();
const logger = createLogger('migrate', config);
const result = await migrateAndBootstrap(config, requireUrls(config).databaseUrl);
logSetup(logger, result);
const lines = firstStartLines(result.admin, config.publicUrl);
if (lines.length) console.log(lines.join('\n'));
