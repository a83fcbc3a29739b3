import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Core } from '../src/core.ts';
import type { GenerateImageInput } from '../src/services/generation.inputs.ts';
import type { Batch } from '../src/db/entities/batch.entity.ts';
import { Job } from '../src/db/entities/job.entity.ts';
import type { Provider } from '../src/db/entities/provider.entity.ts';
import { type Actor, isAdmin } from '../src/services/actor.ts';
import { forbidden } from '../src/services/errors.ts';
import { absoluteUrl } from '../src/services/public-url.ts';
import { isoSeconds, withActor } from './compat.common.ts';
import {
  batchParams001,
  batchRequest001,
  configureProvider001,
  imageRequest001,
  performanceQuery001,
  providerParams001,
  toImageInput001,
} from './image-service.contract.ts';
import { contract, toJsonSchema } from './rest.contract.ts';
import { familyDoc } from './rest.route.ts';
import { restBatch } from './rest.submission.ts';

const family = 'image-service' as const;
const tags = ['Image service (001)'];
const doc = familyDoc(family, tags, 'bearer');

const requireAdmin = (actor: Actor) => {
  if (!isAdmin(actor)) throw forbidden('Admins only');
};

const providerAnswer = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(['openai', 'piapi', 'stable_diffusion']),
  is_active: z.boolean(),
  is_default: z.boolean(),
  cost_per_image: z.number(),
  credits_remaining: z.number().nullable(),
});

/** The document's ids are the providers' slugs ("openai_default"); the uuid still finds them too. */
const providerView = (provider: Provider): z.output<typeof providerAnswer> => ({
  id: provider.slug,
  name: provider.name,
  type: provider.type.toLowerCase() as z.output<typeof providerAnswer>['type'],
  is_active: provider.isActive,
  is_default: provider.isDefault,
  cost_per_image: Number(provider.costPerImage),
  credits_remaining: provider.creditsRemaining == null ? null : Number(provider.creditsRemaining),
});

const batchAnswer = z.looseObject({
  job_id: z.string(),
  batch_id: z.string(),
  status: z.string(),
  total: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  progress: z.number(),
  cost: z.number(),
  created_at: z.string(),
  results: z.array(z.object({ task_id: z.string(), status: z.string(), image_urls: z.array(z.string()), cost: z.number(), error: z.string().nullable() })),
});

