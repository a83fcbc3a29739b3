import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import { actorFor } from './compat.common.ts';
import { ROUTE_OPERATIONS, authorizedActors } from './route-scopes.ts';

/**
 * Authenticates and authorizes a REST route's caller before its body is validated: a key without the scope
 * hears 403 whatever it sent, and learns nothing of what the route accepts.
 */
export function registerScopeHook(app: FastifyInstance, core: Core) {
  app.addHook('preValidation', async (request) => {
    if (!(`${request.method} ${request.routeOptions.url}` in ROUTE_OPERATIONS)) return;
    const actor = await actorFor(core, core.orm.em.fork() as EntityManager, request);
    authorizedActors.set(request, actor);
  });
}
