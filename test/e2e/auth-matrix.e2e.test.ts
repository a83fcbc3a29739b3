/**
 * Authorization matrix: every operation against every kind of caller (anonymous, user A, user B, admin),
 * over real HTTP and real graphql-ws, against the real API and worker processes.
 *
 * Each row of a table states what each caller must get: 'OK' (data, no errors) or the one
 * `extensions.code` the operation must fail with. Checks on the data make sure an 'OK' is the right data
 * (a user's own rows, never another's), not merely the absence of an error.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { collect, gql, wsClient, type GraphQLResponse } from '../helpers/graphql.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

// ---------------------------------------------------------------------------------------------------
// Operations (plain strings: the matrix must not depend on generated documents)
// ---------------------------------------------------------------------------------------------------

const HEALTH = /* GraphQL */ `query { health { status version postgres { ok } redis { ok } } }`;
const ME = /* GraphQL */ `query { me { id username role } }`;
const USERS = /* GraphQL */ `query { users { id username role } }`;
const API_KEYS = /* GraphQL */ `query { apiKeys { id name prefix scopes revokedAt } }`;
const JOB = /* GraphQL */ `
  query Job($id: ID!) {
    job(id: $id) { id status progress owner { id } assets { id url mime width height sha256 } }
  }
`;
const JOBS = /* GraphQL */ `
  query Jobs($first: Int, $after: String) {
    jobs(first: $first, after: $after) {
      edges { cursor node { id owner { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const ASSET = /* GraphQL */ `
  query Asset($id: ID!) { asset(id: $id) { id jobId url mime width height sha256 } }
`;
const LOGIN = /* GraphQL */ `
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) { accessToken tokenType expiresIn }
  }
`;
const GENERATE_IMAGE = /* GraphQL */ `
  mutation Generate($input: GenerateImageInput!) {
    generateImage(input: $input) { id status kind owner { id } }
  }
`;
const CREATE_USER = /* GraphQL */ `
  mutation CreateUser($username: String!, $password: String!, $role: UserRole) {
    createUser(username: $username, password: $password, role: $role) { id username role }
  }
`;
const CREATE_API_KEY = /* GraphQL */ `
  mutation CreateApiKey($name: String!, $scopes: [ApiScope!], $userId: ID) {
    createApiKey(name: $name, scopes: $scopes, userId: $userId) {
      secret
      apiKey { id name prefix scopes revokedAt }
    }
  }
`;
const REVOKE_API_KEY = /* GraphQL */ `
  mutation Revoke($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }
`;
const JOB_PROGRESS = /* GraphQL */ `
  subscription Progress($id: ID!) { jobProgress(id: $id) { jobId status progress } }
`;
const JOBS_SUBSCRIPTION = /* GraphQL */ `
  subscription AllJobs { jobs { jobId status progress } }
