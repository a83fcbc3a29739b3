import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey } from '../db/entities/api-key.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import { scopesForRole } from './actor.ts';
import type { AuthCache } from './auth.cache.ts';

/** The name of the key row that holds API_KEY; one such row, its hash replaced when API_KEY changes. */
export const STATIC_KEY_NAME = 'API_KEY (environment)';

/**
 * Document 003 authenticates with one static `API_KEY`. It is stored as an ordinary API key of the first
 * admin (only its hash), so it is checked, listed and revocable like any other; a new API_KEY replaces the
 * old. Returns false when there is no admin yet to hold it.
 */
export async function registerStaticApiKey(em: EntityManager, secret: string, cache?: AuthCache): Promise<boolean> {
  const hash = createHash('sha256').update(secret).digest('hex');
  const registered = await em.transactional(async (tx) => {
    // API processes starting together would otherwise race on the unique hash.
    await tx.execute(`select pg_advisory_xact_lock(hashtextextended('atelier-static-api-key', 0))`);
    const admin = await tx.findOne(User, { role: 'admin' }, { orderBy: { createdAt: 'asc' } });
    if (!admin) return false;
    const existing = await tx.findOne(ApiKey, { name: STATIC_KEY_NAME, user: admin.id });
    if (existing?.hash === hash && !existing.revokedAt) return true;
    // The old secret stops working; the same secret held by another row (e.g. revoked) would collide on the hash.
    await tx.nativeDelete(ApiKey, { $or: [{ name: STATIC_KEY_NAME, user: admin.id }, { hash }] });
    tx.create(ApiKey, { user: admin, name: STATIC_KEY_NAME, prefix: secret.slice(0, 12), hash, scopes: scopesForRole('admin') });
    return true;
  });
  // The replaced secret must stop working in every process now, not when their caches expire.
  if (registered) await cache?.changed({ all: true });
  return registered;
}
