/**
 * GraphQL's limits, as the audit attacked them: aliases, depth, tokens, rate limits dodged through aliases and
 * fragments, one file part stored many times, and the schema mapped by anonymous callers in production.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Asset } from '../../src/db/entities/asset.entity.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { startApi, type RunningProcess } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

type Body = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };

describe('GraphQL limits', () => {
  // Production defaults (introspection and suggestions for signed-in callers only); a long window so a burst
  // never straddles two.
  const env = testEnv({ NODE_ENV: 'production', RATE_LIMIT_GENERATE_IMAGE: '2', RATE_LIMIT_WINDOW_SECONDS: '3600', RATE_LIMIT_GLOBAL: '100000', GRAPHQL_MAX_DEPTH: '4' });
  let core: Core;
  let api: RunningProcess;
  let url: string;

  beforeAll(async () => {
    core = await testCore(env);
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
  });

  afterAll(async () => {
    await api?.stop();
    await core?.close();
  });

  const post = async (query: string, token?: string, variables?: Record<string, unknown>) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, body: (await response.json()) as Body };
  };
  const jobsOf = (user: TestUser) => core.orm.em.fork().count(Job, { owner: user.id });

  it('100 aliases of jobs(first: 100) are refused before anything runs', async () => {
    const user = await createTestUser(core);
    const fields = Array.from({ length: 100 }, (_, i) => `a${i}: jobs(first: 100) { edges { node { id queuePosition etaSeconds logs { message } } } }`);
    const answer = await post(`{ ${fields.join(' ')} }`, user.token);
    expect(answer.body.data ?? null).toBeNull();
    expect(answer.body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect(answer.body.errors!.map((e) => e.message).join(' ')).toMatch(/Aliases limit of 15 exceeded, found 100/);
  });

  it('too deep and too long documents are refused', async () => {
    const user = await createTestUser(core);
    const deep = await post(`{ jobs { edges { node { assets { id } } } } }`, user.token);
    // Within the depth limit (4 here): answered.
    expect((await post(`{ jobs { edges { node { id } } } }`, user.token)).body.errors).toBeUndefined();
    expect(deep.body.data ?? null).toBeNull();
    expect(deep.body.errors!.map((e) => e.message).join(' ')).toMatch(/depth/i);
    const long = await post(`{ ${Array.from({ length: 3000 }, () => 'health { status }').join(' ')} }`, user.token);
    expect(long.body.data ?? null).toBeNull();
    expect(long.body.errors![0]!.message).toMatch(/token/i);
  });

  it('aliased mutations count one each against the rate limit: 3 aliased generateImage at a limit of 2 → RATE_LIMITED, no job made', async () => {
    const user = await createTestUser(core);
    const three = Array.from({ length: 3 }, (_, i) => `g${i}: generateImage(input: {prompt: "alias ${i}", width: 64, height: 64}) { id }`);
    const answer = await post(`mutation { ${three.join(' ')} }`, user.token);
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(await jobsOf(user)).toBe(0);
  });

  it('fragment-wrapped mutations count too: 2 pass, the next one inside a fragment is refused', async () => {
    const user = await createTestUser(core);
    const two = await post(
      `mutation { ...Gen ... on Mutation { b: generateImage(input: {prompt: "inline", width: 64, height: 64}) { id } } }
       fragment Gen on Mutation { a: generateImage(input: {prompt: "fragment", width: 64, height: 64}) { id } }`,
      user.token,
    );
    expect(two.body.errors).toBeUndefined();
    expect(await jobsOf(user)).toBe(2);
    const third = await post(`mutation { ...Gen } fragment Gen on Mutation { generateImage(input: {prompt: "third", width: 64, height: 64}) { id } }`, user.token);
    expect(third.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(await jobsOf(user)).toBe(2);
  });

  it('one file part backs one upload: reused by aliases it is stored once; mapped to two paths it is refused', async () => {
    const user = await createTestUser(core);
    const png = await (await import('sharp')).default({ create: { width: 8, height: 8, channels: 3, background: '#0f0' } }).png().toBuffer();
    const upload = async (query: string, map: Record<string, string[]>, variables: Record<string, unknown>) => {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query, variables }));
      form.append('map', JSON.stringify(map));
      form.append('0', new Blob([new Uint8Array(png)]), 'a.png');
      const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${user.token}`, 'graphql-require-preflight': '1' }, body: form });
      return { status: response.status, body: (await response.json()) as Body };
    };
    const aliased = Array.from({ length: 5 }, (_, i) => `u${i}: uploadAsset(file: $f) { id }`).join(' ');
    const reused = await upload(`mutation ($f: File!) { ${aliased} }`, { 0: ['variables.f'] }, { f: null });
    // The second field to use it is refused (and, its type being non-null, ends the mutation).
    expect(reused.body.errors!.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(await core.orm.em.fork().count(Asset, { owner: user.id })).toBe(1);
    const twoPaths = await upload(`mutation ($a: File!, $b: File!) { x: uploadAsset(file: $a) { id } y: uploadAsset(file: $b) { id } }`, { 0: ['variables.a', 'variables.b'] }, { a: null, b: null });
    expect(twoPaths.status).toBe(400);
    expect(await core.orm.em.fork().count(Asset, { owner: user.id })).toBe(1);
  });

  it('in production, anonymous callers get neither introspection nor "Did you mean" hints; signed-in callers do', async () => {
    const user = await createTestUser(core);
    const anonymous = await post('{ __schema { queryType { name } } }');
    expect(anonymous.body.data ?? null).toBeNull();
    expect(anonymous.body.errors![0]!.message).toMatch(/introspection/i);
    const signedIn = await post('{ __schema { queryType { name } } }', user.token);
    expect(signedIn.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });

    const typo = await post('{ healt { status } }');
    expect(typo.body.errors![0]!.message).toBe('Cannot query field "healt" on type "Query".');
    const typoSignedIn = await post('{ healt { status } }', user.token);
    expect(typoSignedIn.body.errors![0]!.message).toMatch(/Did you mean "health"\?/);
  });
});