`;

/** Small and quick for the builtin CPU engine. */
const TINY_IMAGE = { prompt: 'a small red square', width: 64, height: 64, steps: 4, seed: 1 };

// ---------------------------------------------------------------------------------------------------
// The world every table reads: filled in beforeAll, so tables hold functions of it, not values.
// ---------------------------------------------------------------------------------------------------

const CALLERS = ['anonymous', 'userA', 'userB', 'admin'] as const;
type Caller = (typeof CALLERS)[number];
type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT';
type Outcome = 'OK' | ErrorCode;

interface World {
  url: string;
  wsUrl: string;
  users: { userA: TestUser; userB: TestUser; admin: TestUser };
  /** A completed job of A's, with one asset. */
  jobA: string;
  assetA: { id: string; url: string; sha256: string };
  /** A completed job of B's. */
  jobB: string;
  /** An API key of A's, made before the tests (by A, over the API). */
  apiKeyA: { id: string; secret: string };
}

const world = {} as World;

const tokenOf = (caller: Caller): string | undefined => (caller === 'anonymous' ? undefined : world.users[caller].token);
const idOf = (caller: Exclude<Caller, 'anonymous'>): string => world.users[caller].id;

type Data = Record<string, any>;

async function call(query: string, variables: Record<string, unknown> | undefined, token: string | undefined) {
  return (await gql<Data, Record<string, unknown> | undefined>(world.url, query, variables, token)) as GraphQLResponse<Data>;
}

/** The response succeeded: no errors, data present. Returns the data. */
function expectOk(response: GraphQLResponse<Data>): Data {
  expect(response.errors, `unexpected errors: ${JSON.stringify(response.errors)}`).toBeUndefined();
  expect(response.data).toBeTruthy();
  return response.data!;
}

/** The response failed with exactly one error carrying `code`, and no data leaked. */
function expectError(response: GraphQLResponse<Data>, code: ErrorCode) {
  const codes = (response.errors ?? []).map((e) => e.extensions?.code);
  expect(codes, `expected one ${code} error, got ${JSON.stringify(response)}`).toEqual([code]);
  expect(response.data ?? null).toBeNull();
  return response.errors![0]!;
}

function expectOutcome(response: GraphQLResponse<Data>, outcome: Outcome): Data | undefined {
  if (outcome === 'OK') return expectOk(response);
  expectError(response, outcome);
  return undefined;
}

/** Every job id the caller can list, following the cursor through every page. */
async function listedJobs(token: string): Promise<{ id: string; ownerId: string }[]> {
  const all: { id: string; ownerId: string }[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const data = expectOk(await call(JOBS, { first: 100, after }, token));
    for (const edge of data.jobs.edges) all.push({ id: edge.node.id, ownerId: edge.node.owner.id });
    if (!data.jobs.pageInfo.hasNextPage) return all;
    after = data.jobs.pageInfo.endCursor;
  }
  throw new Error('more than 100 pages of jobs');
}

/** Polls Query.job until the job is final; never a fixed sleep beyond the polling interval. */
async function waitForJob(id: string, token: string, timeoutMs = 20_000): Promise<Data> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = expectOk(await call(JOB, { id }, token)).job;
    if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function submitImage(token: string, input: Record<string, unknown> = TINY_IMAGE): Promise<string> {
  return expectOk(await call(GENERATE_IMAGE, { input }, token)).generateImage.id as string;
}

async function createKey(token: string, scopes?: string[], name = `key-${randomUUID().slice(0, 8)}`) {
  const data = expectOk(await call(CREATE_API_KEY, { name, scopes }, token)).createApiKey;
  return { id: data.apiKey.id as string, secret: data.secret as string, scopes: data.apiKey.scopes as string[] };
}

/** A live subscription whose events can be awaited by predicate (with a generous guard, not a sleep). */
function liveSubscription<T>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  const sub = collect<T>(client, query, variables, notify);
  let failure: unknown;
  let completed = false;
  sub.done.then(
    () => {
      completed = true;
      notify();
    },
    (error) => {
      failure = error;
      notify();
    },
  );
  return {
    events: sub.events,
    done: sub.done,
    until(predicate: (event: T) => boolean, label: string, timeoutMs = 20_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const finish = (fn: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          fn();
        };
        const check = () => {
          const hit = sub.events.find(predicate);
          if (hit) return finish(() => resolve(hit));
          if (failure) return finish(() => reject(failure));
          if (completed) return finish(() => reject(new Error(`subscription ended before ${label}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`timed out waiting for ${label}; got ${JSON.stringify(sub.events)}`))),
          timeoutMs,
        );
        waiters.add(check);
        check();
      });
    },
  };
}

/** The GraphQL errors a refused subscription rejected with (collect() attaches them). */
async function subscriptionErrorCodes(done: Promise<unknown>): Promise<unknown[]> {
  const error = (await done.then(
    () => {
      throw new Error('subscription was accepted but should have been refused');
    },
    (e: unknown) => e,
  )) as { errors?: { extensions?: { code?: string } }[] };
  expect(error.errors, `refused without GraphQL errors: ${String(error)}`).toBeDefined();
  return error.errors!.map((e) => e.extensions?.code);
}

// ---------------------------------------------------------------------------------------------------

