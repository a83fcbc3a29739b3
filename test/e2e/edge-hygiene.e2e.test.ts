/**
 * Input hygiene at the edge and the audit's /files findings, over real HTTP: values PostgreSQL cannot store,
 * malformed ids and dates, over-deep and oversized JSON are refused as the caller's mistake (400 /
 * BAD_USER_INPUT naming the field), never a 500 / INTERNAL_SERVER_ERROR.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Asset } from '../../src/db/entities/asset.entity.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { startApi, type RunningProcess } from '../helpers/processes.ts';
import { send } from '../helpers/schema-ops.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const NUL = '\u0000';
type Body = { data?: unknown; errors?: { message: string; extensions?: { code?: string; fields?: { field: string }[] } }[] };

describe('input hygiene at the edge', () => {
  const env = testEnv({ RATE_LIMIT_GLOBAL: '100000' });
  let core: Core;
  let api: RunningProcess;
  let url: string;
  let user: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    core = await testCore(env);
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
    user = await createTestUser(core);
    admin = await createTestUser(core, 'admin');
  });

  afterAll(async () => {
    await api?.stop();
    await core?.close();
  });

  const graphql = async (query: string, variables: Record<string, unknown>, token?: string) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, body: (await response.json()) as Body };
  };
  const codeOf = (body: Body) => body.errors?.[0]?.extensions?.code;

  it.each([
    ['login username', 'mutation L($u: String!) { login(username: $u, password: "x") { accessToken } }', { u: `ad${NUL}min` }, 'u', undefined],
    ['a prompt', 'mutation G($i: GenerateImageInput!) { generateImage(input: $i) { id } }', { i: { prompt: `a${NUL}b` } }, 'i.prompt', 'user'],
    ['extraParams', 'mutation G($i: GenerateImageInput!) { generateImage(input: $i) { id } }', { i: { prompt: 'x', extraParams: { k: `v${NUL}` } } }, 'i.extraParams.k', 'user'],
    ['a key inside JSON', 'mutation G($i: GenerateImageInput!) { generateImage(input: $i) { id } }', { i: { prompt: 'x', extraParams: { [`k${NUL}`]: 1 } } }, 'i.extraParams', 'user'],
    ['an API key name', 'mutation K($n: String!) { createApiKey(name: $n) { secret } }', { n: `n${NUL}` }, 'n', 'user'],
  ])('NUL in %s → 400 BAD_USER_INPUT naming the field', async (_what, query, variables, field, who) => {
    const answer = await graphql(query, variables, who === 'user' ? user.token : undefined);
    expect(answer.status).toBe(400);
    expect(codeOf(answer.body)).toBe('BAD_USER_INPUT');
    expect(answer.body.errors![0]!.extensions!.fields![0]!.field).toBe(field);
  });

  it('NUL written into the query itself → BAD_USER_INPUT naming the argument', async () => {
    const answer = await graphql('mutation { generateImage(input: {prompt: "a\\u0000b"}) { id } }', {}, user.token);
    expect(codeOf(answer.body)).toBe('BAD_USER_INPUT');
    expect(answer.body.errors![0]!.message).toContain('generateImage.input.prompt');
  });

  it('a 5,000-deep JSON variable → BAD_USER_INPUT, the API unhurt', async () => {
    // Written out by hand: building it with JSON.stringify would need that deep a stack here.
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const query = 'mutation G($i: GenerateImageInput!) { generateImage(input: $i) { id } }';
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: `{"query":${JSON.stringify(query)},"variables":{"i":{"prompt":"x","extraParams":${deep}}}}`,
    });
    const body = (await response.json()) as Body;
    expect(response.status).toBe(400);
    expect(codeOf(body)).toBe('BAD_USER_INPUT');
    expect(body.errors![0]!.message).toMatch(/i\.extraParams(\.a)+: is nested deeper than 32/);
    expect((await fetch(`${url}/livez`)).status).toBe(200);
  });

  it('786 KB of extraParams → BAD_USER_INPUT (size cap on free-form JSON)', async () => {
    const answer = await graphql('mutation G($i: GenerateImageInput!) { generateImage(input: $i) { id } }', { i: { prompt: 'x', extraParams: { blob: 'x'.repeat(786 * 1024) } } }, user.token);
    expect(codeOf(answer.body)).toBe('BAD_USER_INPUT');
  });

  it('a malformed id and an out-of-range date → BAD_USER_INPUT or NOT_FOUND, never INTERNAL_SERVER_ERROR', async () => {
    const quota = await graphql('query Q($u: ID) { userQuota(userId: $u) { __typename } }', { u: 'abc' }, admin.token);
    expect(['BAD_USER_INPUT', 'NOT_FOUND']).toContain(codeOf(quota.body));
    const costs = await graphql('query C($f: DateTime) { costs(from: $f, groupBy: PROVIDER) { __typename } }', { f: '0000-01-01T00:00:00Z' }, admin.token);
    expect(codeOf(costs.body)).toBe('BAD_USER_INPUT');
    const far = await graphql('query C($f: DateTime) { costs(from: $f, groupBy: PROVIDER) { __typename } }', { f: '+275760-09-13T00:00:00Z' }, admin.token);
    expect(far.body.errors?.map((e) => e.extensions?.code) ?? []).not.toContain('INTERNAL_SERVER_ERROR');
  });

  it.each([
    ['POST', '/v2/auth/login', { username: `a${NUL}`, password: 'x' }, { detail: expect.stringContaining('username') }],
    ['POST', '/api/v1/inference/hallo2/config', { checkpoint: `c${NUL}` }, { detail: expect.stringContaining('checkpoint') }],
    ['POST', '/generate/image', { prompt: `p${NUL}` }, { detail: expect.stringContaining('prompt') }],
    ['POST', '/api/v1/images/generate', { prompt: `p${NUL}` }, { detail: expect.stringContaining('prompt') }],
  ])('REST %s %s with NUL → 400 in the family shape, naming the field', async (method, route, body, shape) => {
    const response = await fetch(url + route, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).toMatch(/NUL/);
    expect(JSON.parse(text)).toMatchObject(shape);
  });

  it.each([
    ['002 talking head', '/api/v1/inference/hallo2', { use_cache: `true${NUL}` }, 'use_cache', { detail: expect.stringMatching(/use_cache: .*NUL/), error_code: expect.any(String) }],
    ['004 video generator', '/api/generate', { imageUrl: 'http://127.0.0.1/files/00000000-0000-0000-0000-000000000000', text: `t${NUL}` }, 'text', { error: expect.any(String), details: expect.stringMatching(/text: .*NUL/), code: 'BAD_USER_INPUT' }],
    ['004 video generator, a field its form does not know', '/api/upload', { caption: `c${NUL}` }, 'caption', { error: expect.any(String), details: expect.stringMatching(/caption: .*NUL/), code: 'BAD_USER_INPUT' }],
    ['000 media API (a JSON route sent a multipart form)', '/generate/image', { prompt: `p${NUL}` }, 'prompt', { detail: expect.stringMatching(/prompt: .*NUL/), type: expect.any(String) }],
  ])('NUL in a multipart text field on %s → 400 in the family shape, naming the field', async (_family, route, fields, field, shape) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    const response = await fetch(url + route, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.token}` } });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).toContain(field);
    expect(JSON.parse(text)).toMatchObject(shape);
  });

  it('NUL in the operations JSON of a GraphQL multipart upload → BAD_USER_INPUT naming the variable, nothing stored', async () => {
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query: 'mutation U($file: File!, $n: String!) { uploadAsset(file: $file) { id } createApiKey(name: $n) { secret } }',
        variables: { file: null, n: `key${NUL}` },
      }),
    );
    form.append('map', JSON.stringify({ 0: ['variables.file'] }));
    form.append('0', new Blob([new Uint8Array([1, 2, 3])]), 'x.bin');
    const before = await core.orm.em.fork().count(Asset, { owner: user.id });
    const response = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.token}`, 'graphql-require-preflight': '1' } });
    const body = (await response.json()) as Body;
    expect(response.status).toBe(400);
    expect(codeOf(body)).toBe('BAD_USER_INPUT');
    expect(body.errors![0]!.extensions!.fields![0]!.field).toBe('n');
    expect(await core.orm.em.fork().count(Asset, { owner: user.id })).toBe(before);
  });

  it('NUL in the map of a GraphQL multipart upload → BAD_USER_INPUT', async () => {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: 'mutation U($file: File!) { uploadAsset(file: $file) { id } }', variables: { file: null } }));
    form.append('map', JSON.stringify({ 0: [`variables.file${NUL}`] }));
    form.append('0', new Blob([new Uint8Array([1, 2, 3])]), 'x.bin');
    const response = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.token}`, 'graphql-require-preflight': '1' } });
    const body = (await response.json()) as Body;
    expect(response.status).toBe(400);
    expect(codeOf(body)).toBe('BAD_USER_INPUT');
    expect(body.errors![0]!.message).toMatch(/map.*NUL/);
  });

  it('ids that are not ids on the webhook and scene-profile fields → BAD_USER_INPUT / NOT_FOUND / empty, never INTERNAL', async () => {
    const deliveries = await graphql('query D($j: ID) { webhookDeliveries(jobId: $j) { id } }', { j: 'not-an-id' }, user.token);
    expect(codeOf(deliveries.body)).toBe('BAD_USER_INPUT');
    const redeliver = await graphql('mutation R($id: ID!) { redeliverWebhook(id: $id) { id } }', { id: 'not-an-id' }, user.token);
    expect(codeOf(redeliver.body)).toBe('NOT_FOUND');
    const scenes = await graphql('query S($p: ID) { sceneProfiles(projectId: $p) { id } }', { p: 'no-such-project' }, user.token);
    expect(scenes.body.errors).toBeUndefined();
    expect(scenes.body.data).toEqual({ sceneProfiles: [] });
  });

  describe('/files', () => {
    it('serves a file with nosniff and a safe Content-Disposition; a file gone from disk is 404 and never cached', async () => {
      const op = { query: 'mutation U($file: File!) { uploadAsset(file: $file) { id url } }', variables: { file: null }, files: ['variables.file'] };
      const png = await (await import('sharp')).default({ create: { width: 8, height: 8, channels: 3, background: '#f00' } }).png().toBuffer();
      const uploaded = await send(url, op, user.token, new Uint8Array(png));
      const asset = (uploaded.body!.data as { uploadAsset: { id: string; url: string } }).uploadAsset;
      const ok = await fetch(`${url}/files/${asset.id}`, { headers: { authorization: `Bearer ${user.token}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
      expect(ok.headers.get('content-disposition')).toMatch(/^inline; filename="?[^"\\/]+"?$/);
      await ok.arrayBuffer();

      const row = await core.orm.em.fork().findOneOrFail(Asset, { id: asset.id });
      await rm(path.join(core.config.storageDir, row.storageKey));
      const gone = await fetch(`${url}/files/${asset.id}`, { headers: { authorization: `Bearer ${user.token}` } });
      expect(gone.status).toBe(404);
      expect(gone.headers.get('cache-control')).toBe('no-store');
      expect(await gone.text()).not.toContain(core.config.storageDir);
    });
  });

  it('GraphQL ping still works (the checks refuse only what is unsafe)', async () => {
    const ok = await gql<{ health: { status: string } }, unknown>(url, '{ health { status } }');
    expect(ok.data?.health.status).toBeDefined();
  });
});
