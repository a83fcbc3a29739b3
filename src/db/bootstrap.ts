import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { loadOrCreateSecret } from '../config/secrets.ts';
import { AuthService } from '../services/auth.service.ts';
import { bootstrapProviders, providerKeySecret } from '../services/provider.service.ts';
import { bootstrapAdmin, type BootstrapResult } from '../services/user.service.ts';
import { connectOrm, migrate } from './orm.ts';

/** One key for every process that changes the schema or seeds it: migrations and bootstrap never run twice at once. */
const MIGRATION_LOCK_KEY = 0x6174_656c; // "atel"

/**
 * Runs `fn` while holding a session-level PostgreSQL advisory lock on its own connection: several machines
 * running `migrate` together take turns, and the later ones find nothing left to do.
 */
export async function withMigrationLock<T>(databaseUrl: string, fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await fn();
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface SetupResult {
  migrations: string[];
  admin: BootstrapResult;
  providers: string[];
}

/**
 * Migrations, then the first admin and the paid providers named by the environment: what every deployment needs
 * before its first API starts, whatever machine runs it. Idempotent: a second run changes nothing.
 */
export async function migrateAndBootstrap(config: Config, databaseUrl: string): Promise<SetupResult> {
  return withMigrationLock(databaseUrl, async () => {
    const orm = await connectOrm(databaseUrl, { pool: { min: 0, max: 2 } });
    try {
      const migrations = await migrate(orm);
      const auth = new AuthService({
        jwtSecret: config.JWT_SECRET ?? loadOrCreateSecret(config.dataDir, 'jwt.secret'),
        jwtExpiresInSeconds: config.JWT_EXPIRES_IN_SECONDS,
      });
      const admin = await bootstrapAdmin(orm.em.fork(), auth, { username: config.ADMIN_USERNAME, password: config.ADMIN_PASSWORD });
      const providers = await bootstrapProviders(orm.em.fork(), config, providerKeySecret(config));
      return { migrations, admin, providers };
    } finally {
      await orm.close();
    }
  });
}

/** What a first start prints: the only time a generated password or the bootstrap API key can be seen. */
export function firstStartLines(admin: BootstrapResult, url: string): string[] {
  if (!admin.apiKey) return [];
  return [
    '',
    'First start: an admin user and an API key were created.',
    `  username: ${admin.username}`,
    admin.generatedPassword
      ? `  password: ${admin.generatedPassword}   (generated; shown only now, set ADMIN_PASSWORD to choose one)`
      : '  password: (from ADMIN_PASSWORD)',
    `  API key:  ${admin.apiKey}   (shown only now)`,
    '',
    'Try it:',
    `  curl -s ${url}/graphql -H 'content-type: application/json' -H 'authorization: Bearer ${admin.apiKey}' \\`,
    `    -d '{"query":"mutation { generateImage(input: {prompt: \\"a lighthouse at dusk\\", width: 256, height: 256}) { id status } }"}'`,
    '',
  ];
}

export function logSetup(logger: Logger, result: SetupResult) {
  logger.info({ migrations: result.migrations }, result.migrations.length ? 'migrations applied' : 'database is up to date');
  if (result.providers.length) logger.info({ providers: result.providers }, 'paid providers configured from environment keys');
}
