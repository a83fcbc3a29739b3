/**
 * HTTP limits as the audit attacked them: password guessing on both faces, /metrics grown by client-chosen
 * operation names, and provider credits fetched on every request.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { startApi, type RunningProcess } from '../helpers/processes.ts';
import { createTestUser } from '../helpers/users.ts';
import { startFakePiApi } from '../fakes/piapi.fake.ts';
import type { FakeProvider } from '../fakes/provider-fakes.shared.ts';

const LOGIN = 'mutation L($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';

describe('HTTP limits', () => {
  const env = testEnv({ LOGIN_MAX_CONSECUTIVE_FAILS: '5', RATE_LIMIT_GLOBAL: '100000', PROVIDER_CREDITS_TTL_SECONDS: '3600' });
  let core: Core;
  let api: RunningProcess;
  let url: string;
  let piapi: FakeProvider;

  beforeAll(async () => {
    core = await testCore(env);
    piapi = await startFakePiApi();
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
  });

  afterAll(async () => {
    await api?.stop();
    await piapi?.close();
    await core?.close();
  });

  const graphqlLogin = async (username: string, password: string) => {
    const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: LOGIN, variables: { u: username, p: password } }) });
    const body = (await response.json()) as { data?: { login?: { accessToken: string } } | null; errors?: { extensions?: { code?: string } }[] };
    return { status: response.status, retryAfter: response.headers.get('retry-after'), code: body.errors?.[0]?.extensions?.code ?? 'OK' };
  };
  const restLogin = async (username: string, password: string) => {
    const response = await fetch(`${url}/v2/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> };
  };

  it('GraphQL: after 5 wrong passwords the 6th attempt — even the right password — is 429 RATE_LIMITED with Retry-After', async () => {
    const user = await createTestUser(core);
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) answers.push((await graphqlLogin(user.username, 'wrong')).code);
    expect(answers.slice(0, 4)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
    const right = await graphqlLogin(user.username, user.password);
    expect(right.code).toBe('RATE_LIMITED');
    expect(right.status).toBe(429);
    expect(Number(right.retryAfter)).toBeGreaterThan(0);
  });

  it('REST: the same throttle, answered in the family shape; another user is unaffected and a success resets the count', async () => {
    const victim = await createTestUser(core);
    const other = await createTestUser(core);
    for (let i = 0; i < 4; i++) expect((await restLogin(victim.username, 'wrong')).status).toBe(401);
    // A success before the limit clears the consecutive count.
    expect((await restLogin(victim.username, victim.password)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await restLogin(victim.username, 'wrong')).status).toBe(401);
    const fifth = await restLogin(victim.username, 'wrong');
    expect(fifth.status).toBe(429);
    expect(Number(fifth.retryAfter)).toBeGreaterThan(0);
    // The media API document's own 429 body.
    expect(fifth.body).toMatchObject({ detail: expect.stringContaining('Muitas requisições'), type: expect.any(String) });
    expect((await restLogin(victim.username, victim.password)).status).toBe(429);
    expect((await restLogin(other.username, other.password)).status).toBe(200);
  });

  it('/metrics labels GraphQL operations by root field, never by the name a client chose', async () => {
    const user = await createTestUser(core);
    for (let i = 0; i < 30; i++) {
      await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
        body: JSON.stringify({ query: `query Spam${randomUUID().replaceAll('-', '')} { health { status } }` }),
      });
    }
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).not.toMatch(/Spam[0-9a-f]{32}/);
    expect(text).toMatch(/atelier_graphql_operations_total\{type="query",name="health"\} \d+/);
  });

  it('provider credits are fetched from the provider once per TTL, however many callers ask at once', async () => {
    const admin = await createTestUser(core, 'admin');
    const configure = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
      body: JSON.stringify({
        query: 'mutation C($input: ConfigureProviderInput!) { configureProvider(input: $input) { id } }',
        variables: { input: { type: 'PIAPI', name: `credits-${randomUUID().slice(0, 8)}`, apiKey: piapi.apiKey, baseUrl: piapi.url, isDefault: false } },
      }),
    });
    const id = ((await configure.json()) as { data: { configureProvider: { id: string } } }).data.configureProvider.id;
    const ask = () =>
      fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
        body: JSON.stringify({ query: 'query Q($id: ID!) { providerCredits(id: $id) { credits } }', variables: { id } }),
      }).then((r) => r.json() as Promise<{ data: { providerCredits: { credits: number } } }>);
    const answers = [...(await Promise.all(Array.from({ length: 20 }, ask))), await ask(), await ask()];
    expect(answers.every((a) => a.data.providerCredits.credits === 100)).toBe(true);
    const rest = await fetch(`${url}/api/v1/images/providers/${id}/credits`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(rest.status).toBe(200);
    expect(piapi.requests.filter((r) => r.path === '/account/info')).toHaveLength(1);
  });
});

describe('a request body trickled a byte at a time', () => {
  // A short request timeout, so the API gives up on the trickle within a second or two.
  const env = testEnv({ HTTP_REQUEST_TIMEOUT_MS: '1000' });
  let api: RunningProcess;
  let port: number;

  beforeAll(async () => {
    ({ api, port } = await startApi(env));
  });

  afterAll(async () => {
    await api?.stop();
  });

  /** Announces a large body, sends one byte of it per tick, and reports how the server ended the exchange. */
  const trickle = (path: string) =>
    new Promise<{ answer: string; sent: number; declared: number }>((resolve, reject) => {
      const declared = 100_000;
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      let sent = 0;
      let ticker: NodeJS.Timeout | undefined;
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        clearInterval(ticker);
        resolve({ answer, sent, declared });
      });
      socket.on('connect', () => {
        socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n{`);
        sent = 1;
        ticker = setInterval(() => {
          if (!socket.writable || sent >= declared) return;
          socket.write(' ');
          sent++;
        }, 50);
      });
    });

  it.each(['/graphql', '/v2/auth/login'])('POST %s: the server answers 408 and closes the connection long before the body is in', async (path) => {
    const { answer, sent, declared } = await trickle(path);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('Client Timeout');
    expect(sent).toBeLessThan(declared);
  }, 60_000);
});
