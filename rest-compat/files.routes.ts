import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import { unauthenticated } from '../src/services/errors.ts';
import { anonymousActor } from './compat.common.ts';
import { sendAtelierError } from './http.errors.ts';

/**
 * Serves stored assets: to whoever holds a signed, unexpired URL (see FileUrlSigner), else to their owner or an
 * admin by the Authorization header.
 */
export function registerFileRoutes(app: FastifyInstance, core: Core) {
  app.get<{ Params: { id: string }; Querystring: { exp?: string; sig?: string } }>('/files/:id', async (request, reply) => {
    const em = core.orm.em.fork();
    const { exp, sig } = request.query;
    try {
      if (exp !== undefined || sig !== undefined) {
        const check = core.fileUrls.check(request.params.id, exp, sig);
        if (check === 'invalid') return reply.status(403).send({ error: { code: 'FORBIDDEN', message: 'This file link is not valid: its signature does not match' } });
        if (check === 'expired') return reply.status(410).send({ error: { code: 'LINK_EXPIRED', message: 'This file link has expired; ask for the job or asset again for a fresh one' } });
        const { asset, stream } = await core.assets.openSignedAsset(em, request.params.id);
        return reply
          .type(asset.mime)
          .header('content-length', String(asset.bytes))
          .header('cache-control', `private, max-age=${core.fileUrls.secondsLeft(exp!)}, immutable`)
          .header('etag', `"${asset.sha256}"`)
          .send(stream);
      }
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
}
