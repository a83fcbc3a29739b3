import { randomUUID } from 'node:crypto';
import { execute, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoaders, type GraphQLContext } from '../../schema/context.ts';
import { maskError } from '../../schema/errors.ts';
import { schema } from '../../schema/index.ts';
import type { Core } from '../../src/core.ts';
import { Asset } from '../../src/db/entities/asset.entity.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { User } from '../../src/db/entities/user.entity.ts';
import { connectOrm, type Orm } from '../../src/db/orm.ts';
import type { Actor } from '../../src/services/actor.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

describe('job history', () => {
  const env = testEnv();
  let core: Core;
  let countingOrm: Orm;
  const queries: string[] = [];
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  const tag = randomUUID().slice(0, 8);
  const start = new Date(Date.UTC(2026, 0, 1));

  /** Runs an operation in process through the real (shielded) schema, with a query-counting ORM. */
  async function run<T>(actor: Actor, query: string, variables?: Record<string, unknown>) {
    const em = countingOrm.em.fork();
    const contextValue: GraphQLContext = { core, em, actor, loaders: createLoaders(em) };
    queries.length = 0;
    const result = await execute({ schema, document: parse(query), variableValues: variables, contextValue });
    // The same error mapping yoga applies over HTTP.
    const errors = result.errors?.map((error) => maskError(error, 'Unexpected error'));
    return { data: result.data, errors } as { data?: T; errors?: readonly { message: string; extensions: Record<string, unknown> }[] };
  }

  beforeAll(async () => {
    core = await testCore(env);
    countingOrm = await connectOrm(env.DATABASE_URL!, {
      debug: ['query'],
      colors: false,
      logger: (message: string) => queries.push(message),
    });
    [alice, bob, admin] = await Promise.all([createTestUser(core), createTestUser(core), createTestUser(core, 'admin')]);
    const em = core.orm.em.fork();
    // 120 jobs for Alice, one minute apart, each with one output; 5 for Bob.
    for (let i = 0; i < 120; i++) {
      const job = em.create(Job, {
        kind: i % 3 === 0 ? 'VIDEO' : 'IMAGE',
        status: i % 4 === 0 ? 'FAILED' : 'COMPLETED',
        input: { prompt: `${tag} picture number ${i}${i === 7 ? ' with a lighthouse' : ''}` },
        prompt: `${tag} picture number ${i}${i === 7 ? ' with a lighthouse' : ''}`,
        engine: i % 2 === 0 ? 'builtin' : 'onnx',
        owner: em.getReference(User, alice.id),
        createdAt: new Date(start.getTime() + i * 60_000),
      });
      em.create(Asset, {
        kind: 'IMAGE',
        mime: 'image/png',
        bytes: 10,
        sha256: '0'.repeat(64),
        storageKey: `assets/none/${i}.png`,
        owner: em.getReference(User, alice.id),
        job,
      });
    }
    for (let i = 0; i < 5; i++) {
      em.create(Job, { kind: 'SPEECH', input: { text: `${tag} bob ${i}` }, prompt: `${tag} bob ${i}`, owner: em.getReference(User, bob.id), createdAt: start });
    }
    await em.flush();
  });

  afterAll(async () => {
    await countingOrm?.close();
    await core?.close();
  });

  it('resolves a page of 100 jobs with owners and assets in at most 4 SQL statements', async () => {
    const result = await run<{ jobs: { edges: { node: { id: string; owner: { username: string }; assets: { id: string; url: string }[] } }[] } }>(
      alice.actor,
      `{ jobs(first: 100) { edges { node { id owner { username } assets { id url } } } } }`,
    );
    expect(result.errors).toBeUndefined();
    const nodes = result.data!.jobs.edges.map((e) => e.node);
    expect(nodes).toHaveLength(100);
    expect(nodes.every((n) => n.owner.username === alice.username && n.assets.length === 1)).toBe(true);
    const statements = queries.filter((q) => /\b(select|insert|update|delete)\b/i.test(q));
    // The logger must really see the queries (the page, its owners, its assets), or this proves nothing.
    expect(statements.length).toBeGreaterThanOrEqual(3);
    expect(statements.length).toBeLessThanOrEqual(4);
  });

  it('filters by kind, status, engine, prompt text and dates, and sorts both ways', async () => {
    const page = async (args: string, actor = alice.actor) => {
      const result = await run<{ jobs: { edges: { node: { prompt?: string; input: { prompt: string } } }[]; pageInfo: { hasNextPage: boolean } } }>(
        actor,
        `{ jobs(first: 100, ${args}) { edges { node { input } } pageInfo { hasNextPage } } }`,
      );
      expect(result.errors).toBeUndefined();
      return result.data!.jobs.edges.map((e) => e.node.input.prompt);
    };
    expect(await page(`search: "lighthouse"`)).toEqual([`${tag} picture number 7 with a lighthouse`]);
    expect(await page(`search: "${tag}", kind: VIDEO`)).toHaveLength(40);
    expect(await page(`search: "${tag}", status: FAILED`)).toHaveLength(30);
    expect(await page(`search: "${tag}", engine: "onnx"`)).toHaveLength(60);
    const window = await page(`search: "${tag}", createdAfter: "${new Date(start.getTime() + 10 * 60_000).toISOString()}", createdBefore: "${new Date(start.getTime() + 13 * 60_000).toISOString()}"`);
    expect(window).toEqual([12, 11, 10].map((i) => `${tag} picture number ${i}`));
    const oldest = await page(`search: "${tag} picture number 1", order: OLDEST`);
    expect(oldest.slice(0, 3)).toEqual([1, 10, 11].map((i) => `${tag} picture number ${i}`));
    // Bob sees none of Alice's jobs; "%" is matched literally, not as a wildcard.
    expect(await page(`search: "${tag}"`, bob.actor)).toHaveLength(5);
    expect(await page(`search: "%"`, bob.actor)).toHaveLength(0);
  });

  it('walks every page once, in order, in both directions', async () => {
    for (const order of ['NEWEST', 'OLDEST']) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let guard = 0; guard < 20; guard++) {
        const result: { data?: { jobs: { edges: { cursor: string; node: { id: string; createdAt: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } } =
          await run(alice.actor, `query ($after: String) { jobs(first: 25, after: $after, search: "${tag}", order: ${order}) { edges { cursor node { id createdAt } } pageInfo { hasNextPage endCursor } } }`, { after });
        const jobs = result.data!.jobs;
        seen.push(...jobs.edges.map((e) => e.node.createdAt));
        if (!jobs.pageInfo.hasNextPage) break;
        after = jobs.pageInfo.endCursor;
      }
      expect(seen).toHaveLength(120);
      expect(new Set(seen).size).toBe(120);
      const sorted = [...seen].sort();
      expect(seen).toEqual(order === 'OLDEST' ? sorted : sorted.reverse());
    }
  });

  it('counts jobs per status and kind for the caller, or for everyone (admins only)', async () => {
    const mine = await run<{ stats: { total: number; byKind: { kind: string; count: number }[]; byStatus: { status: string; count: number }[] } }>(
      bob.actor,
      `{ stats { total byKind { kind count } byStatus { status count } } }`,
    );
    expect(mine.data!.stats.total).toBe(5);
    expect(mine.data!.stats.byKind.find((k) => k.kind === 'SPEECH')!.count).toBe(5);
    expect(mine.data!.stats.byStatus.find((s) => s.status === 'QUEUED')!.count).toBe(5);
    const everyone = await run<{ stats: { total: number } }>(admin.actor, `{ stats(everyone: true) { total } }`);
    expect(everyone.data!.stats.total).toBeGreaterThanOrEqual(125);
    const refused = await run(bob.actor, `{ stats(everyone: true) { total } }`);
    expect(refused.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('lists assets with a kind filter', async () => {
    const images = await run<{ assets: { edges: { node: { kind: string } }[] } }>(alice.actor, `{ assets(first: 100, kind: IMAGE) { edges { node { kind } } } }`);
    expect(images.data!.assets.edges).toHaveLength(100);
    const audio = await run<{ assets: { edges: unknown[] } }>(alice.actor, `{ assets(first: 10, kind: AUDIO) { edges { node { kind } } } }`);
    expect(audio.data!.assets.edges).toHaveLength(0);
  });
});
