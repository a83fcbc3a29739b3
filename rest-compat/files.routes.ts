import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { anonymousFamilies } from '../src/config/anonymous-families.ts';
import type { Core } from '../src/core.ts';
import { AppError, badInput, unauthenticated } from '../src/services/errors.ts';
import { anonymousActor } from './compat.common.ts';
import { sendAtelierError } from './http.errors.ts';

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
  response: {
    200: { description, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
    400: { description: 'Not an image', ...atelierError },
    401: { description: 'No valid credential', ...atelierError },
    404: { description: 'No such file, or not yours', ...atelierError },
  },
});

/** Serves stored assets to their owner or an admin, and thumbnails of images. */
export function registerFileRoutes(app: FastifyInstance, core: Core) {
  const open = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const em = core.orm.em.fork();
    const anonymousAllowed = anonymousFamilies(core.config).length > 0;
    const actor = await core.auth.authenticate(em, request.headers.authorization);
    if (actor) return core.assets.openAsset(em, actor, request.params.id);
    if (!anonymousAllowed) throw unauthenticated();
    // Without a credential only the anonymous user's own files are served; anyone else's asks for one.
    return core.assets.openAsset(em, await anonymousActor(em), request.params.id).catch((error: unknown) => {
      throw error instanceof AppError && (error.code === 'FORBIDDEN' || error.code === 'NOT_FOUND') ? unauthenticated() : error;
    });
  };
  const cached = (reply: FastifyReply, etag: string) => reply.header('cache-control', 'private, max-age=31536000, immutable').header('etag', etag);

  app.get<{ Params: { id: string } }>('/files/:id', { schema: fileDoc('getFile', 'A stored file (image, video, audio)', 'The file, in its own media type') }, async (request, reply) => {
    try {
      const { asset, stream } = await open(request);
      return cached(reply.type(asset.mime).header('content-length', String(asset.bytes)), `"${asset.sha256}"`).send(stream);
    } catch (error) {
      return sendAtelierError(reply, error);
    }
  });

  app.get<{ Params: { id: string } }>(
    '/files/:id/thumbnail',
    { schema: fileDoc('getFileThumbnail', "An image's thumbnail", `The image scaled to at most ${THUMBNAIL_PX} px a side, as WebP`) },
    async (request, reply) => {
      try {
        const { asset, stream } = await open(request);
        if (asset.kind !== 'IMAGE') {
          stream.destroy();
          throw badInput('Only images have thumbnails');
        }
        const thumbnail = stream.pipe(sharp().resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside', withoutEnlargement: true }).webp());
        return cached(reply.type('image/webp'), `"${asset.sha256}-t${THUMBNAIL_PX}"`).send(await thumbnail.toBuffer());
      } catch (error) {
        return sendAtelierError(reply, error);
      }
    },
  );
}
