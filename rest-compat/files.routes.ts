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
      const asset = await core.assets.getAsset(em, actor, request.params.id);
      // Object storage may hand the bytes out itself: the client follows a short-lived presigned URL.
      const direct = await core.storage.downloadUrl?.(asset.storageKey, { mime: asset.mime, filename: asset.filename });
      if (direct) return reply.header('cache-control', 'private, no-store').redirect(direct, 302);
      const stream = core.storage.open(asset.storageKey);
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
}
