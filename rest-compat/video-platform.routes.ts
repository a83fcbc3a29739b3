import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Core } from '../src/core.ts';
import { estimatedSeconds, isoSeconds, jobFiles, lowerStatus, resultMetadata, withActor } from './compat.common.ts';
import { toImageInput001 } from './image-service.contract.ts';
import { contract, toJsonSchema } from './rest.contract.ts';
import { routeSchema } from './rest.route.ts';
import { pendingFields, taskStatus, waitForResult } from './rest.wait.ts';
import { type ImageRequest, imageRequest, speaks003, toImageInput003, toVideoInput003, videoRequest003 } from './video-platform.contract.ts';
import { restJob } from './rest.submission.ts';

const family = 'video-platform' as const;

const imageAnswer = z.object({
  task_id: z.string(),
  status: taskStatus,
  estimated_time: z.number().int(),
  created_at: z.string(),
  success: z.boolean(),
  image_urls: z.array(z.string()),
  cost: z.number(),
  provider_id: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  ...pendingFields,
});

const videoAnswer = z.object({
  task_id: z.string(),
  status: z.string(),
  estimated_time: z.number().int(),
  created_at: z.string(),
  result: z.object({ output_path: z.string().nullable(), thumbnail: z.string().nullable() }).nullable(),
  ...pendingFields,
});

/**
 * Document 003 (and the shared POST /api/v1/images/generate of document 001): one superset answer. The request
 * waits for the images as long as its timeout allows (Prefer: respond-async returns at once, queued).
 */
export function registerVideoPlatformRoutes(app: FastifyInstance, core: Core) {
  app.post(
    '/api/v1/images/generate',
    {
      config: { family, rateLimit: 'generateImage' },
      schema: routeSchema({
        family,
        tags: ['Video platform (003)', 'Image service (001)'],
        operationId: 'generateImages',
        summary: 'Generate images; answers task fields (003) and image_urls/cost/metadata (001) together',
        access: 'bearer',
        body: contract('ImageRequest', imageRequest),
        ok: toJsonSchema(imageAnswer, 'output'),
        errors: [408, 500],
      }),
    },
    withActor(core, async (em, actor, request, reply) => {
      const body = request.body as ImageRequest;
      const input = speaks003(body) ? await toImageInput003(core, em, body) : await toImageInput001(core, em, body);
      const created = await restJob(core, em, actor, request, () => core.jobs.createImageJob(em, actor, input));
      const { job, pending } = await waitForResult(core, em, actor, created, request, reply, { waitByDefault: true, timeoutSeconds: body.timeout });
      const route = (job.input as { route?: { chain?: { providerName: string }[] } }).route;
      return {
        task_id: job.id,
        status: lowerStatus(job),
        estimated_time: await estimatedSeconds(core, em, job),
        created_at: isoSeconds(job.createdAt),
        success: job.status === 'COMPLETED',
        image_urls: jobFiles(job).urls,
        cost: Number(job.cost ?? 0),
        provider_id: (await providerSlugOf(core, em, job)) ?? route?.chain?.[0]?.providerName ?? null,
        metadata: { enhanced_prompt: null, analysis: null, vision_analysis: null, ...resultMetadata(job) },
        ...pending,
      };
    }),
  );

  app.post(
    '/api/v1/videos/generate',
    {
      config: { family, rateLimit: 'generateVideo' },
      schema: routeSchema({
        family,
        tags: ['Video platform (003)'],
        operationId: 'generateVideo',
        summary: 'Generate a video from scenes; answers at once with a task to poll (Prefer: wait=N waits)',
        access: 'bearer',
        body: contract('VideoPlatformVideoRequest', videoRequest003),
        ok: toJsonSchema(videoAnswer, 'output'),
        errors: [408, 500],
      }),
    },
    withActor(core, async (em, actor, request, reply) => {
      const body = request.body as z.output<typeof videoRequest003>;
      const created = await restJob(core, em, actor, request, async () => core.jobs.createVideoJob(em, actor, await toVideoInput003(core, em, body)));
      const { job, pending } = await waitForResult(core, em, actor, created, request, reply, { waitByDefault: false, timeoutSeconds: body.timeout });
      const files = jobFiles(job);
      return {
        task_id: job.id,
        status: lowerStatus(job),
        estimated_time: await estimatedSeconds(core, em, job),
        created_at: isoSeconds(job.createdAt),
        result: job.status === 'COMPLETED' ? { output_path: files.main, thumbnail: files.thumbnail } : null,
        ...pending,
      };
    }),
  );
}

/** The provider that made a job's images, by the slug 001's clients know it as. */
async function providerSlugOf(core: Core, em: Parameters<typeof core.providers.get>[0], job: { result?: unknown; input: unknown }) {
  const used = (job.result as { provider?: { id?: string } } | null)?.provider?.id ?? (job.input as { providerId?: string | null }).providerId;
  if (!used) return null;
  return core.providers.get(em, used).then(
    (provider) => provider.slug,
    () => used,
  );
}
