import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './entities/index.ts';

const migrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));

export function ormConfig(databaseUrl: string, overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    preferTs: true,
    debug: false,
    allowGlobalContext: false,
    // Each process holds a handful of connections; many API and worker processes share one server.
    pool: { min: 0, max: 10 },
    migrations: {
      path: migrationsDir,
      pathTs: migrationsDir,
      glob: '!(*.d).ts',
      snapshot: false,
      emit: 'ts',
    },
    ...overrides,
  });
}

export const migrationsPath = path.relative(process.cwd(), migrationsDir);
