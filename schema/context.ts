import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import type { Core } from '../src/core.ts';
import { Asset } from '../src/db/entities/asset.entity.ts';
import { User } from '../src/db/entities/user.entity.ts';
import type { Actor } from '../src/services/actor.ts';
import { unauthenticated } from '../src/services/errors.ts';

export interface GraphQLContext {
  core: Core;
  /** Forked per request (and per subscription), so identity maps never leak between callers. */
  em: EntityManager;
  actor: Actor | null;
  loaders: ReturnType<typeof createLoaders>;
  /** Where this client reached the API: result URLs are made absolute with it. */
  baseUrl?: string;
}

export function createLoaders(em: EntityManager) {
  return {
    user: new DataLoader<string, User | null>(async (ids) => {
      const users = await em.find(User, { id: { $in: [...ids] } });
      const byId = new Map(users.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    jobAssets: new DataLoader<string, Asset[]>(async (jobIds) => {
      const assets = await em.find(Asset, { job: { $in: [...jobIds] } }, { orderBy: { createdAt: 'asc', id: 'asc' } });
      return jobIds.map((id) => assets.filter((a) => a.job?.id === id));
    }),
  };
}

/** Builds the context for one operation from an `Authorization` value (HTTP header or graphql-ws connectionParams). */
export async function createContext(core: Core, authorization: string | null | undefined, baseUrl = core.config.publicUrl): Promise<GraphQLContext> {
  const em = core.orm.em.fork() as EntityManager;
  const actor = await core.auth.authenticate(em, authorization);
  return { core, em, actor, loaders: createLoaders(em), baseUrl };
}

/** The context for a caller already authenticated (a graphql-ws socket authenticates once, when it connects). */
export function contextFor(core: Core, actor: Actor | null, baseUrl = core.config.publicUrl): GraphQLContext {
  const em = core.orm.em.fork() as EntityManager;
  return { core, em, actor, loaders: createLoaders(em), baseUrl };
}

export function requireActor(ctx: GraphQLContext): Actor {
  if (!ctx.actor) throw unauthenticated();
  return ctx.actor;
}
