import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import type { Readable } from 'node:stream';
import { AppError, unauthenticated } from '../src/services/errors.ts';
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
      // Headers go out with the first bytes: a file missing from storage, or storage out of reach, must be
      // answered before that, not as a broken 200.
      await firstBytes(stream).catch((error: NodeJS.ErrnoException & { name?: string }) => {
        stream.destroy();
        request.log.error({ err: error, assetId: asset.id, storageKey: asset.storageKey }, 'stored file unreadable');
        if (error.code === 'ENOENT' || error.name === 'NoSuchKey' || error.name === 'NotFound') {
          throw new AppError('NOT_FOUND', `The file of asset ${asset.id} is missing from storage`, { id: asset.id });
        }
        throw new AppError('SERVICE_UNAVAILABLE', 'File storage is unavailable; retry later', { id: asset.id });
      });
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

/** Resolves once the stream has bytes (or has ended empty), rejects with its error if it fails first. */
function firstBytes(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('readable', onReadable);
      stream.off('error', done);
      if (error) reject(error);
      else resolve();
    };
    const onReadable = () => done();
    stream.once('readable', onReadable);
    stream.once('error', done);
  });
}
