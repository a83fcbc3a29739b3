import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectOrm } from '../../src/db/orm.ts';
import { jobQueries, type ListFilter, type Sql } from '../../src/jobs/jobs.query.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';

const ROWS = 100_000;
const USERS = 50;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];
/** `?` placeholders (as MikroORM takes them) to PostgreSQL's `$n`. */
const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

describe('every hot query on jobs uses an index at 100k rows (real PostgreSQL, EXPLAIN)', () => {
  let db: ScratchDatabase;
  let client: pg.Client;
  let owner: string;
  let batchId: string;
  let cursor: { createdAt: Date; id: string };

  beforeAll(async () => {
    db = await createScratchDatabase(inject('databaseUrl'), 'explain');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`insert into users (id, username, password_hash, role, created_at)
      select gen_random_uuid(), 'explain-' || i, 'x', 'user', now() from generate_series(1, ${USERS}) i`);
    owner = (await client.query<{ id: string }>(`select id from users order by username limit 1`)).rows[0]!.id;
    batchId = randomUUID();
    await client.query(`insert into batches (id, owner_id, total, created_at) values ($1, $2, 100, now())`, [batchId, owner]);
    // Half finished, half queued; kinds, engines and owners spread; a few ComfyUI jobs with prompt ids; one batch.
    await client.query(
      `insert into jobs (id, kind, status, progress, input, priority, engine, cost, owner_id, created_at, started_at, finished_at, prompt, batch_id, timeout_seconds, attempt)
       select gen_random_uuid(),
              (array['IMAGE','VIDEO','SPEECH','TALKING_HEAD','WORKFLOW'])[1 + i % 5],
              case when i % 2 = 0 then (array['COMPLETED','FAILED','CANCELLED'])[1 + (i / 2) % 3] else 'QUEUED' end,
              0,
              case when i % 100 = 0 then jsonb_build_object('promptId', 'p-' || i) else jsonb_build_object('prompt', 'a cat number ' || i) end,
              1 + i % 10,
              case when i % 100 = 0 then 'comfyui' else (array['builtin','onnx','provider'])[1 + i % 3] end,
              0,
              (select id from users order by username offset (i % ${USERS}) limit 1),
              now() - (i || ' seconds')::interval,
              case when i % 2 = 0 then now() - (i || ' seconds')::interval end,
              case when i % 2 = 0 then now() - (i || ' seconds')::interval + interval '1 second' end,
              'a cat number ' || i,
              case when i % 1000 = 0 then $1::uuid end,
              300, 0
         from generate_series(1, ${ROWS}) i`,
      [batchId],
    );
    await client.query('vacuum analyze jobs');
    const row = (await client.query<{ created_at: Date; id: string }>(`select created_at, id from jobs where owner_id = $1 order by created_at desc, id desc offset 500 limit 1`, [owner])).rows[0]!;
    cursor = { createdAt: row.created_at, id: row.id };
  }, 300_000);

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const list = (filter: Partial<ListFilter>): Sql => jobQueries.list({ ownerId: owner, oldestFirst: false, after: null, limit: 21, ...filter });
  const since = () => new Date(Date.now() - 86_400_000);

  const queries: [string, () => Sql][] = [
    ['a user’s newest jobs', () => list({})],
    ['a user’s jobs by status', () => list({ status: 'QUEUED' })],
    ['a user’s jobs by kind', () => list({ kind: 'VIDEO' })],
    ['a user’s jobs by engine', () => list({ engine: 'onnx' })],
    ['a batch’s jobs', () => list({ batchId })],
    ['a user’s jobs by prompt text', () => list({ search: 'number 4242' })],
    ['a user’s jobs in a time range', () => list({ createdAfter: new Date(Date.now() - 3_600_000), createdBefore: new Date() })],
    ['a user’s next page (cursor)', () => list({ after: cursor })],
    ['a user’s oldest jobs, next page', () => list({ oldestFirst: true, after: cursor })],
    ['every job, newest (admin)', () => list({ ownerId: null })],
    ['every job by status (admin)', () => list({ ownerId: null, status: 'FAILED' })],
    ['every job by kind (admin)', () => list({ ownerId: null, kind: 'SPEECH' })],
    ['every job by prompt text (admin)', () => list({ ownerId: null, search: 'number 4242' })],
    ['every job, next page (admin)', () => list({ ownerId: null, after: cursor })],
    ['a user’s stats', () => jobQueries.stats(owner)],
    ['everyone’s stats', () => jobQueries.stats(null)],
    ['a batch’s progress', () => jobQueries.batchProgress(batchId)],
    ['the job of a ComfyUI prompt', () => jobQueries.byComfyPrompt('p-500')],
    [
      // The daily quota count of QuotaService.usedToday.
      'a user’s images today (quota)',
      () => ({
        sql: `select coalesce(sum(coalesce((input->>'numImages')::int, 1)), 0)::int as used from jobs
               where owner_id = ? and kind = ? and created_at >= ? and coalesce(error_code, '') <> 'QUEUE_UNAVAILABLE'`,
        params: [owner, 'IMAGE', since()],
      }),
    ],
    ['jobs per status (health)', () => ({ sql: 'select status, count(*)::int as n from jobs group by status', params: [] })],
  ];

  it('has migrations that match the indexes the Job entity declares', async () => {
    const orm = await connectOrm(db.url);
    try {
      const sql = await orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(sql.split('\n').filter((line) => /"jobs"/.test(line))).toEqual([]);
    } finally {
      await orm.close();
    }
  });

  it.each(queries)('%s', async (_name, build) => {
    const { sql, params } = build();
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (format json) ${numbered(sql)}`, params);
    const plan = rows[0]!['QUERY PLAN'][0].Plan;
    const scans = nodes(plan).filter((n) => n['Relation Name'] === 'jobs').map((n) => n['Node Type']);
    expect(scans.length, JSON.stringify(plan)).toBeGreaterThan(0);
    expect(scans, JSON.stringify(plan)).not.toContain('Seq Scan');
  });
});
