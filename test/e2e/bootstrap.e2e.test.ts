import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { testEnv } from '../helpers/env.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** An empty database of its own on the shared server: what a fresh deployment's `migrate` finds. */
async function emptyDatabase() {
  const name = `atelier_boot_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: inject('databaseUrl') });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    query: async (sql: string) => {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    },
    drop: async () => {
      const client = new pg.Client({ connectionString: inject('databaseUrl') });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    },
  };
}

describe('migrate / bootstrap on a fresh deployment', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('three machines migrating at once all succeed, and leave one admin and one provider', async () => {
    const db = await emptyDatabase();
    cleanups.push(db.drop);
    const env = {
      ...process.env,
      ...testEnv({
        DATABASE_URL: db.url,
        ADMIN_USERNAME: 'ops',
        ADMIN_PASSWORD: 'correct horse battery',
        OPENAI_API_KEY: 'sk-test-bootstrap',
        PROVIDER_KEY_SECRET: 'p'.repeat(40),
      }),
    };
    const runs = await Promise.allSettled(
      [1, 2, 3].map(() => run(process.execPath, ['src/db/migrate.main.ts'], { cwd: root, env, timeout: 120_000 })),
    );
    const failures = runs.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    expect(failures).toEqual([]);
    // Exactly one of them created the admin, so exactly one printed the bootstrap key.
    const printed = runs.filter((r) => r.status === 'fulfilled' && r.value.stdout.includes('API key:'));
    expect(printed).toHaveLength(1);

    const users = await db.query(`select username, role from users`);
    expect(users).toEqual([{ username: 'ops', role: 'admin' }]);
    const providers = await db.query(`select type, name from providers`);
    expect(providers).toEqual([{ type: 'OPENAI', name: 'OpenAI Default' }]);

    // A fourth run (the next deploy) changes nothing and prints no key.
    const again = await run(process.execPath, ['src/db/migrate.main.ts'], { cwd: root, env, timeout: 120_000 });
    expect(again.stdout).not.toContain('API key:');
    expect(await db.query(`select count(*)::int as n from users`)).toEqual([{ n: 1 }]);
  });
});

describe('api and worker against remote services', () => {
  it.each(['server/main.ts', 'workers/main.ts'])('%s refuses to start without shared secrets, saying why', async (script) => {
    // The database host does not exist: the refusal must come before any connection is tried.
    const env = { ...process.env, ...testEnv({ DATABASE_URL: 'postgres://atelier:x@db.invalid:5432/atelier', JWT_SECRET: '' }) };
    const failure = await run(process.execPath, [script], { cwd: root, env, timeout: 60_000 }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('JWT_SECRET and PROVIDER_KEY_SECRET must be set when PostgreSQL or Redis is not on this machine');
  });
});
