import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Core } from '../src/core.ts';
import { badInput } from '../src/services/errors.ts';
import { absoluteUrl, assetPath } from '../src/services/public-url.ts';
import { jobFiles, withActor } from './compat.common.ts';
import { formContract, toJsonSchema } from './rest.contract.ts';
import { receiveForm } from './rest.form.ts';
import { familyDoc, FORM_TYPES } from './rest.route.ts';
import { waitForResult } from './rest.wait.ts';
import { restJob } from './rest.submission.ts';
import { submitFields } from './image.contract.ts';

const family = 'video-generator' as const;
const doc = familyDoc(family, ['Video generator (004)'], 'optional');
const ASSET_URL = /\/files\/([0-9a-f-]{36})(?:[/?#]|$)/i;

/** 004's requests, one contract each: the upload form has only its file; the generate form four text fields. */
const uploadForm = z.object({});
const generateForm = z.object({
  imageUrl: z.string().trim().min(1, 'imageUrl is required').describe('The URL /api/upload returned'),
  text: z.string().trim().min(1, 'text is required').describe('What happens in the scene'),
  serverUrl: z.string().trim().optional().describe('A ComfyUI server (must be on COMFYUI_ALLOWED_SERVERS)'),
  comfyPipeline: z.string().trim().optional().describe('A workflow of the library, by name'),
  ...submitFields,
});

const generateAnswer = z.object({
  image: z.string().nullable(),
  video: z.string().nullable(),
  workflowResponse: z.record(z.string(), z.unknown()).optional(),
  isDemo: z.boolean(),
  taskId: z.string(),
  status: z.string(),
  poll_url: z.string().optional().describe('Present while the job runs on: where to poll it'),
});

/** Document 004: upload an image, then make a video from it and a text. */
export function registerVideoGeneratorRoutes(app: FastifyInstance, core: Core) {
  app.post(
    '/api/upload',
    {
      config: { family },
      schema: doc('uploadImage', 'Upload an image (form field "image")', {
        consumes: FORM_TYPES,
        body: formContract(uploadForm, { image: 'The image (JPG, PNG or GIF)' }),
        ok: toJsonSchema(z.object({ imageUrl: z.string() }), 'output'),
      }),
    },
    withActor(core, async (em, actor, request) => {
      const { files } = await receiveForm(core, em, actor, request, uploadForm, () => 'Invalid image');
      const image = files.get('image');
      if (!image) throw badInput(request.isMultipart() ? 'The form has no "image" file' : 'The image must be sent as a file in a multipart/form-data body');
      if (image.kind !== 'IMAGE') throw badInput(`Invalid image: got ${image.kind.toLowerCase()}; JPG, PNG or GIF expected`);
      return { imageUrl: absoluteUrl(assetPath(image.id)) };
    }),
  );

  app.post(
    '/api/generate',
    {
      config: { family, rateLimit: 'generateVideo' },
      schema: doc('generateVideoFromImage', 'Generate a video from an uploaded image and a text', {
        consumes: [...FORM_TYPES, 'application/json'],
        body: formContract(generateForm, {}),
        ok: toJsonSchema(generateAnswer, 'output'),
        errors: [408, 500],
      }),
    },
    withActor(core, async (em, actor, request, reply) => {
      const { fields } = await receiveForm(core, em, actor, request, generateForm);
      const assetId = ASSET_URL.exec(fields.imageUrl)?.[1];
      if (!assetId) throw badInput('imageUrl must be a URL returned by /api/upload', { field: 'imageUrl' });
      if (fields.comfyPipeline) {
        // A library workflow on ComfyUI; serverUrl, if any, must be on COMFYUI_ALLOWED_SERVERS (checked by the service).
        const created = await restJob(
          core,
          em,
          actor,
          request,
          () => core.comfy.executeSaved(em, actor, { name: fields.comfyPipeline!, params: { prompt: fields.text, image: assetId }, serverUrl: fields.serverUrl || null }),
          fields,
        );
        const { job, pending } = await waitForResult(core, em, actor, created, request, reply, { waitByDefault: true });
        const assets = await core.assets.listJobAssets(em, [job.id]);
        const url = (kind: string) => {
          const asset = assets.find((a) => a.kind === kind);
          return asset ? absoluteUrl(assetPath(asset.id)) : null;
        };
        const result = (job.result ?? {}) as { promptId?: string; server?: string; outputs?: unknown };
        return {
          image: url('IMAGE'),
          video: url('VIDEO'),
          workflowResponse: { prompt_id: result.promptId ?? null, server: result.server ?? null, outputs: result.outputs ?? null },
          isDemo: false,
          taskId: job.id,
          status: job.status.toLowerCase(),
          ...(pending ? { poll_url: pending.poll_url } : {}),
        };
      }
      // Without a pipeline the default engine makes the video; serverUrl alone is not contacted.
      const created = await restJob(core, em, actor, request, () => core.jobs.createVideoJob(em, actor, { prompt: fields.text, imageAssetId: assetId }), fields);
      const { job, pending } = await waitForResult(core, em, actor, created, request, reply, { waitByDefault: true });
      const files = jobFiles(job);
      return { image: files.thumbnail, video: files.main, isDemo: false, taskId: job.id, status: job.status.toLowerCase(), ...(pending ? { poll_url: pending.poll_url } : {}) };
    }),
  );
}
