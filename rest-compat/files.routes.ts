import { create as contentDisposition } from 'content-disposition';
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
        // Served as the type Atelier detected, never as one a browser guesses; named, but never as HTML.
        .header('x-content-type-options', 'nosniff')
        .header('content-disposition', contentDisposition(asset.filename ?? `${asset.id}`, { type: 'inline' }))
        .header('etag', `"${asset.sha256}"`)
        .send(stream);
    } catch (error) {
      // An error answer (a file gone, storage down) is never cached as the file's.
      void reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
      return sendAtelierError(reply, error);
    }
  });
}
