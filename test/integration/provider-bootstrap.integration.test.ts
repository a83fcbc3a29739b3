import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectOrm, type Orm } from '../../src/db/orm.ts';
import { Provider } from '../../src/db/entities/provider.entity.ts';
import { KeySealer } from '../../src/providers/provider.crypto.ts';
import { bootstrapProviders } from '../../src/services/provider.service.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testConfig, testEnv } from '../helpers/env.ts';

// First start is about an empty providers table, so this runs on a database of its own.
describe('providers from environment keys on first start', () => {
  const env = testEnv();
  let scratch: ScratchDatabase;
  let orm: Orm;

  beforeAll(async () => {
    scratch = await createScratchDatabase(env.DATABASE_URL!, 'bootstrap');
    orm = await connectOrm(scratch.url);
  });

  afterAll(async () => {
    await orm?.close();
    await scratch?.drop();
  });

  it('creates OpenAI as default, PiAPI then Stable Diffusion as fallbacks, once, with sealed keys', async () => {
    const config = testConfig({ ...env, OPENAI_API_KEY: 'sk-env-openai-1111', PIAPI_API_KEY: 'pi-env-2222', STABLE_DIFFUSION_API_KEY: 'sd-env-3333' });
    const secret = 'bootstrap-secret-0123456789abcdefghijkl';
    expect(await bootstrapProviders(orm.em.fork(), config, secret)).toEqual(['OpenAI Default', 'PiAPI Default', 'Stable Diffusion Default']);
    const rows = await orm.em.fork().find(Provider, {}, { orderBy: { priority: 'asc' } });
    expect(rows.map((p) => [p.type, p.isDefault, p.priority])).toEqual([
      ['OPENAI', true, 0],
      ['PIAPI', false, 10],
      ['STABLE_DIFFUSION', false, 20],
    ]);
    // The image service document's ids.
    expect(rows.map((p) => p.slug)).toEqual(['openai_default', 'piapi_default', 'stable_diffusion_default']);
    expect(rows.map((p) => p.apiKeyEncrypted).join()).not.toMatch(/env/);
    expect(new KeySealer(secret).open(rows[0]!.apiKeyEncrypted)).toBe('sk-env-openai-1111');
    expect(await bootstrapProviders(orm.em.fork(), config, secret)).toEqual([]);
  });
});