describe('authorization matrix (real API + worker over HTTP and graphql-ws)', () => {
  const env = testEnv();
  let system: RunningSystem;
  let core: Core;

  beforeAll(async () => {
    core = await testCore(env);
    const [userA, userB, admin] = await Promise.all([
      createTestUser(core, 'user'),
      createTestUser(core, 'user'),
      createTestUser(core, 'admin'),
    ]);
    system = await startSystem(env);
    Object.assign(world, { url: system.url, wsUrl: system.wsUrl, users: { userA, userB, admin } });

    const [jobA, jobB] = await Promise.all([submitImage(userA.token), submitImage(userB.token)]);
    const [doneA, doneB] = await Promise.all([waitForJob(jobA, userA.token), waitForJob(jobB, userB.token)]);
    expect(doneA.status).toBe('COMPLETED');
    expect(doneB.status).toBe('COMPLETED');
    expect(doneA.assets).toHaveLength(1);
    const asset = doneA.assets[0];
    Object.assign(world, {
      jobA,
      jobB,
      assetA: { id: asset.id, url: asset.url, sha256: asset.sha256 },
      apiKeyA: await createKey(userA.token, undefined, 'a-own-key'),
    });
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  // -------------------------------------------------------------------------------------------------
  // The main matrix: one row per operation, one test per caller.
  // -------------------------------------------------------------------------------------------------

  interface Row {
    op: string;
    query: string;
    expect: Record<Caller, Outcome>;
    /** Variables for this caller; may set up rows (a fresh key to revoke) and return them for the checks. */
    vars?: (caller: Caller) => Promise<Record<string, unknown>> | Record<string, unknown>;
    /** Checks on the data of an 'OK' answer. */
    check?: (data: Data, caller: Caller, vars: Record<string, unknown>) => Promise<void> | void;
    /** Runs after every outcome (e.g. was the side effect made, or not). */
    after?: (outcome: Outcome, caller: Caller, vars: Record<string, unknown>) => Promise<void>;
  }

  const everyone = (outcome: Outcome): Record<Caller, Outcome> => ({ anonymous: outcome, userA: outcome, userB: outcome, admin: outcome });
  const signedIn = { anonymous: 'UNAUTHENTICATED', userA: 'OK', userB: 'OK', admin: 'OK' } as const;
  const adminOnly = { anonymous: 'UNAUTHENTICATED', userA: 'FORBIDDEN', userB: 'FORBIDDEN', admin: 'OK' } as const;
  const ownerOrAdmin = { anonymous: 'UNAUTHENTICATED', userA: 'OK', userB: 'FORBIDDEN', admin: 'OK' } as const;

  const matrix: Row[] = [
    {
      op: 'Query.health',
      query: HEALTH,
      expect: everyone('OK'),
      check: (data) => {
        expect(data.health).toMatchObject({ status: 'ok', postgres: { ok: true }, redis: { ok: true } });
      },
    },
    {
      op: 'Query.me',
      query: ME,
      expect: signedIn,
      check: (data, caller) => {
        const user = world.users[caller as Exclude<Caller, 'anonymous'>];
        expect(data.me).toEqual({ id: user.id, username: user.username, role: user.role.toUpperCase() });
      },
    },
    {
      op: 'Query.users',
      query: USERS,
      expect: adminOnly,
      check: (data) => {
        const ids = data.users.map((u: { id: string }) => u.id);
        expect(ids).toEqual(expect.arrayContaining([idOf('userA'), idOf('userB'), idOf('admin')]));
      },
    },
    {
      op: 'Query.apiKeys (only the caller\'s own)',
      query: API_KEYS,
      expect: signedIn,
      check: (data, caller) => {
        const ids = data.apiKeys.map((k: { id: string }) => k.id);
        if (caller === 'userA') expect(ids).toContain(world.apiKeyA.id);
        else expect(ids).not.toContain(world.apiKeyA.id);
      },
    },
    {
      op: "Query.job (A's job)",
      query: JOB,
      vars: () => ({ id: world.jobA }),
      expect: ownerOrAdmin,
      check: (data) => {
        expect(data.job).toMatchObject({ id: world.jobA, status: 'COMPLETED', owner: { id: idOf('userA') } });
      },
    },
    {
      op: 'Query.jobs (own jobs only; every job for an admin)',
      query: JOBS,
      vars: () => ({ first: 100 }),
      expect: signedIn,
      check: async (_data, caller) => {
        const jobs = await listedJobs(tokenOf(caller)!);
        const ids = jobs.map((j) => j.id);
        if (caller === 'admin') {
          expect(ids).toEqual(expect.arrayContaining([world.jobA, world.jobB]));
          return;
        }
        const self = idOf(caller as 'userA' | 'userB');
        expect(jobs.filter((j) => j.ownerId !== self), 'jobs of other users were listed').toEqual([]);
        if (caller === 'userA') {
          expect(ids).toContain(world.jobA);
          expect(ids).not.toContain(world.jobB);
        } else {
          expect(ids).toContain(world.jobB);
          expect(ids).not.toContain(world.jobA);
        }
      },
    },
    {
      op: "Query.asset (an asset of A's completed job)",
      query: ASSET,
      vars: () => ({ id: world.assetA.id }),
      expect: ownerOrAdmin,
      check: (data) => {
        expect(data.asset).toMatchObject({ id: world.assetA.id, jobId: world.jobA, mime: 'image/png', width: 64, height: 64 });
      },
    },
    {
      op: "Mutation.login (A's credentials; allowed to anyone)",
      query: LOGIN,
      vars: () => ({ username: world.users.userA.username, password: world.users.userA.password }),
      expect: everyone('OK'),
      check: async (data) => {
        expect(data.login.tokenType).toBe('bearer');
        const me = expectOk(await call(ME, undefined, data.login.accessToken));
        expect(me.me.id).toBe(idOf('userA'));
      },
    },
    {
      op: 'Mutation.login (wrong password)',
      query: LOGIN,
      vars: () => ({ username: world.users.userA.username, password: 'not-the-password' }),
      expect: everyone('UNAUTHENTICATED'),
    },
    {
      op: 'Mutation.login (unknown user)',
      query: LOGIN,
      vars: () => ({ username: `nobody-${randomUUID().slice(0, 8)}`, password: 'whatever-password' }),
      expect: everyone('UNAUTHENTICATED'),
    },
    {
      op: 'Mutation.generateImage',
      query: GENERATE_IMAGE,
      vars: () => ({ input: TINY_IMAGE }),
      expect: signedIn,
      check: (data, caller) => {
        expect(data.generateImage).toMatchObject({ status: 'QUEUED', kind: 'IMAGE', owner: { id: idOf(caller as 'userA') } });
      },
    },
    {
      op: 'Mutation.createUser',
      query: CREATE_USER,
      vars: () => ({ username: `made-${randomUUID().slice(0, 8)}`, password: 'a-long-enough-password' }),
      expect: adminOnly,
      check: (data, _caller, vars) => {
        expect(data.createUser).toMatchObject({ username: vars.username, role: 'USER' });
      },
      after: async (outcome, _caller, vars) => {
        // A refused createUser must not have made the user: logging in as it fails.
        const login = await call(LOGIN, { username: vars.username, password: vars.password }, undefined);
        expectOutcome(login, outcome === 'OK' ? 'OK' : 'UNAUTHENTICATED');
      },
    },
    {
      op: 'Mutation.createApiKey (own key)',
      query: CREATE_API_KEY,
      vars: () => ({ name: 'matrix-key' }),
      expect: signedIn,
      check: async (data, caller) => {
        const expected = caller === 'admin' ? ['READ', 'GENERATE', 'ADMIN'] : ['READ', 'GENERATE'];
        expect([...data.createApiKey.apiKey.scopes].sort()).toEqual([...expected].sort());
        expect(data.createApiKey.secret).toMatch(/^atl_/);
        const me = expectOk(await call(ME, undefined, data.createApiKey.secret));
        expect(me.me.id).toBe(idOf(caller as 'userA'));
      },
    },
    {
      op: 'Mutation.createApiKey (for user B)',
      query: CREATE_API_KEY,
      vars: () => ({ name: 'for-b', userId: idOf('userB') }),
      expect: { anonymous: 'UNAUTHENTICATED', userA: 'FORBIDDEN', userB: 'OK', admin: 'OK' },
      check: async (data) => {
        const me = expectOk(await call(ME, undefined, data.createApiKey.secret));
        expect(me.me.id).toBe(idOf('userB'));
      },
    },
    {
      op: "Mutation.revokeApiKey (a fresh key of A's)",
      query: REVOKE_API_KEY,
      vars: async () => {
        const key = await createKey(world.users.userA.token);
        return { id: key.id, secret: key.secret };
      },
      // Another user's key is "not found", so its existence is not revealed.
      expect: { anonymous: 'UNAUTHENTICATED', userA: 'OK', userB: 'NOT_FOUND', admin: 'OK' },
      check: (data, _caller, vars) => {
        expect(data.revokeApiKey.id).toBe(vars.id);
        expect(data.revokeApiKey.revokedAt).toBeTruthy();
      },
      after: async (outcome, _caller, vars) => {
        const me = await call(ME, undefined, vars.secret as string);
        if (outcome === 'OK') expectError(me, 'UNAUTHENTICATED');
        else expect(expectOk(me).me.id, 'a refused revoke must leave the key working').toBe(idOf('userA'));
      },
    },
  ];

  describe.each(matrix)('$op', (row) => {
    it.each(CALLERS.map((caller) => [caller, row.expect[caller]] as const))('%s → %s', async (caller, outcome) => {
      const vars = (await row.vars?.(caller)) ?? {};
      const response = await call(row.query, vars, tokenOf(caller));
      const data = expectOutcome(response, outcome);
      if (data) await row.check?.(data, caller, vars);
      await row.after?.(outcome, caller, vars);
    });
  });

  // -------------------------------------------------------------------------------------------------
  // The file download URL: HTTP statuses rather than GraphQL codes.
  // -------------------------------------------------------------------------------------------------

  describe("GET /files/:id (an asset of A's)", () => {
    // Asset.url is signed (it opens for whoever holds it: see file-urls.e2e.test.ts); without its query the path
    // takes the Authorization header, owner or admin only.
    const plainUrl = () => world.assetA.url.split('?')[0]!;
    const expected: Record<Caller, number> = { anonymous: 401, userA: 200, userB: 403, admin: 200 };
    it.each(CALLERS.map((caller) => [caller, expected[caller]] as const))('%s → %i', async (caller, status) => {
      const token = tokenOf(caller);
      expect(world.assetA.url).toMatch(new RegExp(`^${world.url}/files/${world.assetA.id}\\?exp=\\d+&sig=[\\w-]+$`));
      const response = await fetch(plainUrl(), { headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect(response.status).toBe(status);
      const body = Buffer.from(await response.arrayBuffer());
      if (status === 200) {
        expect(response.headers.get('content-type')).toBe('image/png');
        expect(createHash('sha256').update(body).digest('hex')).toBe(world.assetA.sha256);
      } else {
        const json = JSON.parse(body.toString('utf8'));
        expect(json.error.code).toBe(status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN');
      }
    });

    it.each([
      ['an id that is not a UUID', 'not-a-uuid'],
      ['an unknown UUID', '00000000-0000-4000-8000-000000000000'],
    ])('%s → 404 (never 500)', async (_label, id) => {
      const response = await fetch(`${world.url}/files/${id}`, { headers: { authorization: `Bearer ${world.users.userA.token}` } });
      expect(response.status).toBe(404);
      expect((await response.json()).error.code).toBe('NOT_FOUND');
    });

    it('an invalid bearer token → 401', async () => {
      const response = await fetch(plainUrl(), { headers: { authorization: 'Bearer garbage' } });
      expect(response.status).toBe(401);
    });
  });

  // -------------------------------------------------------------------------------------------------
  // API keys: revocation and scopes.
  // -------------------------------------------------------------------------------------------------

  describe('API keys', () => {
    it('a revoked key gets UNAUTHENTICATED on every later call, while it worked before', async () => {
      const key = await createKey(world.users.userA.token, ['READ']);
      expect(expectOk(await call(ME, undefined, key.secret)).me.id).toBe(idOf('userA'));
      expectOk(await call(REVOKE_API_KEY, { id: key.id }, world.users.userA.token));
      for (const [query, vars] of [
        [ME, undefined],
        [JOBS, { first: 5 }],
        [HEALTH, undefined],
      ] as const) {
        expectError(await call(query, vars, key.secret), 'UNAUTHENTICATED');
      }
      // And the key list shows it revoked.
      const keys = expectOk(await call(API_KEYS, undefined, world.users.userA.token)).apiKeys;
      expect(keys.find((k: { id: string }) => k.id === key.id)?.revokedAt).toBeTruthy();
    });

    type KeyName = 'A[READ]' | 'A[GENERATE]' | 'A[default]' | 'admin[READ,GENERATE]' | 'admin[READ,ADMIN]';
    const keys = {} as Record<KeyName, string>;

    beforeAll(async () => {
      keys['A[READ]'] = (await createKey(world.users.userA.token, ['READ'])).secret;
      keys['A[GENERATE]'] = (await createKey(world.users.userA.token, ['GENERATE'])).secret;
      keys['A[default]'] = (await createKey(world.users.userA.token)).secret;
      keys['admin[READ,GENERATE]'] = (await createKey(world.users.admin.token, ['READ', 'GENERATE'])).secret;
      keys['admin[READ,ADMIN]'] = (await createKey(world.users.admin.token, ['READ', 'ADMIN'])).secret;
    });

    const scopeTable: [KeyName, string, Outcome, string, () => Record<string, unknown>][] = [
      ['A[READ]', 'Query.jobs', 'OK', JOBS, () => ({ first: 10 })],
      ['A[READ]', "Query.job (A's)", 'OK', JOB, () => ({ id: world.jobA })],
      ['A[READ]', "Query.asset (A's)", 'OK', ASSET, () => ({ id: world.assetA.id })],
      ['A[READ]', 'Mutation.generateImage', 'FORBIDDEN', GENERATE_IMAGE, () => ({ input: TINY_IMAGE })],
      ['A[GENERATE]', 'Mutation.generateImage', 'OK', GENERATE_IMAGE, () => ({ input: TINY_IMAGE })],
      ['A[GENERATE]', 'Query.jobs', 'FORBIDDEN', JOBS, () => ({ first: 10 })],
      ['A[GENERATE]', "Query.job (A's)", 'FORBIDDEN', JOB, () => ({ id: world.jobA })],
      ['A[default]', 'Query.jobs', 'OK', JOBS, () => ({ first: 10 })],
      ['A[default]', 'Mutation.generateImage', 'OK', GENERATE_IMAGE, () => ({ input: TINY_IMAGE })],
      ['A[default]', "Query.job (B's)", 'FORBIDDEN', JOB, () => ({ id: world.jobB })],
      ['A[default]', 'Query.users', 'FORBIDDEN', USERS, () => ({})],
      // An admin's key without the ADMIN scope has no admin powers.
      ['admin[READ,GENERATE]', 'Query.users', 'FORBIDDEN', USERS, () => ({})],
      ['admin[READ,GENERATE]', "Query.job (A's)", 'FORBIDDEN', JOB, () => ({ id: world.jobA })],
      ['admin[READ,GENERATE]', 'Mutation.createUser', 'FORBIDDEN', CREATE_USER, () => ({ username: `k-${randomUUID().slice(0, 8)}`, password: 'long-enough-pw' })],
      ['admin[READ,ADMIN]', 'Query.users', 'OK', USERS, () => ({})],
      ['admin[READ,ADMIN]', "Query.job (A's)", 'OK', JOB, () => ({ id: world.jobA })],
      ['admin[READ,ADMIN]', 'Mutation.generateImage', 'FORBIDDEN', GENERATE_IMAGE, () => ({ input: TINY_IMAGE })],
    ];

    it.each(scopeTable)('key %s: %s → %s', async (key, _op, outcome, query, vars) => {
      expectOutcome(await call(query, vars(), keys[key]), outcome);
    });

    it('a READ key sees only its own user\'s jobs', async () => {
      const jobs = await listedJobs(keys['A[READ]']);
      expect(jobs.map((j) => j.id)).toContain(world.jobA);
      expect(jobs.filter((j) => j.ownerId !== idOf('userA'))).toEqual([]);
    });

    it('a user cannot create a key with the ADMIN scope → FORBIDDEN', async () => {
      expectError(await call(CREATE_API_KEY, { name: 'too-much', scopes: ['ADMIN'] }, world.users.userA.token), 'FORBIDDEN');
    });

    // A key must not be able to mint a key with more power than it holds, or scopes mean nothing.
    it.each([
      ['A[READ]', ['GENERATE']],
      ['admin[READ,GENERATE]', ['ADMIN']],
    ] as [KeyName, string[]][])('key %s cannot mint a key with scopes %j → FORBIDDEN', async (key, scopes) => {
      expectError(await call(CREATE_API_KEY, { name: 'escalate', scopes }, keys[key]), 'FORBIDDEN');
    });
  });

  // -------------------------------------------------------------------------------------------------
  // Credentials that are present but wrong: refused, never treated as anonymous.
  // -------------------------------------------------------------------------------------------------

  describe('invalid credentials → UNAUTHENTICATED', () => {
    const forged = async (secret: string, claims: { sub?: string; exp?: number }) => {
      let jwt = new SignJWT({ role: 'admin', username: 'forged' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
      if (claims.sub) jwt = jwt.setSubject(claims.sub);
      jwt = jwt.setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 3600);
      return jwt.sign(new TextEncoder().encode(secret));
    };
    const credentials: [string, () => Promise<string> | string][] = [
      ['a random string', () => 'not-a-token'],
      ['an unknown API key', () => `atl_${randomUUID().replaceAll('-', '')}`],
      ["A's JWT with a tampered signature", () => `${world.users.userA.token.slice(0, -4)}AAAA`],
      ['a JWT signed with another secret', () => forged('some-other-secret-0123456789abcdefghij', { sub: idOf('admin') })],
      ['an expired JWT', () => forged(env.JWT_SECRET!, { sub: idOf('userA'), exp: Math.floor(Date.now() / 1000) - 60 })],
      ['a valid JWT for a user that does not exist', () => forged(env.JWT_SECRET!, { sub: randomUUID() })],
      ['an unsigned (alg: none) JWT', () => {
        const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: idOf('admin'), exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
      }],
    ];

    it.each(credentials)('%s', async (_label, make) => {
      const token = await make();
      expectError(await call(ME, undefined, token), 'UNAUTHENTICATED');
      expectError(await call(JOB, { id: world.jobA }, token), 'UNAUTHENTICATED');
    });

    it('a non-Bearer Authorization header', async () => {
      const response = await fetch(`${world.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
        body: JSON.stringify({ query: ME }),
      });
      expectError((await response.json()) as GraphQLResponse<Data>, 'UNAUTHENTICATED');
    });
  });

  // -------------------------------------------------------------------------------------------------
  // Bad input: BAD_USER_INPUT naming the field; nothing queued.
  // -------------------------------------------------------------------------------------------------

  describe('Mutation.generateImage with bad input → BAD_USER_INPUT naming the field', () => {
    it.each([
      ['width not a multiple of 8', { ...TINY_IMAGE, width: 100 }, 'width'],
      ['height over 2048', { ...TINY_IMAGE, height: 4096 }, 'height'],
      ['empty prompt', { ...TINY_IMAGE, prompt: '' }, 'prompt'],
      ['blank prompt', { ...TINY_IMAGE, prompt: '   ' }, 'prompt'],
      ['steps 0', { ...TINY_IMAGE, steps: 0 }, 'steps'],
      ['numImages 5', { ...TINY_IMAGE, numImages: 5 }, 'numImages'],
      ['priority 11', { ...TINY_IMAGE, priority: 11 }, 'priority'],
      ['negative seed', { ...TINY_IMAGE, seed: -1 }, 'seed'],
    ])('%s', async (_label, input, field) => {
      const before = (await listedJobs(world.users.userA.token)).length;
      const error = expectError(await call(GENERATE_IMAGE, { input }, world.users.userA.token), 'BAD_USER_INPUT');
      expect(error.message).toContain(field);
      const fields = (error.extensions?.fields ?? []) as { field: string }[];
      expect(fields.map((f) => f.field)).toEqual([field]);
      expect((await listedJobs(world.users.userA.token)).length, 'a refused request queued a job').toBe(before);
    });
  });

  // -------------------------------------------------------------------------------------------------
  // Ids that name nothing: NOT_FOUND, never INTERNAL_SERVER_ERROR.
  // -------------------------------------------------------------------------------------------------

  describe('ids that name nothing → NOT_FOUND (never INTERNAL_SERVER_ERROR)', () => {
    const ids: [string, string][] = [
      ['not a UUID', 'not-a-uuid'],
      ['a number', '12345'],
      ['SQL', "' OR 1=1 --"],
      ['an unknown UUID', '00000000-0000-4000-8000-000000000000'],
    ];
    const ops: [string, string, (id: string) => Record<string, unknown>][] = [
      ['Query.job', JOB, (id) => ({ id })],
      ['Query.asset', ASSET, (id) => ({ id })],
      ['Mutation.revokeApiKey', REVOKE_API_KEY, (id) => ({ id })],
    ];
    const table = ops.flatMap(([op, query, vars]) =>
      ids.flatMap(([label, id]) => (['userA', 'admin'] as const).map((caller) => [op, label, caller, query, vars(id)] as const)),
    );

    it.each(table)('%s with %s as %s', async (_op, _label, caller, query, vars) => {
      expectError(await call(query, vars, tokenOf(caller)), 'NOT_FOUND');
    });

    it.each(ids)('Mutation.createApiKey (admin) for a userId that is %s', async (_label, id) => {
      expectError(await call(CREATE_API_KEY, { name: 'x', userId: id }, world.users.admin.token), 'NOT_FOUND');
    });

    it.each(ids)('Subscription.jobProgress for an id that is %s', async (_label, id) => {
      const client = wsClient(world.wsUrl, world.users.userA.token);
      try {
        expect(await subscriptionErrorCodes(collect(client, JOB_PROGRESS, { id }).done)).toEqual(['NOT_FOUND']);
      } finally {
        await client.dispose();
      }
    });

    // Cursors are opaque to clients, but one that is tampered with is still the client's mistake.
    it.each([
      ['not base64 JSON', 'garbage'],
      ['a cursor whose id is not a UUID', Buffer.from(JSON.stringify([new Date().toISOString(), 'not-a-uuid'])).toString('base64url')],
      ['a cursor whose date is not a date', Buffer.from(JSON.stringify(['yesterday', randomUUID()])).toString('base64url')],
    ])('Query.jobs with an after cursor that is %s → BAD_USER_INPUT', async (_label, after) => {
      expectError(await call(JOBS, { first: 5, after }, world.users.userA.token), 'BAD_USER_INPUT');
    });
  });

  // -------------------------------------------------------------------------------------------------
  // Subscriptions over graphql-ws.
  // -------------------------------------------------------------------------------------------------

  describe('subscriptions (graphql-ws)', () => {
    const clients: Client[] = [];
    /** A graphql-ws client for a caller, or for a raw token that is not one of the callers'. */
    const connect = (caller: Caller | { rawToken: string }) => {
      const token = typeof caller === 'string' ? tokenOf(caller) : caller.rawToken;
      const client = wsClient(world.wsUrl, token);
      clients.push(client);
      return client;
    };

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.dispose()));
    });

    it.each([
      ['anonymous', 'UNAUTHENTICATED'],
      ['userB', 'FORBIDDEN'],
    ] as const)("jobProgress(A's job) as %s is refused at start with %s", async (caller, code) => {
      const sub = collect(connect(caller), JOB_PROGRESS, { id: world.jobA });
      expect(await subscriptionErrorCodes(sub.done)).toEqual([code]);
      expect(sub.events).toEqual([]);
    });

    it("Subscription.jobs as anonymous is refused at start with UNAUTHENTICATED", async () => {
      const sub = collect(connect('anonymous'), JOBS_SUBSCRIPTION, {});
      expect(await subscriptionErrorCodes(sub.done)).toEqual(['UNAUTHENTICATED']);
      expect(sub.events).toEqual([]);
    });

    it.each(['userA', 'admin'] as const)("jobProgress(A's completed job) as %s: its final state, then the end", async (caller) => {
      const events = await collect<{ jobProgress: Data }>(connect(caller), JOB_PROGRESS, { id: world.jobA }).done;
      expect(events.map((e) => e.jobProgress)).toEqual([{ jobId: world.jobA, status: 'COMPLETED', progress: 100 }]);
    });

    it('an invalid token closes the connection (the subscription is refused, not anonymous)', async () => {
      const sub = collect(connect({ rawToken: 'garbage-token' }), JOB_PROGRESS, { id: world.jobA });
      const error = await sub.done.then(
        () => null,
        (e: { cause?: { code?: number } }) => e,
      );
      expect(error, 'subscription with an invalid token was accepted').not.toBeNull();
      // graphql-ws closes with 4403 when onConnect refuses the connection.
      expect(error!.cause?.code).toBe(4403);
      expect(sub.events).toEqual([]);
    });

    it("Subscription.jobs: A and the admin get A's job events, B gets none of them", async () => {
      type Event = { jobs: { jobId: string; status: string; progress: number } };
      const subA = liveSubscription<Event>(connect('userA'), JOBS_SUBSCRIPTION);
      const subB = liveSubscription<Event>(connect('userB'), JOBS_SUBSCRIPTION);
      const subAdmin = liveSubscription<Event>(connect('admin'), JOBS_SUBSCRIPTION);
      const completed = (id: string) => (e: Event) => e.jobs.jobId === id && e.jobs.status === 'COMPLETED';

      // Barrier: a job of B's proves B's and the admin's subscriptions are live (and that B sees its own).
      const probe1 = await submitImage(world.users.userB.token);
      await Promise.all([subB.until(completed(probe1), "B's first probe"), subAdmin.until(completed(probe1), "B's probe, for the admin")]);

      // The job under test, followed also through jobProgress by its owner.
      const jobA = await submitImage(world.users.userA.token);
      const progress = collect<{ jobProgress: Data }>(connect('userA'), JOB_PROGRESS, { id: jobA });
      await subA.until(completed(jobA), "A's COMPLETED event");
      await subAdmin.until(completed(jobA), "A's COMPLETED event, for the admin");

      // Barrier: B's events arrive in order, so once a later job of B's is seen, any leak of A's would have been too.
      const probe2 = await submitImage(world.users.userB.token);
      await subB.until(completed(probe2), "B's second probe");

      expect(subB.events.filter((e) => e.jobs.jobId === jobA), "B received A's job events").toEqual([]);
      // More generally each user hears only of its own jobs (earlier jobs of the file may still be finishing).
      const ownedBy = async (caller: 'userA' | 'userB') => new Set((await listedJobs(tokenOf(caller)!)).map((j) => j.id));
      const [jobsOfA, jobsOfB] = await Promise.all([ownedBy('userA'), ownedBy('userB')]);
      expect(subB.events.filter((e) => !jobsOfB.has(e.jobs.jobId)), "B received other users' job events").toEqual([]);
      expect(subA.events.filter((e) => !jobsOfA.has(e.jobs.jobId)), "A received other users' job events").toEqual([]);
      expect(subA.events.filter((e) => [probe1, probe2].includes(e.jobs.jobId)), "A received B's job events").toEqual([]);
      const statusesA = subA.events.filter((e) => e.jobs.jobId === jobA).map((e) => e.jobs.status);
      expect(statusesA).toContain('PROCESSING');
      expect(statusesA.at(-1)).toBe('COMPLETED');

      // A's own jobProgress stream: events of that job only, ending COMPLETED at 100.
      const events = (await progress.done).map((e) => e.jobProgress);
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e) => e.jobId === jobA)).toBe(true);
      expect(events.at(-1)).toEqual({ jobId: jobA, status: 'COMPLETED', progress: 100 });
      const percents = events.map((e) => e.progress);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
    });
  });
});
