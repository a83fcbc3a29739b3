import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import { unauthenticated } from '../src/services/errors.ts';
import { anonymousActor } from './compat.common.ts';
import { sendAtelierError } from './http.errors.ts';

/** Serves stored assets to their owner or an admin. */
export function registerFileRoutes(app: FastifyInstance, core: Core) {
  app.get<{ Params: { id: string } }>('/files/:id', async (request, reply) => {
    const em = core.orm.em.fork();
    try {
      // Where a REST family admits anonymous callers, their files are theirs to fetch without a credential too.
      const anonymousAllowed = core.config.REST_ANONYMOUS_FAMILIES.length > 0;
      const actor = (await core.auth.authenticate(em, request.headers.authorization)) ?? (anonymousAllowed ? await anonymousActor(em) : null);
      if (!actor) throw unauthenticated();
      const { asset, stream } = await core.assets.openAsset(em, actor, request.params.id);
      return reply
        .type(asset.mime)
        .header('content-length', String(asset.bytes))
        .header('cache-control', 'private, max-age=31536000, immutable')
        .header('etag', `"${asset.sha256}"`)
        .send(stream);
    } catch (error) {
      return sendAtelierError(reply, error);
    }
  });

  app.delete<{ Params: { id: string } }>('/files/:id', async (request, reply) => {
    const em = core.orm.em.fork();
    try {
      const actor = await core.auth.authenticate(em, request.headers.authorization);
      if (!actor) throw unauthenticated();
      await core.retention.deleteAsset(em, actor, request.params.id);
      return reply.status(204).send();
    } catch (error) {
      return sendAtelierError(reply, error);
    }
  });
}
