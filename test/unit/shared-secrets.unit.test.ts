import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { requireSharedSecrets } from '../../src/config/shared-secrets.ts';

const secrets = { JWT_SECRET: 'j'.repeat(40), PROVIDER_KEY_SECRET: 'p'.repeat(40) };

describe('requireSharedSecrets', () => {
  it('lets a one-machine deployment (loopback PostgreSQL and Redis) keep its generated secrets', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/a', REDIS_URL: 'redis://localhost:6379' });
    expect(() => requireSharedSecrets(config)).not.toThrow();
  });

  it('refuses a remote PostgreSQL or Redis without both secrets, naming the missing ones and why', () => {
    const remoteDb = loadConfig({ DATABASE_URL: 'postgres://u:p@db.internal:5432/a', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(() => requireSharedSecrets(remoteDb)).toThrow(ConfigError);
    expect(() => requireSharedSecrets(remoteDb)).toThrow(/JWT_SECRET and PROVIDER_KEY_SECRET must be set.*same secrets/);
    const remoteRedis = loadConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1/a', REDIS_URL: 'redis://10.0.0.5:6379', JWT_SECRET: secrets.JWT_SECRET });
    expect(() => requireSharedSecrets(remoteRedis)).toThrow(/^PROVIDER_KEY_SECRET must be set/);
  });

  it('accepts a remote deployment that gives both secrets', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u:p@db.internal/a', REDIS_URL: 'rediss://cache.internal:6380', ...secrets });
    expect(() => requireSharedSecrets(config)).not.toThrow();
  });
});
