import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import { badInput } from '../src/services/errors.ts';
import { type CompatFailure, jobFailure, jobFiles, syncWaitMs, withActor } from './compat.common.ts';
import { receiveForm } from './talking-head.routes.ts';

const ERROR_TITLES: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not found', 408: 'Timeout', 409: 'Conflict', 429: 'Too many requests' };

/** `{error, details}`: the video generator document's (004) error body. */
export function videoGeneratorError(failure: CompatFailure) {
  const error = failure.status >= 500 ? 'Server error' : (ERROR_TITLES[failure.status] ?? 'Invalid input');
  return { error, details: failure.message, code: failure.code };
}

const family = 'video-generator' as const;
const tags = ['Video generator (004)'];
const errorResponse = { type: 'object', properties: { error: { type: 'string' }, details: { type: 'string' }, code: { type: 'string' } } };
const ASSET_URL = /\/files\/([0-9a-f-]{36})(?:[/?#]|$)/i;

/** Document 004: upload an image, then make a video from it and a text. */
export function registerVideoGeneratorRoutes(app: FastifyInstance, core: Core) {
  app.post(
    '/api/upload',
    {
      config: { family },
      schema: {
        tags,
        summary: 'Upload an image (multipart field "image")',
        consumes: ['multipart/form-data'],
        response: { 200: { type: 'object', properties: { imageUrl: { type: 'string' } } }, 400: errorResponse },
      },
    },
    withActor(core, async (em, actor, request) => {
      const { files } = await receiveForm(core, em, actor, request, () => 'Invalid image');
      const image = files.get('image');
      if (!image) throw badInput('The form has no "image" file');
      if (image.kind !== 'IMAGE') throw badInput(`Invalid image: got ${image.kind.toLowerCase()}; JPG, PNG or GIF expected`);
      return { imageUrl: `${core.config.publicUrl}/files/${image.id}` };
    }),
  );

  app.post(
    '/api/generate',
    {
      config: { family, rateLimit: 'generateVideo' },
      schema: {
        tags,
        summary: 'Generate a video from an uploaded image and a text (form fields imageUrl, text, serverUrl?, comfyPipeline?)',
        consumes: ['multipart/form-data', 'application/json'],
        response: {
          200: {
            type: 'object',
            properties: {
              image: { type: ['string', 'null'] },
              video: { type: ['string', 'null'] },
              workflowResponse: { type: 'object', additionalProperties: true },
              isDemo: { type: 'boolean' },
              taskId: { type: 'string' },
              status: { type: 'string' },
            },
          },
          400: errorResponse,
          500: errorResponse,
        },
      },
    },
    withActor(core, async (em, actor, request) => {
      const fields = request.isMultipart()
        ? (await receiveForm(core, em, actor, request)).fields
        : // Form fields are strings; a JSON body's other types are dropped, so a number where text goes is "missing".
          new Map(Object.entries((request.body ?? {}) as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
      const imageUrl = fields.get('imageUrl');
      const text = fields.get('text');
      if (!imageUrl) throw badInput('imageUrl is required', { field: 'imageUrl' });
      if (!text?.trim()) throw badInput('text is required', { field: 'text' });
      const assetId = ASSET_URL.exec(imageUrl)?.[1];
      if (!assetId) throw badInput('imageUrl must be a URL returned by /api/upload', { field: 'imageUrl' });
      const pipeline = fields.get('comfyPipeline')?.trim();
      if (pipeline) {
        // A library workflow on ComfyUI; serverUrl, if any, must be on COMFYUI_ALLOWED_SERVERS (checked by the service).
        const created = await core.comfy.executeSaved(em, actor, {
          name: pipeline,
          params: { prompt: text, image: assetId },
          serverUrl: fields.get('serverUrl')?.trim() || null,
        });
        const job = await core.jobs.awaitJob(em, actor, created, syncWaitMs(core, request, true));
        if (job.status === 'FAILED' || job.status === 'CANCELLED') throw jobFailure(job);
        const assets = await core.assets.listJobAssets(em, [job.id]);
        const url = (kind: string) => {
          const asset = assets.find((a) => a.kind === kind);
          return asset ? `${core.config.publicUrl}/files/${asset.id}` : null;
        };
        const result = (job.result ?? {}) as { promptId?: string; server?: string; outputs?: unknown };
        return {
          image: url('IMAGE'),
          video: url('VIDEO'),
          workflowResponse: { prompt_id: result.promptId ?? null, server: result.server ?? null, outputs: result.outputs ?? null },
          isDemo: false,
          taskId: job.id,
          status: job.status.toLowerCase(),
        };
      }
      // Without a pipeline the default engine makes the video; serverUrl alone is not contacted.
      const created = await core.jobs.createVideoJob(em, actor, { prompt: text, imageAssetId: assetId });
      const job = await core.jobs.awaitJob(em, actor, created, syncWaitMs(core, request, true));
      if (job.status === 'FAILED' || job.status === 'CANCELLED') throw jobFailure(job);
      const files = jobFiles(job);
      return { image: files.thumbnail, video: files.main, isDemo: false, taskId: job.id, status: job.status.toLowerCase() };
    }),
  );
}
