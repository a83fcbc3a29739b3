import { createHash, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { ApiKey } from '../../src/db/entities/api-key.entity.ts';
import { AuthService } from '../../src/services/auth.service.ts';
import { AppError } from '../../src/services/errors.ts';
import { testCore } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an AppError, but the promise resolved');
}

interface ApiKeyRow {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  hash: string;
  scopes: string[];
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** The driver hands timestamps back as text; read them as dates (null stays null). */
const asDate = (value: unknown): Date | null => {
  if (value === null || value === undefined) return null;
  const date = new Date(value as string);
  expect(Number.isNaN(date.getTime())).toBe(false);
  return date;
};

describe('AuthService (real Postgres)', () => {
  let core: Core;
  let user: TestUser;
  let admin: TestUser;

  const em = () => core.orm.em.fork();
  const keyRow = async (id: string) => {
    const rows = await em().getConnection().execute<ApiKeyRow[]>('select * from api_keys where id = ?', [id]);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    return { ...row, last_used_at: asDate(row.last_used_at), revoked_at: asDate(row.revoked_at) };
  };

  beforeAll(async () => {
    core = await testCore();
    [user, admin] = await Promise.all([createTestUser(core, 'user'), createTestUser(core, 'admin')]);
  });

  afterAll(async () => {
    await core?.close();
  });

  describe('login and JWTs', () => {
    it('returns a bearer HS256 JWT that authenticate() resolves to the same user', async () => {
      const result = await core.auth.login(em(), { username: user.username, password: user.password });
      expect(result.tokenType).toBe('bearer');
      expect(result.expiresIn).toBe(core.config.JWT_EXPIRES_IN_SECONDS);
      expect(decodeProtectedHeader(result.accessToken).alg).toBe('HS256');
      const claims = decodeJwt(result.accessToken);
      expect(claims.sub).toBe(user.id);
      expect(claims.exp! - claims.iat!).toBe(core.config.JWT_EXPIRES_IN_SECONDS);

      const actor = await core.auth.authenticate(em(), `Bearer ${result.accessToken}`);
      expect(actor).toEqual({ userId: user.id, username: user.username, role: 'user', scopes: ['read', 'generate'], via: 'jwt' });
    });

    it('gives an admin every scope', async () => {
      const result = await core.auth.login(em(), { username: admin.username, password: admin.password });
      const actor = await core.auth.authenticate(em(), `Bearer ${result.accessToken}`);
      expect(actor).toMatchObject({ userId: admin.id, role: 'admin', scopes: ['read', 'generate', 'admin'], via: 'jwt' });
    });

    it('accepts a username with surrounding spaces and a lowercase "bearer"', async () => {
      const result = await core.auth.login(em(), { username: `  ${user.username} `, password: user.password });
      const actor = await core.auth.authenticate(em(), `bearer ${result.accessToken}`);
      expect(actor?.userId).toBe(user.id);
    });

    it('refuses a wrong password with UNAUTHENTICATED', async () => {
      const error = await rejection(core.auth.login(em(), { username: user.username, password: `${user.password}x` }));
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.message).toBe('Invalid username or password');
    });

    it('refuses an unknown user with the same UNAUTHENTICATED error', async () => {
      const error = await rejection(core.auth.login(em(), { username: `nobody-${randomUUID()}`, password: 'whatever-password' }));
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.message).toBe('Invalid username or password');
    });

    it('refuses empty credentials as BAD_USER_INPUT', async () => {
      const error = await rejection(core.auth.login(em(), { username: ' ', password: '' }));
      expect(error.code).toBe('BAD_USER_INPUT');
    });

    it('treats a missing header as anonymous, and a malformed one as UNAUTHENTICATED', async () => {
      expect(await core.auth.authenticate(em(), undefined)).toBeNull();
      expect(await core.auth.authenticate(em(), '')).toBeNull();
      expect((await rejection(core.auth.authenticate(em(), user.token))).code).toBe('UNAUTHENTICATED');
      expect((await rejection(core.auth.authenticate(em(), `Basic ${user.token}`))).code).toBe('UNAUTHENTICATED');
    });

    it('refuses a tampered token, and one signed with another secret', async () => {
      const [header, payload, signature] = user.token.split('.');
      const flipped = signature![0] === 'A' ? `B${signature!.slice(1)}` : `A${signature!.slice(1)}`;
      expect((await rejection(core.auth.authenticate(em(), `Bearer ${header}.${payload}.${flipped}`))).code).toBe('UNAUTHENTICATED');

      const other = new AuthService({ jwtSecret: `another-secret-${randomUUID()}`, jwtExpiresInSeconds: 3600 });
      const foreign = await other.login(em(), { username: user.username, password: user.password });
      const error = await rejection(core.auth.authenticate(em(), `Bearer ${foreign.accessToken}`));
      expect(error.code).toBe('UNAUTHENTICATED');
    });

    it('refuses an expired token', async () => {
      const shortLived = new AuthService({ jwtSecret: core.config.JWT_SECRET!, jwtExpiresInSeconds: 1 });
      const { accessToken } = await shortLived.login(em(), { username: user.username, password: user.password });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const error = await rejection(core.auth.authenticate(em(), `Bearer ${accessToken}`));
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.message).toMatch(/expired/i);
    });
  });

  describe('API keys', () => {
    it('creates a key that authenticates as its user, storing only the sha256 of the secret', async () => {
      const { apiKey, secret } = await core.auth.createApiKey(em(), user.actor, { name: 'ci' });
      expect(secret.startsWith('atl_')).toBe(true);
      expect(secret.length).toBeGreaterThanOrEqual(40);

      const row = await keyRow(apiKey.id);
      expect(row.user_id).toBe(user.id);
      expect(row.name).toBe('ci');
      expect(row.hash).not.toBe(secret);
      expect(row.hash).toBe(createHash('sha256').update(secret).digest('hex'));
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.prefix).toBe(secret.slice(0, 12));
      expect(row.scopes).toEqual(['read', 'generate']);
      // The secret appears nowhere in the row.
      expect(JSON.stringify(row)).not.toContain(secret);
      expect(JSON.stringify(row)).not.toContain(secret.slice(12));

      const actor = await core.auth.authenticate(em(), `Bearer ${secret}`);
      expect(actor).toEqual({ userId: user.id, username: user.username, role: 'user', scopes: ['read', 'generate'], via: 'apiKey' });
    });

    it('gives two keys different secrets and hashes', async () => {
      const a = await core.auth.createApiKey(em(), user.actor, { name: 'a' });
      const b = await core.auth.createApiKey(em(), user.actor, { name: 'b' });
      expect(a.secret).not.toBe(b.secret);
      expect((await keyRow(a.apiKey.id)).hash).not.toBe((await keyRow(b.apiKey.id)).hash);
    });

    it('refuses an unknown key with UNAUTHENTICATED', async () => {
      const error = await rejection(core.auth.authenticate(em(), `Bearer atl_${randomUUID().replaceAll('-', '')}`));
      expect(error.code).toBe('UNAUTHENTICATED');
    });

    it('sets lastUsedAt on first use', async () => {
      const { apiKey, secret } = await core.auth.createApiKey(em(), user.actor, { name: 'last-used' });
      expect((await keyRow(apiKey.id)).last_used_at).toBeNull();
      const before = Date.now();
      await core.auth.authenticate(em(), `Bearer ${secret}`);
      const lastUsed = (await keyRow(apiKey.id)).last_used_at;
      expect(lastUsed).toBeInstanceOf(Date);
      expect(lastUsed!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(lastUsed!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    });

    it('refuses a revoked key with UNAUTHENTICATED', async () => {
      const { apiKey, secret } = await core.auth.createApiKey(em(), user.actor, { name: 'to-revoke' });
      expect((await core.auth.authenticate(em(), `Bearer ${secret}`))?.userId).toBe(user.id);
      const revoked = await core.auth.revokeApiKey(em(), user.actor, apiKey.id);
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      expect((await keyRow(apiKey.id)).revoked_at).toBeInstanceOf(Date);
      const error = await rejection(core.auth.authenticate(em(), `Bearer ${secret}`));
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.message).toMatch(/revoked/i);
    });

    it("does not let a user revoke another user's key (NOT_FOUND), and the key keeps working", async () => {
      const other = await createTestUser(core);
      const { apiKey, secret } = await core.auth.createApiKey(em(), other.actor, { name: 'theirs' });
      expect((await rejection(core.auth.revokeApiKey(em(), user.actor, apiKey.id))).code).toBe('NOT_FOUND');
      expect((await keyRow(apiKey.id)).revoked_at).toBeNull();
      expect((await core.auth.authenticate(em(), `Bearer ${secret}`))?.userId).toBe(other.id);
    });

    it('limits scopes to the role: a user cannot get "admin"', async () => {
      const error = await rejection(core.auth.createApiKey(em(), user.actor, { name: 'greedy', scopes: ['read', 'admin'] }));
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('admin');
      const rows = await em().getConnection().execute<ApiKeyRow[]>('select * from api_keys where user_id = ? and name = ?', [user.id, 'greedy']);
      expect(rows).toHaveLength(0);
    });

    it('gives a key only the scopes asked for', async () => {
      const { secret } = await core.auth.createApiKey(em(), user.actor, { name: 'read-only', scopes: ['read'] });
      const actor = await core.auth.authenticate(em(), `Bearer ${secret}`);
      expect(actor?.scopes).toEqual(['read']);
    });

    it('lets an admin hold "admin", and an admin key without it is not an admin', async () => {
      const full = await core.auth.createApiKey(em(), admin.actor, { name: 'full', scopes: ['read', 'admin'] });
      expect((await core.auth.authenticate(em(), `Bearer ${full.secret}`))?.scopes).toEqual(['read', 'admin']);
      const limited = await core.auth.createApiKey(em(), admin.actor, { name: 'limited', scopes: ['read', 'generate'] });
      expect((await core.auth.authenticate(em(), `Bearer ${limited.secret}`))?.scopes).toEqual(['read', 'generate']);
    });

    it('refuses an unknown scope and an empty scope list as BAD_USER_INPUT', async () => {
      expect((await rejection(core.auth.createApiKey(em(), user.actor, { name: 'x', scopes: ['root'] }))).code).toBe('BAD_USER_INPUT');
      expect((await rejection(core.auth.createApiKey(em(), user.actor, { name: 'x', scopes: [] }))).code).toBe('BAD_USER_INPUT');
      expect((await rejection(core.auth.createApiKey(em(), user.actor, { name: '  ' }))).code).toBe('BAD_USER_INPUT');
    });

    it('lets only an admin create a key for another user', async () => {
      const other = await createTestUser(core);
      expect((await rejection(core.auth.createApiKey(em(), user.actor, { name: 'x', userId: other.id }))).code).toBe('FORBIDDEN');
      const { secret } = await core.auth.createApiKey(em(), admin.actor, { name: 'for-other', userId: other.id });
      const actor = await core.auth.authenticate(em(), `Bearer ${secret}`);
      expect(actor).toMatchObject({ userId: other.id, role: 'user', scopes: ['read', 'generate'] });
      // Even an admin cannot give a user an admin-scoped key.
      expect((await rejection(core.auth.createApiKey(em(), admin.actor, { name: 'y', userId: other.id, scopes: ['admin'] }))).code).toBe(
        'FORBIDDEN',
      );
    });

    it('refuses a key for a user that does not exist (NOT_FOUND)', async () => {
      expect((await rejection(core.auth.createApiKey(em(), admin.actor, { name: 'x', userId: randomUUID() }))).code).toBe('NOT_FOUND');
      expect((await rejection(core.auth.createApiKey(em(), admin.actor, { name: 'x', userId: 'not-a-uuid' }))).code).toBe('NOT_FOUND');
    });

    it('lists only the caller’s own keys', async () => {
      const other = await createTestUser(core);
      const mine = await core.auth.createApiKey(em(), other.actor, { name: 'listed' });
      const keys = await core.auth.listApiKeys(em(), other.actor);
      expect(keys.map((k) => k.id)).toEqual([mine.apiKey.id]);
      expect(keys[0]).toBeInstanceOf(ApiKey);
    });
  });
});
