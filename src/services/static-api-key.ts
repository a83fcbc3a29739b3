import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey } from '../db/entities/api-key.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import { scopesForRole } from './actor.ts';

/** The name of the key row that holds API_KEY; one such row, its hash replaced when API_KEY changes. */
export const STATIC_KEY_NAME = 'API_KEY (environment)';

/**
 * Document 003 authenticates with one static `API_KEY`. It is stored as an ordinary API key of the admin
 * (only its hash), so it is checked, listed and revocable like any other; a new API_KEY replaces the old.
 */
export async function registerStaticApiKey(em: EntityManager, secret: string, adminUsername: string): Promise<void> {
  const admin = await em.findOneOrFail(User, { username: adminUsername });
  const hash = createHash('sha256').update(secret).digest('hex');
  const existing = await em.findOne(ApiKey, { name: STATIC_KEY_NAME, user: admin.id });
  if (existing?.hash === hash && !existing.revokedAt) return;
  // The old secret stops working; the same secret held by another row (e.g. revoked) would collide on the hash.
  await em.nativeDelete(ApiKey, { $or: [{ name: STATIC_KEY_NAME, user: admin.id }, { hash }] });
  em.create(ApiKey, { user: admin, name: STATIC_KEY_NAME, prefix: secret.slice(0, 12), hash, scopes: scopesForRole('admin') });
  await em.flush();
}
