/**
 * Property-based fuzzing (fast-check) of every GraphQL query and mutation and every REST route, as a user and as
 * an admin, against the real API: whatever arrives, the answer is never a 5xx and never INTERNAL_SERVER_ERROR.
 * Runs are bounded (FUZZ_RUNS per operation) so CI stays fast; a failure prints the shrunk input to replay.
 */
import fc from 'fast-check';
import {
  type GraphQLInputType,
  type GraphQLNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Core } from '../../src/core.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { startApi, type RunningProcess } from '../helpers/processes.ts';
import { rootFields, rootOperation, send } from '../helpers/schema-ops.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 6);
const NUL = '\u0000';
const HEALTH_ROUTES = new Set(['/health', '/api/v1/health', '/readyz']);

/** Strings an attacker would try, beside random ones. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', NUL, `a${NUL}b`, '0000-01-01T00:00:00Z', '../../etc/passwd', 'http://169.254.169.254/', "'; drop table jobs; --", 'x'.repeat(5000), '\uD800', '{"a":1}', 'NaN', '-1'),
  fc.uuid(),
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.constant({ deep: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) }));

/** An arbitrary value of a GraphQL input type: mostly well-typed (so resolvers run), sometimes not. */
function arbitraryOf(type: GraphQLInputType, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return arbitraryOf(type.ofType, depth);
  const nullable = (arb: fc.Arbitrary<unknown>) => fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: fc.constant(null) });
  if (isListType(type)) return nullable(fc.array(arbitraryOf(type.ofType, depth + 1), { maxLength: 3 }));
  if (isEnumType(type)) return nullable(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.value)) }, { weight: 1, arbitrary: nastyString }));
  if (isInputObjectType(type)) {
    if (depth > 3) return fc.constant(null);
    const fields = Object.values(type.getFields());
    return nullable(fc.record(Object.fromEntries(fields.map((f) => [f.name, arbitraryOf(f.type, depth + 1)])), { requiredKeys: fields.filter((f) => isNonNullType(f.type)).map((f) => f.name) }));
  }
  switch ((type as GraphQLNamedType).name) {
    case 'Int':
      return nullable(fc.oneof(fc.integer({ min: -10, max: 5000 }), fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31))));
    case 'Float':
      return nullable(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), fc.constantFrom(0, -1, 1e308)));
    case 'Boolean':
      return nullable(fc.boolean());
    case 'ID':
      return nullable(fc.oneof(fc.uuid(), nastyString));
    case 'DateTime':
      return nullable(fc.oneof(fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()), nastyString));
    case 'JSON':
      return nullable(anyJson);
    case 'File':
      return fc.constant(null);
    default:
      return nullable(nastyString);
  }
}

