import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey } from '../db/entities/api-key.entity.ts';
import { User, type UserRole } from '../db/entities/user.entity.ts';
import type { AuthChange, PubSub } from '../pubsub/pubsub.ts';

export interface CachedUser {
  id: string;
  username: string;
  role: UserRole;
  settings: Record<string, unknown> | null;
}

export interface CachedKey {
  id: string;
  hash: string;
  scopes: string[];
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  user: CachedUser;
}

interface Entry<T> {
  value: T;
  expires: number;
}

/**
 * Users and API keys as authentication and quotas need them, kept briefly so a request costs no database read.
 * A change (revoked key, new role, new quota) is announced on the `authChanged` topic: every process drops
 * the entry at once, so the TTL only bounds how long a lost message could leave one stale.
 */
export class AuthCache {
  private readonly users = new Map<string, Entry<CachedUser>>();
  private readonly keys = new Map<string, Entry<CachedKey>>();
  private readonly ttlMs: number;
  private readonly pubsub: PubSub | undefined;
  private listening: AsyncIterableIterator<AuthChange> | undefined;
  /** Counts changes heard: a caller that authenticated earlier checks again only when this has moved. */
  generation = 0;

  private readonly warn: (error: unknown, message: string) => void;

  constructor(deps: { pubsub?: PubSub; ttlMs?: number; warn?: (error: unknown, message: string) => void }) {
    this.pubsub = deps.pubsub;
    this.ttlMs = deps.ttlMs ?? 30_000;
    this.warn = deps.warn ?? (() => undefined);
  }

  /** Resolves once this process hears changes from the others. */
  async listen(): Promise<void> {
    if (!this.pubsub || this.listening) return;
    this.listening = await this.pubsub.subscribe('authChanged');
    const changes = this.listening;
    void (async () => {
      for await (const change of changes) this.forget(change);
    })().catch((error) => this.warn(error, 'auth changes from other processes are no longer heard; cached users and keys expire by their TTL only'));
  }

  async close(): Promise<void> {
    await this.listening?.return?.();
  }

  private forget(change: AuthChange) {
    this.generation++;
    if (change.all) {
      this.users.clear();
      this.keys.clear();
      return;
    }
    if (change.userId) {
      this.users.delete(change.userId);
      for (const [hash, entry] of this.keys) if (entry.value.user.id === change.userId) this.keys.delete(hash);
    }
    if (change.keyHash) this.keys.delete(change.keyHash);
  }

  /** Drops the entries here and in every other process. */
  async changed(change: AuthChange): Promise<void> {
    this.forget(change);
    await this.pubsub?.publish('authChanged', undefined, change).catch((error) => this.warn(error, 'could not announce an auth change; other processes see it when their cache entry expires'));
  }

  private fresh<T>(map: Map<string, Entry<T>>, key: string): T | undefined {
    const entry = map.get(key);
    if (!entry) return undefined;
    if (entry.expires > Date.now()) return entry.value;
    map.delete(key);
    return undefined;
  }

  async user(em: EntityManager, id: string): Promise<CachedUser | null> {
    const hit = this.fresh(this.users, id);
    if (hit) return hit;
    const user = await em.findOne(User, { id });
    if (!user) return null;
    const value: CachedUser = { id: user.id, username: user.username, role: user.role, settings: (user.settings as Record<string, unknown> | null) ?? null };
    this.users.set(id, { value, expires: Date.now() + this.ttlMs });
    return value;
  }

  async apiKey(em: EntityManager, hash: string): Promise<CachedKey | null> {
    const hit = this.fresh(this.keys, hash);
    if (hit) return hit;
    const key = await em.findOne(ApiKey, { hash }, { populate: ['user'] });
    if (!key) return null;
    const user = key.user;
    const value: CachedKey = {
      id: key.id,
      hash: key.hash,
      scopes: key.scopes,
      revokedAt: key.revokedAt ?? null,
      lastUsedAt: key.lastUsedAt ?? null,
      user: { id: user.id, username: user.username, role: user.role, settings: (user.settings as Record<string, unknown> | null) ?? null },
    };
    this.keys.set(hash, { value, expires: Date.now() + this.ttlMs });
    return value;
  }
}
