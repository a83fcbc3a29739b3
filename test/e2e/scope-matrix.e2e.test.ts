/**
 * The scope matrix: every REST route and every GraphQL query and mutation × every kind of credential, over
 * real HTTP against the real API. What each credential may do is stated here independently (a truth table
 * over requirement × scopes); the faces must agree with it, and with each other.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_OPERATIONS } from '../../schema/permissions.ts';
import { ROUTE_OPERATIONS } from '../../rest-compat/route-scopes.ts';
import type { Core } from '../../src/core.ts';
import { OPERATIONS, type Requirement } from '../../src/services/scopes.ts';
import type { ApiScope } from '../../src/services/actor.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { startApi, type RunningProcess } from '../helpers/processes.ts';
import { rootFields, rootOperation, send, type RootType } from '../helpers/schema-ops.ts';
import { createTestUser } from '../helpers/users.ts';
import { collect, wsClient } from '../helpers/graphql.ts';
import { User } from '../../src/db/entities/user.entity.ts';

interface Caller {
  name: string;
  token?: string;
  role?: 'user' | 'admin';
  scopes: ApiScope[];
}

/** The truth table, written out rather than derived from the code under test. */
function allowed(needs: Requirement, caller: Caller): boolean {
  if (needs === 'public') return true;
  if (!caller.token) return false;
  if (needs === 'authenticated') return true;
  if (needs === 'admin') return caller.role === 'admin' && caller.scopes.includes('admin');
  return caller.scopes.includes(needs);
}

/** Routes anyone may call: no credential is asked for. */
const PUBLIC_ROUTES = new Set([
  'POST /v2/auth/login',
  'GET /health',
  'GET /api/v1/health',
  'GET /livez',
  'GET /readyz',
  'GET /metrics',
  'POST /webhooks/piapi',
  'GET /openapi.json',
]);

/**
 * Routes that check their caller themselves, outside the scope hook, because the anonymous user of the
 * anonymous REST families may fetch its own files there too (files.routes.ts): the read scope, asserted below.
 */
const SELF_CHECKED_ROUTES: Record<string, Requirement> = { 'GET /files/:id': 'read', 'GET /files/:id/thumbnail': 'read' };

