import type { UserRole } from '../db/entities/user.entity.ts';

export const API_SCOPES = ['read', 'generate', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Who is calling, as established by a JWT or an API key. */
export interface Actor {
  readonly userId: string;
  readonly username: string;
  readonly role: UserRole;
  readonly scopes: readonly ApiScope[];
  readonly via: 'jwt' | 'apiKey';
}

export const hasScope = (actor: Actor, scope: ApiScope): boolean => actor.scopes.includes(scope);

/** Admin powers need both the role and, for API keys, a key that was granted them. */
export const isAdmin = (actor: Actor): boolean => actor.role === 'admin' && hasScope(actor, 'admin');

export const scopesForRole = (role: UserRole): ApiScope[] =>
  role === 'admin' ? ['read', 'generate', 'admin'] : ['read', 'generate'];

export const canSeeOwnedBy = (actor: Actor, ownerId: string): boolean => isAdmin(actor) || actor.userId === ownerId;
