/**
 * History benchmark: `./atelier bench:history`. Seeds 100,000 jobs (one user owning half of them, each
 * job with one asset) into its own embedded PostgreSQL, then times 100-item pages of Query.jobs through
 * the real schema (shield, resolvers, dataloaders), in process, so the figures are the API's own cost
 * without HTTP. Prints p50/p99 per query shape.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execute, parse } from 'graphql';
import { createLoaders, type GraphQLContext } from '../schema/context.ts';
import { schema } from '../schema/index.ts';
import { loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/config/logger.ts';
import { createCore, type Core } from '../src/core.ts';
import { connectOrm, migrate } from '../src/db/orm.ts';
import { scopesForRole, type Actor } from '../src/services/actor.ts';
import { createUser } from '../src/services/user.service.ts';
import { startEmbeddedPostgres } from '../src/system/postgres.embedded.ts';
import { startLocalRedis } from '../src/system/redis.local.ts';

const JOBS = 100_000;
const RUNS = 200;
const logger = createLogger('bench', { LOG_LEVEL: 'error', LOG_FORMAT: 'json' });

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

const root = mkdtempSync(path.join(os.tmpdir(), 'atelier-bench-history-'));
chmodSync(root, 0o755);
const db = await startEmbeddedPostgres(path.join(root, 'postgres'), 'bench', logger);
const redis = await startLocalRedis(path.join(root, 'redis'), logger);
let core: Core | undefined;
try {
  const orm = await connectOrm(db.url);
  await migrate(orm);
  await orm.close();
  core = await createCore(loadConfig({ DATABASE_URL: db.url, REDIS_URL: redis.url, DATA_DIR: root, LOG_LEVEL: 'error' }), 'api');
  const em = core.orm.em.fork();
  const [alice, bob] = [await createUser(em, { username: 'alice', password: 'password-1' }), await createUser(em, { username: 'bob', password: 'password-2' })];

  const seeding = performance.now();
  const conn = core.orm.em.getConnection();
  await conn.execute(
    `insert into jobs (id, kind, status, progress, input, prompt, priority, engine, cost, owner_id, created_at, timeout_seconds, attempt)
     select gen_random_uuid(),
            (array['IMAGE','VIDEO','SPEECH','TALKING_HEAD'])[1 + i % 4],
            (array['COMPLETED','COMPLETED','COMPLETED','FAILED','CANCELLED'])[1 + i % 5],
            100,
            jsonb_build_object('prompt', 'scene ' || i || ' of a ' || (array['lighthouse','forest','city','desert','harbour'])[1 + i % 5]),
            'scene ' || i || ' of a ' || (array['lighthouse','forest','city','desert','harbour'])[1 + i % 5],
            5, (array['builtin','onnx','comfyui'])[1 + i % 3], 0,
            case when i % 2 = 0 then ?::uuid else ?::uuid end,
            now() - (i || ' seconds')::interval, 300, 0
     from generate_series(1, ${JOBS}) as i`,
    [alice.id, bob.id],
  );
  await conn.execute(
    `insert into assets (id, kind, mime, bytes, sha256, width, height, storage_key, owner_id, job_id, created_at)
     select gen_random_uuid(), 'IMAGE', 'image/png', 1000, repeat('0', 64), 512, 512, 'assets/x/' || id || '.png', owner_id, id, created_at from jobs`,
  );
  await conn.execute('analyze');
  const seedMs = performance.now() - seeding;

  const actor: Actor = { userId: alice.id, username: 'alice', role: 'user', scopes: scopesForRole('user'), via: 'jwt' };
  const shapes: [string, string][] = [
    ['newest 100', `{ jobs(first: 100) { edges { node { id status prompt: input owner { username } assets { url } } } pageInfo { endCursor } } }`],
    ['kind + status', `{ jobs(first: 100, kind: IMAGE, status: COMPLETED) { edges { node { id owner { username } assets { url } } } } }`],
    ['prompt search', `{ jobs(first: 100, search: "lighthouse") { edges { node { id owner { username } assets { url } } } } }`],
    ['date range, oldest first', `{ jobs(first: 100, createdAfter: "${new Date(Date.now() - 40_000_000).toISOString()}", order: OLDEST) { edges { node { id assets { url } } } } }`],
  ];

  const run = async (query: string, variables?: Record<string, unknown>) => {
    const fork = core!.orm.em.fork();
    const contextValue: GraphQLContext = { core: core!, em: fork, actor, loaders: createLoaders(fork) };
    const started = performance.now();
    const result = await execute({ schema, document: parse(query), variableValues: variables, contextValue });
    const ms = performance.now() - started;
    if (result.errors?.length) throw new Error(JSON.stringify(result.errors));
    return { ms, data: result.data as Record<string, { edges: unknown[]; pageInfo?: { endCursor: string } }> };
  };

  const rows: string[][] = [];
  for (const [name, query] of shapes) {
    for (let i = 0; i < 10; i++) await run(query);
    const times: number[] = [];
    let items = 0;
    for (let i = 0; i < RUNS; i++) {
      const { ms, data } = await run(query);
      times.push(ms);
      items = data.jobs!.edges.length;
    }
    times.sort((a, b) => a - b);
    rows.push([name, String(items), percentile(times, 50).toFixed(1), percentile(times, 99).toFixed(1)]);
  }
  // A page deep in the history: the 300th page, reached by cursor (keyset, so as cheap as the first).
  let after: string | undefined;
  for (let page = 0; page < 300; page++) {
    const { data } = await run(`query ($after: String) { jobs(first: 100, after: $after) { edges { node { id } } pageInfo { endCursor } } }`, { after });
    after = data.jobs!.pageInfo!.endCursor;
  }
  const deep: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    deep.push((await run(`query ($after: String) { jobs(first: 100, after: $after) { edges { node { id owner { username } assets { url } } } } }`, { after })).ms);
  }
  deep.sort((a, b) => a - b);
  rows.push(['page 301 by cursor', '100', percentile(deep, 50).toFixed(1), percentile(deep, 99).toFixed(1)]);

  console.log(`\nHistory query at ${JOBS.toLocaleString('en')} jobs (${(JOBS / 2).toLocaleString('en')} the caller's), each with one asset`);
  console.log(`seeded in ${(seedMs / 1000).toFixed(1)} s; ${RUNS} runs per shape after 10 warm-up; in process, no HTTP`);
  console.log(`machine: ${os.cpus().length} cpus, node ${process.version}\n`);
  const header = ['query', 'items', 'p50 ms', 'p99 ms'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
} finally {
  await core?.close();
  await redis.stop();
  await db.stop();
  rmSync(root, { recursive: true, force: true });
}