describe('scopes: the same answer on both faces for every operation and credential', () => {
  // Without anonymous families (on loopback both would admit callers with no credential, as the user `anonymous`).
  // A user deleted straight from the database is announced by nothing: open sockets learn it when the cached user
  // runs out (AUTH_CACHE_TTL_MS), here in 2 s.
  const env = testEnv({ REST_ANONYMOUS_FAMILIES: 'none', AUTH_CACHE_TTL_MS: '2000', RATE_LIMIT_GLOBAL: '100000', RATE_LIMIT_GENERATE_IMAGE: '100000', RATE_LIMIT_GENERATE_VIDEO: '100000', RATE_LIMIT_COMFY_EXECUTE: '100000' });
  let core: Core;
  let api: RunningProcess;
  let url: string;
  const callers: Caller[] = [];
  let restRoutes: string[] = [];
  const tally = { rest: 0, graphql: 0 };

  beforeAll(async () => {
    core = await testCore(env);
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
    const user = await createTestUser(core, 'user');
    const admin = await createTestUser(core, 'admin');
    const em = core.orm.em.fork();
    const key = async (owner: typeof user, scopes: ApiScope[]) => (await core.auth.createApiKey(em, owner.actor, { name: `k-${randomUUID().slice(0, 6)}`, scopes })).secret;
    callers.push(
      { name: 'anonymous', scopes: [] },
      { name: 'user key [read]', token: await key(user, ['read']), role: 'user', scopes: ['read'] },
      { name: 'user key [generate]', token: await key(user, ['generate']), role: 'user', scopes: ['generate'] },
      { name: 'user JWT', token: user.token, role: 'user', scopes: ['read', 'generate'] },
      { name: 'admin key [read]', token: await key(admin, ['read']), role: 'admin', scopes: ['read'] },
      { name: 'admin key [generate]', token: await key(admin, ['generate']), role: 'admin', scopes: ['generate'] },
      { name: 'admin JWT', token: admin.token, role: 'admin', scopes: ['read', 'generate', 'admin'] },
    );
    const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    restRoutes = Object.entries(openapi.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
  }, 60_000);

  describe('a credential that stops being valid ends its open subscriptions', () => {
    const opened = async (token: string) => {
      const client = wsClient(url.replace('http', 'ws') + '/graphql', token, { lazy: false });
      await new Promise<void>((resolve) => client.on('connected', () => resolve()));
      const sub = collect(client, 'subscription { jobs { jobId status } }', {});
      return { client, done: sub.done.then(() => 'completed', (error: { cause?: { code?: number } }) => error.cause?.code) };
    };

    it('a revoked API key: its socket closes (4403) as soon as the key is revoked', async () => {
      const owner = await createTestUser(core);
      const em = core.orm.em.fork();
      const { apiKey, secret } = await core.auth.createApiKey(em, owner.actor, { name: 'revoked-live', scopes: ['read'] });
      const live = await opened(secret);
      const revoked = await send(url, { query: 'mutation R($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', variables: { id: apiKey.id }, files: [] }, owner.token);
      expect(revoked.body?.errors).toBeUndefined();
      expect(await live.done).toBe(4403);
      await live.client.dispose();
    });

    it('a deleted user: their socket closes (4403), by the periodic recheck or as the subscription starts', async () => {
      const gone = await createTestUser(core);
      const live = await opened(gone.token);
      await core.orm.em.fork().nativeDelete(User, { id: gone.id });
      expect(await live.done).toBe(4403);
      await live.client.dispose();
    });
  });

  afterAll(async () => {
    await api?.stop();
    await core?.close();
    console.log(`scope matrix: ${tally.rest} REST + ${tally.graphql} GraphQL checks`);
  });

  it('every REST route and GraphQL root field names the operation it runs', () => {
    const unlisted = restRoutes.filter((route) => !PUBLIC_ROUTES.has(route) && !(route in SELF_CHECKED_ROUTES) && !(route in ROUTE_OPERATIONS) && !route.startsWith('GET /docs') && !route.startsWith('GET /redoc'));
    expect(unlisted).toEqual([]);
    for (const root of ['Query', 'Mutation'] as const) {
      const names = rootFields(root).map((f) => f.name);
      expect(names.filter((n) => !(n in FIELD_OPERATIONS[root])), root).toEqual([]);
    }
  });

  it('a route that changes something never runs on the read scope alone, and a GET never needs more than read (or admin)', () => {
    // POSTs that only read, as their documents define them.
    const readingPosts = new Set(['POST /api/v1/tasks/:id/logs', 'POST /api/v1/images/estimate-cost']);
    for (const [route, operation] of Object.entries(ROUTE_OPERATIONS)) {
      const needs = OPERATIONS[operation];
      if (route.startsWith('GET ')) expect(['read', 'admin'], route).toContain(needs);
      else if (!readingPosts.has(route)) expect(['generate', 'admin'], route).toContain(needs);
    }
    for (const [field, operation] of Object.entries(FIELD_OPERATIONS.Mutation)) {
      if (!['login', 'createApiKey', 'revokeApiKey'].includes(field)) expect(['generate', 'admin'], field).toContain(OPERATIONS[operation]);
    }
    for (const [field, operation] of Object.entries(FIELD_OPERATIONS.Query)) expect(['public', 'authenticated', 'read', 'admin'], field).toContain(OPERATIONS[operation]);
  });

  it('REST: every route × every credential — refused with 401/403 in the family shape exactly when the scope is missing', async () => {
    const failures: string[] = [];
    for (const [route, operation] of Object.entries(ROUTE_OPERATIONS)) {
      const [method, path] = route.split(' ') as [string, string];
      const target = url + path.replace(/:(\w+)/g, () => randomUUID());
      for (const caller of callers) {
        const response = await fetch(target, {
          method,
          headers: { ...(caller.token ? { authorization: `Bearer ${caller.token}` } : {}), ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }) },
          body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
        });
        const text = await response.text();
        tally.rest++;
        const may = allowed(OPERATIONS[operation], caller);
        const refusedWith = response.status === 401 || response.status === 403 ? response.status : null;
        const expected = may ? null : caller.token ? 403 : 401;
        if (refusedWith !== expected || response.status >= 500 || (expected && text.length === 0)) {
          failures.push(`${route} as ${caller.name}: ${response.status} ${text.slice(0, 160)} (expected ${expected ?? 'not refused'})`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('REST: routes that check their caller themselves refuse exactly when the scope is missing', async () => {
    const failures: string[] = [];
    for (const [route, needs] of Object.entries(SELF_CHECKED_ROUTES)) {
      const [method, path] = route.split(' ') as [string, string];
      for (const caller of callers) {
        const response = await fetch(url + path.replace(/:(\w+)/g, () => randomUUID()), { method, headers: caller.token ? { authorization: `Bearer ${caller.token}` } : {} });
        await response.text();
        tally.rest++;
        // Allowed callers hear 404: the id is nobody's file.
        const expected = allowed(needs, caller) ? 404 : caller.token ? 403 : 401;
        if (response.status !== expected) failures.push(`${route} as ${caller.name}: ${response.status} (expected ${expected})`);
      }
    }
    expect(failures).toEqual([]);
  });

  for (const root of ['Query', 'Mutation'] as RootType[]) {
    it(`GraphQL: every ${root} field × every credential — FORBIDDEN / UNAUTHENTICATED exactly when the scope is missing`, async () => {
      const failures: string[] = [];
      for (const field of rootFields(root)) {
        const operation = (FIELD_OPERATIONS[root] as Record<string, keyof typeof OPERATIONS>)[field.name]!;
        for (const caller of callers) {
          const answer = await send(url, rootOperation(root, field), caller.token);
          tally.graphql++;
          const codes = (answer.body?.errors ?? []).map((e) => e.extensions?.code);
          const may = allowed(OPERATIONS[operation], caller);
          const expected = caller.token ? 'FORBIDDEN' : 'UNAUTHENTICATED';
          const refused = codes.includes('FORBIDDEN') || (codes.includes('UNAUTHENTICATED') && field.name !== 'login');
          const wrong = may ? refused : !codes.includes(expected);
          if (wrong || codes.includes('INTERNAL_SERVER_ERROR') || answer.status >= 500) {
            failures.push(`${root}.${field.name} as ${caller.name}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)} (expected ${may ? 'allowed' : expected})`);
          }
        }
      }
      expect(failures).toEqual([]);
    }, 120_000);
  }
});
