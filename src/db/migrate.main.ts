import { getConfig } from '../config/config.ts';
import { createLogger } from '../config/logger.ts';
import { requireUrls } from '../core.ts';
import { connectOrm, migrate } from './orm.ts';

const config = getConfig();
const logger = createLogger('migrate', config);
const orm = await connectOrm(requireUrls(config).databaseUrl);
try {
  const ran = await migrate(orm);
  logger.info({ migrations: ran }, ran.length ? 'migrations applied' : 'database is up to date');
} finally {
  await orm.close();
}
