import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { AppError } from '../../src/services/errors.ts';
import { RateLimits } from '../../server/rate-limit.ts';
import { testCore, testEnv } from '../helpers/env.ts';

/** The media API document's "Global: 500 requisições/segundo" is the whole server's, beside each client's own. */
describe('server-wide rate limit', () => {
  let core: Core;

  beforeAll(async () => {
    core = await testCore(testEnv({ RATE_LIMIT_SERVER: '3', RATE_LIMIT_GLOBAL: '100', RATE_LIMIT_WINDOW_SECONDS: '60' }));
  });

  afterAll(async () => {
    await core?.close();
  });

  it('refuses the request past RATE_LIMIT_SERVER whichever client sends it, with a retry time', async () => {
    const storeErrors: unknown[] = [];
    const limits = new RateLimits(core, (error) => storeErrors.push(error));
    for (const client of ['ip:10.0.0.1', 'ip:10.0.0.2', 'ip:10.0.0.3']) await limits.consume(client);
    const refused = await limits.consume('ip:10.0.0.4').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: expect.any(Number) } });
    expect(storeErrors).toEqual([]);
  });
});
