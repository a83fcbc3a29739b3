import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { wsClient } from '../helpers/graphql.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

/** Starts a `jobs` subscription and resolves with its first error code, or 'ok' once the server accepted it. */
function trySubscribe(client: ReturnType<typeof wsClient>): Promise<string> {
  return new Promise((resolve) => {
    let settled = false;
    const stop = client.subscribe(
      { query: 'subscription { jobs { jobId } }' },
      {
        next: (result) => {
          if (!settled && result.errors?.length) resolve(String(result.errors[0]!.extensions?.code));
          settled = true;
        },
        error: (error) => {
          settled = true;
          const errors = error as { extensions?: { code?: string } }[];
          resolve(Array.isArray(errors) ? String(errors[0]?.extensions?.code) : 'error');
        },
        complete: () => undefined,
      },
    );
    // A live subscription answers nothing until an event: no error within 300 ms counts as accepted (a slow refusal
    // only makes the loop below try again).
    setTimeout(() => {
      if (!settled) {
        settled = true;
        stop();
        resolve('ok');
      }
    }, 300);
  });
}

describe('graphql-ws authentication (real API process)', () => {
  const env = testEnv();
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  it('a socket authenticated once keeps its caller, until its key is revoked in another process', async () => {
    const { apiKey, secret } = await core.auth.createApiKey(core.orm.em.fork(), user.actor, { name: 'socket' });
    const client = wsClient(system.wsUrl, secret, { lazy: false });
    try {
      expect(await trySubscribe(client)).toBe('ok');
      expect(await trySubscribe(client)).toBe('ok');
      // Revoked here, in the test's process: the API process hears it through Redis.
      await core.auth.revokeApiKey(core.orm.em.fork(), user.actor, apiKey.id);
      let outcome = 'ok';
      for (let i = 0; i < 20 && outcome === 'ok'; i++) outcome = await trySubscribe(client);
      expect(outcome).toBe('UNAUTHENTICATED');
    } finally {
      await client.dispose();
    }
  });
});