async function batchView(core: Core, em: EntityManager, batch: Batch) {
  const progress = await core.jobs.batchProgress(em, batch);
  const jobs = await em.find(Job, { batch: batch.id }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  return {
    job_id: batch.id,
    batch_id: batch.id,
    status: progress.status.toLowerCase(),
    total: progress.total,
    queued: progress.queued,
    processing: progress.processing,
    completed: progress.completed,
    failed: progress.failed,
    cancelled: progress.cancelled,
    progress: progress.progress,
    cost: progress.cost,
    metadata: batch.metadata ?? null,
    created_at: isoSeconds(batch.createdAt),
    results: jobs.map((job) => ({
      task_id: job.id,
      status: job.status.toLowerCase(),
      image_urls: (job.result?.urls ?? []).map((u) => absoluteUrl(u)),
      cost: Number(job.cost ?? 0),
      error: job.errorMessage ?? null,
    })),
  };
}

/** Document 001's routes under /api/v1/images (its generate route is shared with 003; see video-platform.routes.ts). */
export function registerImageServiceRoutes(app: FastifyInstance, core: Core) {
  const batchBody = contract('ImageServiceBatch', batchRequest001);
  const submitBatch = withActor(core, async (em, actor, request) => {
    const body = request.body as z.output<typeof batchRequest001>;
    const requests: GenerateImageInput[] = [];
    for (const r of body.requests) requests.push(await toImageInput001(core, em, r, body.provider_id));
    const batch = await restBatch(core, em, actor, request, () => core.jobs.createBatch(em, actor, { requests, priority: body.priority, metadata: body.metadata }));
    return batchView(core, em, batch);
  });
  const batchOk = toJsonSchema(batchAnswer, 'output');
  app.post(
    '/api/v1/images/batch-generate',
    { config: { family, rateLimit: 'generateImage' }, schema: doc('imageServiceBatchGenerate', 'Queue several images at once (default provider route when no provider_id)', { body: batchBody, ok: batchOk }) },
    submitBatch,
  );
  app.post('/api/v1/images/batch', { config: { family, rateLimit: 'generateImage' }, schema: doc('imageServiceBatch', 'Queue a batch job', { body: batchBody, ok: batchOk }) }, submitBatch);

  app.get(
    '/api/v1/images/batch/:job_id',
    { config: { family }, schema: doc('imageServiceBatchStatus', "A batch's progress, cost and images", { params: contract('ImageServiceBatchParams', batchParams001), ok: batchOk, errors: [404] }) },
    withActor(core, async (em, actor, request) => batchView(core, em, await core.jobs.getBatch(em, actor, (request.params as { job_id: string }).job_id))),
  );

  app.get(
    '/api/v1/images/providers',
    { config: { family }, schema: doc('imageServiceProviders', 'The configured providers', { ok: toJsonSchema(z.array(providerAnswer), 'output') }) },
    withActor(core, async (em) => (await core.providers.list(em)).map(providerView)),
  );

  app.post(
    '/api/v1/images/providers',
    {
      config: { family },
      schema: doc('imageServiceConfigureProvider', 'Configure a provider (admins)', { body: contract('ImageServiceConfigureProvider', configureProvider001), ok: toJsonSchema(providerAnswer, 'output'), errors: [409] }),
    },
    withActor(core, async (em, actor, request) => {
      requireAdmin(actor);
      const body = request.body as z.output<typeof configureProvider001>;
      const provider = await core.providers.configure(em, {
        type: body.provider_type.toUpperCase() as Provider['type'],
        name: body.name,
        slug: body.id,
        apiKey: body.api_key,
        config: body.config,
        isDefault: body.is_default,
        costPerImage: body.cost_per_image,
        baseUrl: body.base_url,
      });
      return providerView(provider);
    }),
  );

  const providerParams = contract('ImageServiceProviderParams', providerParams001);
  app.get(
    '/api/v1/images/providers/:provider_id/credits',
    {
      config: { family },
      schema: doc('imageServiceProviderCredits', "A provider's remaining credits", {
        params: providerParams,
        ok: toJsonSchema(z.object({ provider_id: z.string(), credits: z.number().nullable(), has_credits: z.boolean() }), 'output'),
        errors: [404],
      }),
    },
    withActor(core, async (em, _actor, request) => {
      const provider = await core.providers.get(em, (request.params as { provider_id: string }).provider_id);
      // Within PROVIDER_CREDITS_TTL_SECONDS the last figure is the answer (one check per TTL for every caller).
      const credits = await core.providers.credits(em, provider);
      return { provider_id: provider.slug, credits: credits.credits, has_credits: credits.hasCredits };
    }),
  );

  app.post(
    '/api/v1/images/estimate-cost',
    {
      config: { family },
      schema: doc('imageServiceEstimateCost', 'What a request would cost on the provider it would go to', {
        body: contract('ImageServiceImageRequest', imageRequest001),
        ok: toJsonSchema(z.object({ estimated_cost: z.number(), provider_id: z.string(), num_images: z.number().int() }), 'output'),
      }),
    },
    withActor(core, async (em, _actor, request) => {
      const body = request.body as z.output<typeof imageRequest001>;
      const estimate = await core.providers.estimateCost(em, await toImageInput001(core, em, body));
      return { estimated_cost: estimate.estimatedCost, provider_id: estimate.providerSlug, num_images: estimate.numImages };
    }),
  );

  app.get(
    '/api/v1/images/metrics',
    {
      config: { family },
      schema: doc('imageServiceMetrics', 'Images, cost and generation time per provider over 30 days (yours; everyone’s for admins)', {
        ok: toJsonSchema(
          z.object({
            providers: z.array(z.object({ provider_id: z.string(), total_images: z.number().int(), total_cost: z.number(), avg_time: z.number().nullable() })),
            total_cost: z.number(),
            cache_hit_rate: z.number(),
          }),
          'output',
        ),
      }),
    },
    withActor(core, async (em, actor) => {
      const rows = await core.providers.costs(em, actor, 'PROVIDER', null, null);
      const cache = await core.providers.cacheStats();
      return {
        providers: rows.map((row) => ({
          provider_id: row.key,
          total_images: row.count,
          total_cost: row.totalCost,
          avg_time: row.averageGenerationMs === null ? null : row.averageGenerationMs / 1000,
        })),
        total_cost: rows.reduce((sum, row) => sum + row.totalCost, 0),
        cache_hit_rate: cache.hitRate,
      };
    }),
  );

  app.get(
    '/api/v1/images/cache/stats',
    {
      config: { family },
      schema: doc('imageServiceCacheStats', 'Image cache statistics (admins)', {
        ok: toJsonSchema(z.object({ hits: z.number().int(), misses: z.number().int(), hit_rate: z.number(), size: z.number().int() }), 'output'),
      }),
    },
    withActor(core, async (_em, actor) => {
      requireAdmin(actor);
      const stats = await core.providers.cacheStats();
      return { hits: stats.hits, misses: stats.misses, hit_rate: stats.hitRate, size: stats.size };
    }),
  );

  app.get(
    '/api/v1/images/providers/:provider_id/performance',
    {
      config: { family },
      schema: doc('imageServiceProviderPerformance', "A provider's success rate, latency and cost over the last hours (admins)", {
        params: providerParams,
        querystring: contract('ImageServicePerformanceQuery', performanceQuery001),
        ok: toJsonSchema(
          z.object({
            provider_id: z.string(),
            hours: z.number(),
            attempts: z.number().int(),
            successes: z.number().int(),
            success_rate: z.number(),
            p50_latency_ms: z.number().nullable(),
            p95_latency_ms: z.number().nullable(),
            cost: z.number(),
            jobs: z.number().int(),
          }),
          'output',
        ),
        errors: [404],
      }),
    },
    withActor(core, async (em, actor, request) => {
      requireAdmin(actor);
      const { hours } = request.query as z.output<typeof performanceQuery001>;
      const provider = await core.providers.get(em, (request.params as { provider_id: string }).provider_id);
      const perf = await core.providers.performance(em, provider.id, hours);
      return {
        provider_id: provider.slug,
        hours: perf.hours,
        attempts: perf.attempts,
        successes: perf.successes,
        success_rate: perf.successRate,
        p50_latency_ms: perf.p50LatencyMs,
        p95_latency_ms: perf.p95LatencyMs,
        cost: perf.cost,
        jobs: perf.jobs,
      };
    }),
  );

  app.get(
    '/api/v1/images/monitor/alerts',
    {
      config: { family },
      schema: doc('imageServiceAlerts', 'Recent alerts: credits, failures, slow providers, rate limits, large queues (admins)', {
        ok: toJsonSchema(
          z.object({
            alerts: z.array(
              z.object({
                id: z.string(),
                kind: z.string(),
                provider_id: z.string().nullable(),
                provider_name: z.string().nullable(),
                message: z.string(),
                data: z.record(z.string(), z.unknown()).nullable(),
                at: z.string(),
              }),
            ),
            count: z.number().int(),
          }),
          'output',
        ),
      }),
    },
    withActor(core, async (em, actor) => {
      requireAdmin(actor);
      const alerts = await core.providers.alerts(em, null);
      return {
        alerts: alerts.map((a) => ({ id: a.id, kind: a.kind.toLowerCase(), provider_id: a.providerId, provider_name: a.providerName, message: a.message, data: a.data, at: a.at })),
        count: alerts.length,
      };
    }),
  );
}
