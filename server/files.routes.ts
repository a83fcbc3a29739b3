import type { Readable } from 'node:stream';
import { create as contentDisposition } from 'content-disposition';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { anonymousFamilies } from '../src/config/anonymous-families.ts';
import type { Core } from '../src/core.ts';
import type { Asset } from '../src/db/entities/asset.entity.ts';
import { AppError, badInput, unauthenticated } from '../src/services/errors.ts';
import { authorize as authorizeOperation, type Operation } from '../src/services/scopes.ts';
import { anonymousActor } from '../rest-compat/compat.common.ts';
import { sendAtelierError } from '../rest-compat/http.errors.ts';

/** Longest side of an image's thumbnail, in pixels. */
const THUMBNAIL_PX = 256;

const atelierError = { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } } };
const fileDoc = (operationId: string, summary: string, description: string) => ({
  tags: ['Atelier'],
  operationId,
  summary,
  // Where a REST family admits anonymous callers, their files are fetched without a credential too.
  security: [{}, { bearer: [] }] as Record<string, string[]>[],
  params: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } },
  querystring: {
    type: 'object',
    properties: {
      exp: { type: 'string', description: 'Expiry of a signed link (seconds since the epoch)' },
      sig: { type: 'string', description: 'Signature of a signed link' },
    },
  },
  response: {
    200: { description, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
    400: { description: 'Not an image', ...atelierError },
    401: { description: 'No valid credential', ...atelierError },
    403: { description: 'A signed link whose signature does not match', ...atelierError },
    404: { description: 'No such file, or not yours', ...atelierError },
    410: { description: 'A signed link that has expired', ...atelierError },
  },
});

/** Serves stored assets to their owner or an admin, and thumbnails of images. */
export function registerFileRoutes(app: FastifyInstance, core: Core) {
  const authorize = async (request: FastifyRequest<{ Params: { id: string } }>, operation?: Operation) => {
    const em = core.orm.em.fork();
    const anonymousAllowed = anonymousFamilies(core.config).length > 0;
    const actor = await core.auth.authenticate(em, request.headers.authorization);
    if (actor && operation) authorizeOperation(actor, operation);
    if (actor) return core.assets.getAsset(em, actor, request.params.id);
    if (!anonymousAllowed) throw unauthenticated();
    // Without a credential only the anonymous user's own files are served; anyone else's asks for one.
    return core.assets.getAsset(em, await anonymousActor(em), request.params.id).catch((error: unknown) => {
      throw error instanceof AppError && (error.code === 'FORBIDDEN' || error.code === 'NOT_FOUND') ? unauthenticated() : error;
    });
  };
  const open = async (request: FastifyRequest<{ Params: { id: string } }>, asset: Asset) => {
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
    return stream;
  };
  const cached = (reply: FastifyReply, etag: string) => reply.header('cache-control', 'private, max-age=31536000, immutable').header('etag', etag);
  // Served as the type Atelier detected, never as one a browser guesses; named, but never as HTML to render.
  const served = (reply: FastifyReply, asset: Asset, type = asset.mime, filename = asset.filename ?? asset.id) =>
    reply.type(type).header('x-content-type-options', 'nosniff').header('content-disposition', contentDisposition(filename, { type: 'inline' }));
  // An error answer (a file gone, storage down, a bad link) is never cached as the file's.
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');

  type FileRequest = { Params: { id: string }; Querystring: { exp?: string; sig?: string } };
  app.get<FileRequest>('/files/:id', { schema: fileDoc('getFile', 'A stored file (image, video, audio)', 'The file, in its own media type') }, async (request, reply) => {
    try {
      const { exp, sig } = request.query;
      if (exp !== undefined || sig !== undefined) {
        const check = core.fileUrls.check(request.params.id, exp, sig);
        if (check === 'invalid') return noStore(reply).status(403).send({ error: { code: 'FORBIDDEN', message: 'This file link is not valid: its signature does not match' } });
        if (check === 'expired') return noStore(reply).status(410).send({ error: { code: 'LINK_EXPIRED', message: 'This file link has expired; ask for the job or asset again for a fresh one' } });
        const asset = await core.assets.getSignedAsset(core.orm.em.fork(), request.params.id);
        const direct = await core.storage.downloadUrl?.(asset.storageKey, { mime: asset.mime, filename: asset.filename });
        if (direct) return reply.header('cache-control', 'private, no-store').redirect(direct, 302);
        const stream = await open(request, asset);
        return served(reply, asset)
          .header('content-length', String(asset.bytes))
          .header('cache-control', `private, max-age=${core.fileUrls.secondsLeft(exp!)}, immutable`)
          .header('etag', `"${asset.sha256}"`)
          .send(stream);
      }
      // Without a signed link the caller's credential needs the read scope, as GraphQL's `asset` does.
      const asset = await authorize(request, 'assets.read');
      // Object storage may hand the bytes out itself: the client follows a short-lived presigned URL.
      const direct = await core.storage.downloadUrl?.(asset.storageKey, { mime: asset.mime, filename: asset.filename });
      if (direct) return reply.header('cache-control', 'private, no-store').redirect(direct, 302);
      const stream = await open(request, asset);
      return cached(served(reply, asset).header('content-length', String(asset.bytes)), `"${asset.sha256}"`).send(stream);
    } catch (error) {
      return sendAtelierError(noStore(reply), error);
    }
  });

  app.get<{ Params: { id: string } }>(
    '/files/:id/thumbnail',
    { schema: fileDoc('getFileThumbnail', "An image's thumbnail", `The image scaled to at most ${THUMBNAIL_PX} px a side, as WebP`) },
    async (request, reply) => {
      try {
        // A derived file, never handed out as a signed link: a credential needs the read scope (route-scopes.ts
        // lists routes checked by the scope hook; this one also admits the anonymous user's own images).
        const asset = await authorize(request, 'assets.read');
        if (asset.kind !== 'IMAGE') throw badInput('Only images have thumbnails');
        const stream = await open(request, asset);
        const thumbnail = stream.pipe(sharp().resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside', withoutEnlargement: true }).webp());
        const name = `${(asset.filename ?? asset.id).replace(/\.[^.]*$/, '')}-thumbnail.webp`;
        return cached(served(reply, asset, 'image/webp', name), `"${asset.sha256}-t${THUMBNAIL_PX}"`).send(await thumbnail.toBuffer());
      } catch (error) {
        return sendAtelierError(noStore(reply), error);
      }
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/files/:id',
    {
      schema: {
        tags: ['Atelier'],
        operationId: 'deleteFile',
        summary: 'Delete a stored file (its owner or an admin)',
        security: [{ bearer: [] }],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } },
        response: {
          204: { description: 'Deleted', type: 'null' },
          401: { description: 'No valid credential', ...atelierError },
          403: { description: 'Not yours', ...atelierError },
          404: { description: 'No such file', ...atelierError },
        },
      },
    },
    async (request, reply) => {
      const em = core.orm.em.fork();
      try {
        const actor = await core.auth.authenticate(em, request.headers.authorization);
        if (!actor) throw unauthenticated();
        await core.retention.deleteAsset(em, actor, request.params.id);
        return reply.status(204).send();
      } catch (error) {
        return sendAtelierError(reply, error);
      }
    },
  );
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
