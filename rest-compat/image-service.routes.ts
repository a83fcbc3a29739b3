import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import type { Batch } from '../src/db/entities/batch.entity.ts';
import { Job } from '../src/db/entities/job.entity.ts';
import type { Provider } from '../src/db/entities/provider.entity.ts';
import { type Actor, isAdmin } from '../src/services/actor.ts';
import { forbidden } from '../src/services/errors.ts';
import type { CompatFailure } from './compat.common.ts';
import { withActor } from './compat.common.ts';
import { restBatch } from './rest.submission.ts';

/** The image service document (001) is FastAPI: `{detail}`, plus Atelier's code. */
export function imageServiceError(failure: CompatFailure) {
  return { detail: failure.message, error_code: failure.code };
}

const family = 'image-service' as const;
const tags = ['Image service (001)'];
const security = [{ bearer: [] }];

const requireAdmin = (actor: Actor) => {
  if (!isAdmin(actor)) throw forbidden('Admins only');
};

const providerView = (provider: Provider) => ({
  id: provider.id,
  name: provider.name,
  type: provider.type.toLowerCase(),
  is_active: provider.isActive,
  is_default: provider.isDefault,
  cost_per_image: Number(provider.costPerImage),
  credits_remaining: provider.creditsRemaining == null ? null : Number(provider.creditsRemaining),
});

/** One of 001's image requests in the shape the job service takes. */
const imageRequest = (r: Record<string, any>, providerId?: string) => ({
  prompt: r.prompt,
  negativePrompt: r.negative_prompt,
  width: r.width,
  height: r.height,
  numImages: r.num_images,
  providerId: r.provider_id ?? providerId,
  style: r.style,
  guidance: r.guidance_scale,
  steps: r.steps ?? r.num_inference_steps,
  seed: r.seed,
  extraParams: r.extra_params,
});

const imageRequestSchema = {
  type: 'object',
  required: ['prompt'],
  additionalProperties: true,
  properties: {
    prompt: { type: 'string' },
    negative_prompt: { type: 'string' },
    width: { type: 'integer' },
    height: { type: 'integer' },
    num_images: { type: 'integer' },
    provider_id: { type: 'string' },
    style: { type: 'string' },
    guidance_scale: { type: 'number' },
    steps: { type: 'integer' },
    extra_params: { type: 'object', additionalProperties: true },
  },
};

const batchBody = {
  type: 'object',
  required: ['requests'],
  properties: {
    requests: { type: 'array', items: imageRequestSchema },
    provider_id: { type: 'string' },
    priority: { type: 'integer' },
    metadata: { type: 'object', additionalProperties: true },
  },
};

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
    created_at: batch.createdAt.toISOString(),
    results: jobs.map((job) => ({
      task_id: job.id,
      status: job.status.toLowerCase(),
      image_urls: job.result?.urls ?? [],
      cost: Number(job.cost ?? 0),
      error: job.errorMessage ?? null,
    })),
  };
}

/** Document 001's routes under /api/v1/images (its generate route is shared with 003; see video-platform.routes.ts). */
export function registerImageServiceRoutes(app: FastifyInstance, core: Core) {
  const submitBatch = withActor(core, async (em, actor, request) => {
    const body = request.body as { requests: Record<string, any>[]; provider_id?: string; priority?: number; metadata?: Record<string, unknown> };
    const batch = await restBatch(core, em, actor, request, () =>
      core.jobs.createBatch(em, actor, {
        requests: body.requests.map((r) => imageRequest(r, body.provider_id)),
        priority: body.priority,
        metadata: body.metadata,
      }),
    );
    return batchView(core, em, batch);
  });
  app.post('/api/v1/images/batch-generate', { config: { family, rateLimit: 'generateImage' }, schema: { tags, security, summary: 'Queue several images at once', body: batchBody } }, submitBatch);
  app.post('/api/v1/images/batch', { config: { family, rateLimit: 'generateImage' }, schema: { tags, security, summary: 'Queue a batch job', body: batchBody } }, submitBatch);

  app.get(
    '/api/v1/images/batch/:job_id',
    { config: { family }, schema: { tags, security, summary: "A batch's progress, cost and images" } },
    withActor(core, async (em, actor, request) => batchView(core, em, await core.jobs.getBatch(em, actor, (request.params as { job_id: string }).job_id))),
  );

  app.get(
    '/api/v1/images/providers',
    { config: { family }, schema: { tags, security, summary: 'The configured providers' } },
    withActor(core, async (em) => (await core.providers.list(em)).map(providerView)),
  );

  app.post(
    '/api/v1/images/providers',
    {
      config: { family },
      schema: {
        tags,
        security,
        summary: 'Configure a provider (admins)',
        body: {
          type: 'object',
          required: ['provider_type', 'name', 'api_key'],
          properties: {
            provider_type: { type: 'string', enum: ['openai', 'piapi', 'stable_diffusion'] },
            name: { type: 'string' },
            api_key: { type: 'string' },
            config: { type: 'object', additionalProperties: true },
            is_default: { type: 'boolean' },
            cost_per_image: { type: 'number' },
            base_url: { type: 'string' },
          },
        },
      },
    },
    withActor(core, async (em, actor, request) => {
      requireAdmin(actor);
      const body = request.body as Record<string, any>;
      const provider = await core.providers.configure(em, {
        type: String(body.provider_type).toUpperCase() as Provider['type'],
        name: body.name,
        apiKey: body.api_key,
        config: body.config,
        isDefault: body.is_default,
        costPerImage: body.cost_per_image,
        baseUrl: body.base_url,
      });
      return providerView(provider);
    }),
  );

  app.get(
    '/api/v1/images/providers/:provider_id/credits',
    { config: { family }, schema: { tags, security, summary: "A provider's remaining credits" } },
    withActor(core, async (em, _actor, request) => {
      const provider = await core.providers.get(em, (request.params as { provider_id: string }).provider_id);
      const credits = await core.providers.credits(em, provider, true);
      return { provider_id: (request.params as { provider_id: string }).provider_id, credits: credits.credits, has_credits: credits.hasCredits };
    }),
  );

  app.post(
    '/api/v1/images/estimate-cost',
    { config: { family }, schema: { tags, security, summary: 'What a request would cost', body: imageRequestSchema } },
    withActor(core, async (em, _actor, request) => {
      const body = request.body as Record<string, any>;
      const estimate = await core.providers.estimateCost(em, imageRequest(body));
      return { estimated_cost: estimate.estimatedCost, provider_id: body.provider_id ?? estimate.providerName, num_images: estimate.numImages };
    }),
  );

  app.get(
    '/api/v1/images/metrics',
    { config: { family }, schema: { tags, security, summary: 'Images, cost and generation time per provider over 30 days (yours; everyone’s for admins)' } },
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
    { config: { family }, schema: { tags, security, summary: 'Image cache statistics (admins)' } },
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
      schema: {
        tags,
        security,
        summary: "A provider's success rate, latency and cost over the last hours (admins)",
        querystring: { type: 'object', properties: { hours: { type: 'integer', minimum: 1, maximum: 720, default: 24 } } },
      },
    },
    withActor(core, async (em, actor, request) => {
      requireAdmin(actor);
      const { hours } = request.query as { hours: number };
      const perf = await core.providers.performance(em, (request.params as { provider_id: string }).provider_id, hours);
      return {
        provider_id: perf.providerId,
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
    { config: { family }, schema: { tags, security, summary: 'Recent provider alerts (admins)' } },
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
