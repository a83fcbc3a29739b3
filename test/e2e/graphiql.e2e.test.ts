import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { startApi, type RunningProcess } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const FOLLOW = 'subscription ($id: ID!) { jobProgress(id: $id) { jobId status } }';

/** The first answer of one subscription sent the way GraphiQL sends it: the headers inside the subscribe message. */
function firstAnswer(wsUrl: string, variables: Record<string, unknown>, headers: Record<string, string>) {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  return new Promise<{ data?: any; errors?: readonly { extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
    const stop = client.subscribe(
      { query: FOLLOW, variables, extensions: { headers } },
      {
        next: (value) => {
          stop();
          resolve(value as never);
        },
        error: reject,
        complete: () => undefined,
      },
    );
  }).finally(() => client.dispose());
}

describe('GraphiQL', () => {
  const env = testEnv();
  let core: Core;
  let user: TestUser;
  let api: RunningProcess;
  let url: string;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
  });

  afterAll(async () => {
    await api?.stop();
    await core?.close();
  });

  it('streams a subscription authenticated by the subscribe message’s extensions.headers', async () => {
    const submitted = await gql<{ generateImage: { id: string } }, unknown>(
      url,
      'mutation { generateImage(input: { prompt: "a quiet harbour", width: 64, height: 64, steps: 2 }) { id } }',
      undefined,
      user.token,
    );
    const id = submitted.data!.generateImage.id;
    const wsUrl = url.replace('http', 'ws') + '/graphql';

    const answer = await firstAnswer(wsUrl, { id }, { Authorization: `Bearer ${user.token}` });
    expect(answer.errors).toBeUndefined();
    expect(answer.data.jobProgress).toEqual({ jobId: id, status: 'QUEUED' });

    const anonymous = await firstAnswer(wsUrl, { id }, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('opens with a document that logs in, generates and follows a job, and says where the header goes', async () => {
    const page = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('mutation Login');
    expect(html).toContain('subscription Follow');
    expect(html).toContain('Bearer &lt;accessToken'.replace('&lt;', '<'));
  });
});
