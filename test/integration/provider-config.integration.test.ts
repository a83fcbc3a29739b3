import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Provider } from '../../src/db/entities/provider.entity.ts';
import { AppError } from '../../src/services/errors.ts';
import { testCore, testEnv } from '../helpers/env.ts';

describe('provider configuration checks (real Postgres)', () => {
  const env = testEnv();
  let core: Core;

  beforeAll(async () => {
    core = await testCore(env);
  });

  afterAll(async () => {
    await core?.orm.em.fork().nativeDelete(Provider, { name: { $like: `cfg-${env.QUEUE_PREFIX}%` } });
    await core?.close();
  });

  const configure = (suffix: string, extra: Record<string, unknown> = {}) =>
    core.providers.configure(core.orm.em.fork(), { type: 'STABLE_DIFFUSION', name: `cfg-${env.QUEUE_PREFIX}-${suffix}`, apiKey: 'sd-config-key-0000', isActive: false, ...extra });

  it('refuses prices that are not numbers (they would make every cost NaN)', async () => {
    const error = await configure('prices', { config: { prices: { default: 'cheap' } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT' });
    const ok = await configure('prices-ok', { config: { prices: { default: 0.02 }, adapter_option: true } });
    expect(ok.config).toEqual({ prices: { default: 0.02 }, adapter_option: true });
  });

  it('answers two requests racing for one name with one provider and one clear refusal, not a server error', async () => {
    const outcomes = await Promise.allSettled([configure('race'), configure('race'), configure('race')]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes.filter((o) => o.status === 'rejected')) {
      expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('exists') });
    }
  });
});