describe('fuzz: no input gets a 5xx or INTERNAL_SERVER_ERROR', () => {
  let scratch: ScratchDatabase;
  let core: Core;
  let api: RunningProcess;
  let url: string;
  let user: TestUser;
  let admin: TestUser;
  const tally = { graphql: 0, rest: 0, status5xx: 0, internal: 0 };

  beforeAll(async () => {
    // A database of its own: admins' random mutations (providers, ComfyUI servers) must not reach other files' tests.
    scratch = await createScratchDatabase(inject('databaseUrl'), 'fuzz');
    const env = testEnv({ DATABASE_URL: scratch.url, RATE_LIMIT_GLOBAL: '1000000', RATE_LIMIT_GENERATE_IMAGE: '1000000', RATE_LIMIT_GENERATE_VIDEO: '1000000', RATE_LIMIT_COMFY_EXECUTE: '1000000', REST_SYNC_TIMEOUT_SECONDS: '0', LOGIN_MAX_CONSECUTIVE_FAILS: '1000000', LOGIN_MAX_FAILS_PER_IP: '1000000', LOGIN_MAX_FAILS_PER_USERNAME: '1000000' });
    core = await testCore(env);
    user = await createTestUser(core);
    admin = await createTestUser(core, 'admin');
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
  }, 60_000);

  afterAll(async () => {
    console.log(`fuzz: ${tally.graphql} GraphQL + ${tally.rest} REST requests; 5xx: ${tally.status5xx}; INTERNAL_SERVER_ERROR: ${tally.internal}`);
    await api?.stop();
    await core?.close();
    await scratch?.drop();
  });

  for (const root of ['Mutation', 'Query'] as const) {
    it(`GraphQL: every ${root} field, ${RUNS} generated inputs each, as a user and as an admin`, async () => {
      const failures: string[] = [];
      for (const field of rootFields(root)) {
        const args = Object.fromEntries(field.args.map((a) => [a.name, arbitraryOf(a.type)]));
        await fc.assert(
          fc.asyncProperty(fc.record(args, { requiredKeys: [] }), fc.boolean(), async (values, asAdmin) => {
            const op = rootOperation(root, field);
            // Every argument as a variable, required or not, typed as declared.
            const provided = field.args.filter((a) => a.name in values);
            const defs = provided.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
            const uses = provided.map((a) => `${a.name}: $${a.name}`).join(', ');
            const query = op.query.replace(/^(query|mutation) Op(\([^)]*\))? \{ (\w+)(\([^)]*\))?/, `$1 Op${defs ? `(${defs})` : ''} { $3${uses ? `(${uses})` : ''}`);
            const answer = await send(url, { query, variables: values, files: [] }, asAdmin ? admin.token : user.token);
            tally.graphql++;
            const internal = (answer.body?.errors ?? []).some((e) => e.extensions?.code === 'INTERNAL_SERVER_ERROR');
            if (answer.status >= 500) tally.status5xx++;
            if (internal) tally.internal++;
            if (answer.status >= 500 || internal) failures.push(`${root}.${field.name} ${JSON.stringify(values).slice(0, 300)} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
            return true;
          }),
          { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 42) },
        );
      }
      expect(failures).toEqual([]);
    }, 300_000);
  }

  it(`REST: every route, ${RUNS} generated requests each`, async () => {
    const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, { type?: string }> } }> } }>>;
    };
    const failures: string[] = [];
    const valueFor = (type: string | undefined): fc.Arbitrary<unknown> =>
      type === 'integer' ? fc.integer({ min: -5, max: 5000 }) : type === 'number' ? fc.double({ noNaN: true, noDefaultInfinity: true }) : type === 'boolean' ? fc.boolean() : type === 'object' ? anyJson : type === 'array' ? fc.array(nastyString, { maxLength: 3 }) : nastyString;
    for (const [path, methods] of Object.entries(openapi.paths)) {
      if (path.startsWith('/docs') || path.startsWith('/redoc') || path === '/metrics' || path === '/graphql') continue;
      for (const [method, spec] of Object.entries(methods)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        const properties = spec.requestBody?.content?.['application/json']?.schema?.properties ?? {};
        const body = fc.oneof(
          { weight: 4, arbitrary: fc.record(Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, fc.oneof(valueFor(v.type), nastyString)])), { requiredKeys: [] }) },
          { weight: 1, arbitrary: anyJson },
        );
        await fc.assert(
          fc.asyncProperty(body, fc.oneof(fc.uuid(), nastyString.filter((s) => s.length > 0 && s.length < 200)), fc.boolean(), async (payload, param, asAdmin) => {
            const target = url + path.replace(/\{\w+\}/g, () => encodeURIComponent(param));
            const hasBody = method !== 'get' && method !== 'delete';
            const response = await fetch(target, {
              method: method.toUpperCase(),
              headers: { authorization: `Bearer ${asAdmin ? admin.token : user.token}`, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
              body: hasBody ? JSON.stringify(payload) : undefined,
            });
            const text = await response.text();
            tally.rest++;
            // Health routes answer 503 by design here: this test runs no worker.
            const healthReport = response.status === 503 && HEALTH_ROUTES.has(path);
            if (response.status >= 500 && !healthReport) {
              tally.status5xx++;
              failures.push(`${method.toUpperCase()} ${path} (${param}) ${JSON.stringify(payload).slice(0, 300)} → ${response.status} ${text.slice(0, 300)}`);
            }
            return true;
          }),
          { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 42) },
        );
      }
    }
    if (failures.length) console.log(`API log:\n${api.output().split('\n').filter((l) => /"level":50/.test(l)).slice(-5).join('\n')}`);
    expect(failures).toEqual([]);
  }, 300_000);
});
