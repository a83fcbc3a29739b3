import { serverOrigin } from '../comfy/comfy.server-url.ts';
import { creditsOnce } from '../providers/credits.single-flight.ts';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { flushUnique } from '../db/unique.flush.ts';
import type { Redis } from 'ioredis';
import stringify from 'safe-stable-stringify';
import { z } from 'zod';
import type { Config } from '../config/config.ts';
import { loadOrCreateSecret } from '../config/secrets.ts';
import { type AlertKind, PROVIDER_TYPES, Provider, ProviderAlert, ProviderAttempt, type ProviderType } from '../db/entities/provider.entity.ts';
import type { ProviderAlertEvent, PubSub } from '../pubsub/pubsub.ts';
import { GenerationCache, type CacheStats } from '../providers/provider.cache.ts';
import { KeySealer, maskKey } from '../providers/provider.crypto.ts';
import { CircuitBreaker, ProviderRateLimits } from '../providers/provider.guards.ts';
import { providerSlug } from '../providers/provider.batch.ts';
import { ADAPTERS, featureOf, missingParams, parseRoutingRules, type Route, route, type RoutingRule } from '../providers/provider.routing.ts';
import type { AdapterContext, ProviderRequest } from '../providers/provider.types.ts';
import { type Actor, isAdmin } from './actor.ts';
import { AppError, badInput, notFound, unauthenticated } from './errors.ts';
import { generateImageInput, type ImageJobInput } from './generation.inputs.ts';
import { isUuid, parseInput } from './validation.ts';

const jsonObject = z.record(z.string(), z.unknown());

/** Per-provider settings: prices per model or feature, and where webhooks go; other keys pass to the adapter. */
const providerConfig = z.looseObject({
  prices: z.record(z.string(), z.number().min(0).max(1000)).optional(),
  webhook_url: z.url({ protocol: /^https?$/ }).optional(),
  webhook_secret: z.string().min(8).max(256).optional(),
});

const providerFields = {
  config: providerConfig.nullish(),
  isDefault: z.boolean().nullish(),
  isActive: z.boolean().nullish(),
  costPerImage: z.number().min(0).max(100).nullish(),
  rateLimitRpm: z.number().int().min(1).max(100_000).nullish(),
  priority: z.number().int().min(0).max(10_000).nullish(),
  // The same rules as ComfyUI servers: no link-local / metadata hosts, trailing dots or not, no credentials.
  baseUrl: z.url({ protocol: /^https?$/ }).refine((url) => serverOrigin(url) !== null, 'must be an http(s) URL of an allowed host').nullish(),
};
const slug = z.string().trim().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be lower-case letters, digits, "_" or "-"');
const configureInput = z.object({
  type: z.enum(PROVIDER_TYPES),
  name: z.string().trim().min(1).max(128),
  /** Defaults to the name in snake case ("PiAPI Default" → "piapi_default"). */
  slug: slug.nullish(),
  apiKey: z.string().trim().min(1, 'must not be empty').max(1024),
  ...providerFields,
});
const updateInput = z.object({ name: z.string().trim().min(1).max(128).nullish(), apiKey: z.string().trim().min(1).max(1024).nullish(), ...providerFields });
export type ConfigureProviderInput = z.input<typeof configureInput>;
export type UpdateProviderInput = z.input<typeof updateInput>;

/** Headline prices from the service document, used when an admin gives none. */
const DEFAULT_COST_PER_IMAGE: Record<ProviderType, number> = { OPENAI: 0.02, PIAPI: 0.009, STABLE_DIFFUSION: 0.0067 };
const DEFAULT_RPM: Record<ProviderType, number | null> = { OPENAI: null, PIAPI: null, STABLE_DIFFUSION: 180 };

export const COST_GROUPS = ['PROVIDER', 'USER', 'DAY', 'KIND'] as const;
export type CostGroup = (typeof COST_GROUPS)[number];

export interface CostRow {
  key: string;
  count: number;
  totalCost: number;
  averageGenerationMs: number | null;
}

export interface ProviderPerformance {
  providerId: string;
  hours: number;
  attempts: number;
  successes: number;
  successRate: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  cost: number;
  jobs: number;
}

export interface ProviderCredits {
  credits: number | null;
  hasCredits: boolean;
  checkedAt: Date | null;
}

export type ProviderHealth = 'OK' | 'COOLING_DOWN' | 'NO_CREDITS' | 'INACTIVE';

/** The route a provider job takes, decided at submission and stored in the job's input. */
export interface StoredRoute extends Route {
  /** Identical requests (seed given) share this key in the generation cache; null when not cacheable. */
  cacheKey: string | null;
}

export const toProviderRequest = (input: ImageJobInput, model: string | null): ProviderRequest => {
  const extraParams = input.extraParams ?? {};
  return {
    prompt: input.prompt,
    negativePrompt: input.negativePrompt,
    width: input.width,
    height: input.height,
    steps: input.steps,
    guidance: input.guidance,
    seed: input.seed,
    numImages: input.numImages,
    style: input.style,
    feature: featureOf(extraParams),
    model,
    extraParams,
  };
};

async function configureProvider(em: EntityManager, sealer: KeySealer, raw: ConfigureProviderInput): Promise<Provider> {
  const input = parseInput(configureInput, raw);
  if (await em.count(Provider, { name: input.name })) throw badInput(`A provider named "${input.name}" exists`, { field: 'name' });
  const id = input.slug ?? providerSlug(input.name);
  if (isUuid(id) || (await em.count(Provider, { slug: id }))) throw badInput(`A provider with id "${id}" exists`, { field: 'slug' });
  const provider = em.create(Provider, {
    type: input.type,
    name: input.name,
    slug: id,
    apiKeyEncrypted: sealer.seal(input.apiKey),
    apiKeyHint: maskKey(input.apiKey),
    config: input.config ?? {},
    isDefault: input.isDefault ?? false,
    isActive: input.isActive ?? true,
    costPerImage: input.costPerImage ?? DEFAULT_COST_PER_IMAGE[input.type],
    rateLimitRpm: input.rateLimitRpm ?? DEFAULT_RPM[input.type],
    priority: input.priority ?? 100,
    baseUrl: input.baseUrl ?? null,
  });
  if (provider.isDefault) await em.nativeUpdate(Provider, { isDefault: true }, { isDefault: false });
  await flushUnique(em, () => badInput(`A provider named "${input.name}" exists`, { field: 'name' }));
  return provider;
}

/**
 * First start: providers from OPENAI_API_KEY, PIAPI_API_KEY and STABLE_DIFFUSION_API_KEY, for each type
 * that has none yet — OpenAI the default, PiAPI the first fallback, Stable Diffusion the second.
 */
export async function bootstrapProviders(em: EntityManager, config: Config, keySecret: string): Promise<string[]> {
  const sealer = new KeySealer(keySecret);
  // The document's ids: openai_default, piapi_default, stable_diffusion_default.
  const keys: [ProviderType, string | undefined, string | undefined, string, string, number][] = [
    // OpenAI's SDK takes OPENAI_BASE_URL with its /v1; the adapter adds that itself.
    ['OPENAI', config.OPENAI_API_KEY, config.OPENAI_BASE_URL?.replace(/\/v1\/?$/, ''), 'OpenAI Default', 'openai_default', 0],
    ['PIAPI', config.PIAPI_API_KEY, config.PIAPI_BASE_URL, 'PiAPI Default', 'piapi_default', 10],
    ['STABLE_DIFFUSION', config.STABLE_DIFFUSION_API_KEY, config.STABLE_DIFFUSION_BASE_URL, 'Stable Diffusion Default', 'stable_diffusion_default', 20],
  ];
  const created: string[] = [];
  for (const [type, apiKey, baseUrl, name, slug, priority] of keys) {
    if (!apiKey || (await em.count(Provider, { type }))) continue;
    const hasDefault = (await em.count(Provider, { isDefault: true })) > 0;
    created.push((await configureProvider(em, sealer, { type, name, slug, apiKey, priority, baseUrl, isDefault: !hasDefault })).name);
  }
  return created;
}

/** The secret that seals provider keys: PROVIDER_KEY_SECRET, else one generated once under DATA_DIR. */
export const providerKeySecret = (config: Config) => config.PROVIDER_KEY_SECRET ?? loadOrCreateSecret(config.dataDir, 'provider-keys.secret');

/**
 * Paid image providers: the admin's accounts (keys sealed at rest), routing at submission, credits,
 * alerts, and the reports. The worker side (calls, fallback) is in providers/provider.runner.ts.
 */
export class ProviderService {
  private readonly lastCredits = new Map<string, { credits: number | null; checkedAt: Date }>();
  readonly config: Config;
  readonly cache: GenerationCache;
  readonly breaker: CircuitBreaker;
  readonly rateLimits: ProviderRateLimits;
  private readonly redis: Redis;
  private readonly pubsub: PubSub;
  private readonly keySecret: () => string;
  private sealerOnce: KeySealer | undefined;
  private readonly rules: RoutingRule[];

  /** `keySecret` is read on first use, so a process that never touches a key never creates the secret. */
  constructor(deps: { config: Config; redis: Redis; pubsub: PubSub; keySecret: () => string }) {
    this.config = deps.config;
    this.redis = deps.redis;
    this.pubsub = deps.pubsub;
    this.keySecret = deps.keySecret;
    this.rules = parseRoutingRules(deps.config.PROVIDER_ROUTING_RULES);
    const prefix = deps.config.QUEUE_PREFIX;
    this.cache = new GenerationCache({
      redis: deps.redis,
      prefix,
      dir: `${deps.config.dataDir}/cache/providers`,
      ttlMs: deps.config.BATCH_CACHE_TTL_HOURS * 3_600_000,
      maxMemoryItems: deps.config.BATCH_CACHE_MAX_MEMORY_ITEMS,
    });
    this.breaker = new CircuitBreaker({
      redis: deps.redis,
      prefix,
      threshold: deps.config.PROVIDER_BREAKER_THRESHOLD,
      cooldownMs: deps.config.PROVIDER_BREAKER_COOLDOWN_SECONDS * 1000,
    });
    this.rateLimits = new ProviderRateLimits({ redis: deps.redis, prefix });
  }

  private get sealer(): KeySealer {
    this.sealerOnce ??= new KeySealer(this.keySecret());
    return this.sealerOnce;
  }

  /* ---- admin ---- */

  configure(em: EntityManager, raw: ConfigureProviderInput): Promise<Provider> {
    return configureProvider(em, this.sealer, raw);
  }

  async update(em: EntityManager, id: string, raw: UpdateProviderInput): Promise<Provider> {
    const input = parseInput(updateInput, raw);
    const provider = await this.get(em, id);
    if (input.name && input.name !== provider.name && (await em.count(Provider, { name: input.name }))) {
      throw badInput(`A provider named "${input.name}" exists`, { field: 'name' });
    }
    if (input.apiKey) Object.assign(provider, { apiKeyEncrypted: this.sealer.seal(input.apiKey), apiKeyHint: maskKey(input.apiKey), creditsCheckedAt: null });
    const { apiKey: _key, ...rest } = input;
    for (const [field, value] of Object.entries(rest)) if (value !== undefined && value !== null) Object.assign(provider, { [field]: value });
    if (input.isDefault) await em.nativeUpdate(Provider, { isDefault: true, id: { $ne: provider.id } }, { isDefault: false });
    await flushUnique(em, () => badInput(`A provider named "${input.name}" exists`, { field: 'name' }));
    return provider;
  }

  async deactivate(em: EntityManager, id: string): Promise<Provider> {
    return this.update(em, id, { isActive: false });
  }

  async delete(em: EntityManager, id: string): Promise<boolean> {
    const provider = await this.get(em, id);
    await em.remove(provider).flush();
    return true;
  }

  /** A provider by uuid, slug ("piapi_default"), name, or type ("openai": the preferred active one of that type). */
  async get(em: EntityManager, id: string): Promise<Provider> {
    const provider = isUuid(id) ? await em.findOne(Provider, { id }) : ((await em.findOne(Provider, { $or: [{ slug: id }, { name: id }] })) ?? (await this.ofType(em, id)));
    if (!provider) throw notFound('Provider', id);
    return provider;
  }

  private async ofType(em: EntityManager, ref: string): Promise<Provider | null> {
    const type = ref.toUpperCase().replace(/[^A-Z]+/g, '_');
    if (!(PROVIDER_TYPES as readonly string[]).includes(type)) return null;
    const [first] = await em.find(Provider, { type: type as ProviderType }, { orderBy: { isActive: 'desc', isDefault: 'desc', priority: 'asc', name: 'asc' }, limit: 1 });
    return first ?? null;
  }

  /** Whether any provider is active: the image service's requests without provider_id then go to the providers. */
  async anyActive(em: EntityManager): Promise<boolean> {
    return (await em.count(Provider, { isActive: true })) > 0;
  }

  list(em: EntityManager): Promise<Provider[]> {
    return em.find(Provider, {}, { orderBy: { isDefault: 'desc', priority: 'asc', name: 'asc' } });
  }

  async health(provider: Provider): Promise<ProviderHealth> {
    if (!provider.isActive) return 'INACTIVE';
    if (await this.breaker.isOpen(provider.id)) return 'COOLING_DOWN';
    if (provider.creditsRemaining !== null && provider.creditsRemaining !== undefined && provider.creditsRemaining <= 0) return 'NO_CREDITS';
    return 'OK';
  }

  private openKey(provider: Provider): string {
    try {
      return this.sealer.open(provider.apiKeyEncrypted);
    } catch {
      throw new AppError('SERVICE_UNAVAILABLE', `The API key of provider "${provider.name}" cannot be decrypted (was PROVIDER_KEY_SECRET changed?); set it again with updateProvider`);
    }
  }

  /** Everything an adapter needs to call this provider; the only place a key is opened. */
  adapterContext(provider: Provider, signal: AbortSignal): AdapterContext {
    return {
      baseUrl: provider.baseUrl ?? ADAPTERS[provider.type].defaultBaseUrl,
      apiKey: this.openKey(provider),
      config: provider.config ?? {},
      signal,
      timeoutMs: this.config.PROVIDER_REQUEST_TIMEOUT_MS,
      pollIntervalMs: this.config.PROVIDER_POLL_INTERVAL_MS,
      waitForTask: (taskId, ms) => this.waitForTask(taskId, ms, signal),
    };
  }

  /* ---- webhooks ---- */

  /** Resolves with the task a provider's webhook brought for `taskId` within `ms`, else null. */
  private async waitForTask(taskId: string, ms: number, signal: AbortSignal): Promise<Record<string, unknown> | null> {
    const notices = await this.pubsub.subscribe('providerTask', taskId);
    const timeout = AbortSignal.any([AbortSignal.timeout(ms), signal]);
    const stop = () => void notices.return?.();
    timeout.addEventListener('abort', stop, { once: true });
    try {
      const step = await notices.next();
      return step.done ? null : step.value.data;
    } finally {
      timeout.removeEventListener('abort', stop);
      await notices.return?.();
    }
  }

  /**
   * A PiAPI webhook (`config.webhook_url` set on the provider): accepted only with the `x-webhook-secret` of an
   * active PiAPI provider (`config.webhook_secret`), then handed to whichever worker polls that task.
   */
  async acceptPiApiWebhook(em: EntityManager, secret: string | undefined, body: unknown): Promise<{ taskId: string }> {
    const providers = await em.find(Provider, { type: 'PIAPI', isActive: true });
    const given = Buffer.from(secret ?? '');
    const known = providers.some((p) => {
      const expected = Buffer.from(typeof p.config?.webhook_secret === 'string' ? p.config.webhook_secret : '');
      return expected.length > 0 && expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!known) throw unauthenticated('Unknown webhook secret');
    const data = (body as { data?: Record<string, unknown> } | null)?.data;
    const taskId = typeof data?.task_id === 'string' ? data.task_id : null;
    if (!data || !taskId) throw badInput('A PiAPI webhook carries { timestamp, data: { task_id, status, … } }', { field: 'data.task_id' });
    await this.pubsub.publish('providerTask', taskId, { taskId, data });
    return { taskId };
  }

  prices(provider: Provider): Record<string, number> {
    const prices = provider.config?.prices;
    return prices && typeof prices === 'object' ? (prices as Record<string, number>) : {};
  }

  /* ---- routing ---- */

  /** Picks the provider chain for an image request; a request no active provider can serve is refused now. */
  async routeImage(em: EntityManager, input: ImageJobInput, seedGiven: boolean): Promise<StoredRoute> {
    const extra = input.extraParams ?? {};
    const feature = featureOf(extra);
    const missing = missingParams(feature, extra);
    if (missing.length) throw badInput(`A ${feature} request needs ${missing.join(' and ')}`, { field: 'extraParams' });
    const active = await em.find(Provider, { isActive: true });
    let askedId: string | null = null;
    if (input.providerId) {
      const ref = input.providerId;
      const byType = ref.toUpperCase().replace(/[^A-Z]+/g, '_');
      const asked =
        active.find((p) => p.id === ref || p.slug === ref || p.name === ref) ??
        active.filter((p) => p.type === byType).sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || a.priority - b.priority)[0];
      if (!asked) throw badInput(`No active provider "${input.providerId}"`, { field: 'providerId' });
      if (!ADAPTERS[asked.type].features.includes(feature)) throw badInput(`Provider "${asked.name}" cannot do ${feature}`, { field: 'providerId' });
      askedId = asked.id;
    }
    const model = typeof extra.model === 'string' ? extra.model : typeof extra.service === 'string' ? extra.service : null;
    const chosen = route(
      { feature, style: input.style, providerId: askedId, model },
      active.map((p) => ({ id: p.id, name: p.name, type: p.type, isDefault: p.isDefault, priority: p.priority, costPerImage: Number(p.costPerImage) })),
      this.rules,
    );
    if (!chosen.chain.length) {
      throw badInput(active.length ? `No active provider can do ${feature}` : 'No provider is configured: an admin must call configureProvider first', { field: 'providerId' });
    }
    const cacheKey = seedGiven ? this.cacheKeyOf(input, chosen) : null;
    return { ...chosen, cacheKey };
  }

  private cacheKeyOf(input: ImageJobInput, chosen: Route): string {
    const normalised = {
      prompt: input.prompt.replace(/\s+/g, ' ').trim(),
      negativePrompt: input.negativePrompt?.replace(/\s+/g, ' ').trim() ?? null,
      size: [input.width, input.height],
      steps: input.steps,
      guidance: input.guidance,
      seed: input.seed,
      numImages: input.numImages,
      style: input.style?.toLowerCase() ?? null,
      extraParams: input.extraParams ?? {},
      route: chosen.chain.map((s) => [s.providerId, s.model]),
    };
    return createHash('sha256').update(stringify(normalised)).digest('hex');
  }

  async estimateCost(em: EntityManager, raw: unknown): Promise<{ estimatedCost: number; providerId: string; providerSlug: string; providerName: string; numImages: number }> {
    const request = parseInput(generateImageInput, raw);
    const input: ImageJobInput = {
      prompt: request.prompt,
      negativePrompt: request.negativePrompt ?? null,
      width: request.width,
      height: request.height,
      steps: request.steps,
      guidance: request.guidance,
      seed: 0,
      numImages: request.numImages,
      style: request.style ?? null,
      providerId: request.providerId ?? null,
      extraParams: request.extraParams ?? null,
      characterId: null,
      projectId: null,
    };
    const chosen = await this.routeImage(em, input, false);
    const first = chosen.chain[0]!;
    const provider = await this.get(em, first.providerId);
    const adapter = ADAPTERS[provider.type];
    const plan = adapter.plan(toProviderRequest(input, first.model));
    const billed = plan.model === 'midjourney' ? 1 : plan.numImages;
    const vision = chosen.feature === 'vision' ? 0.01 + 0.005 * (Array.isArray(input.extraParams?.input_images) ? input.extraParams.input_images.length : 0) : 0;
    const estimatedCost = adapter.pricePerImage(plan, this.prices(provider)) * billed + vision;
    return { estimatedCost: Math.round(estimatedCost * 1e6) / 1e6, providerId: provider.id, providerSlug: provider.slug, providerName: provider.name, numImages: input.numImages };
  }

  /* ---- credits ---- */

  /** Credits from the provider's own API, at most once per PROVIDER_CREDITS_TTL_SECONDS unless forced. */
  async credits(em: EntityManager, provider: Provider, force = false): Promise<ProviderCredits> {
    // A row read before another request's check landed still says "stale": this process's last check wins then.
    const known = this.lastCredits.get(provider.id);
    if (known && (!provider.creditsCheckedAt || known.checkedAt > provider.creditsCheckedAt)) {
      Object.assign(provider, { creditsRemaining: known.credits, creditsCheckedAt: known.checkedAt });
    }
    const fresh = provider.creditsCheckedAt && Date.now() - provider.creditsCheckedAt.getTime() < this.config.PROVIDER_CREDITS_TTL_SECONDS * 1000;
    // Callers arriving while a check runs share it (src/providers/credits.single-flight.ts).
    if (!force && !fresh) return creditsOnce(provider.id, () => this.credits(em, provider, true));
    if (force || !fresh) {
      const previous = provider.creditsRemaining ?? null;
      let credits: number | null;
      try {
        credits = await ADAPTERS[provider.type].credits(this.adapterContext(provider, AbortSignal.timeout(10_000)));
      } catch {
        // An unreachable credits API says nothing about the balance; keep the last figure.
        return this.creditsView(provider);
      }
      const checkedAt = new Date();
      await em.nativeUpdate(Provider, { id: provider.id }, { creditsRemaining: credits, creditsCheckedAt: checkedAt });
      Object.assign(provider, { creditsRemaining: credits, creditsCheckedAt: checkedAt });
      this.lastCredits.set(provider.id, { credits, checkedAt });
      if (credits !== null && credits <= 0) {
        await this.raiseAlert(em, 'CREDITS_EXHAUSTED', provider, `${provider.name} has no credits left`, { credits });
      } else if (credits !== null && previous !== null && previous > 0 && credits < previous * 0.1) {
        await this.raiseAlert(em, 'LOW_CREDITS', provider, `${provider.name} credits fell below 10% of the last check (${credits} of ${previous})`, { credits, previous });
      }
    }
    return this.creditsView(provider);
  }

  private creditsView(provider: Provider): ProviderCredits {
    const credits = provider.creditsRemaining ?? null;
    return { credits, hasCredits: credits === null || credits > 0, checkedAt: provider.creditsCheckedAt ?? null };
  }

  /* ---- alerts ---- */

  /** Stores and publishes an alert, at most once per kind and provider in `quietSeconds`. */
  async raiseAlert(em: EntityManager, kind: AlertKind, provider: Provider | null, message: string, data: Record<string, unknown> | null = null, quietSeconds = 600) {
    const gate = `${this.config.QUEUE_PREFIX}:provider-alert:${kind}:${provider?.id ?? 'all'}`;
    if ((await this.redis.set(gate, '1', 'EX', quietSeconds, 'NX')) !== 'OK') return;
    // A fork of its own: the caller's unit of work (a running job's) is not flushed along.
    const fork = em.fork();
    const alert = fork.create(ProviderAlert, { kind, provider: provider ? fork.getReference(Provider, provider.id) : null, message, data });
    await fork.flush();
    await this.pubsub.publish('providerAlerts', undefined, this.alertEvent(alert, provider?.name ?? null)).catch(() => undefined);
  }

  alertEvent(alert: ProviderAlert, providerName: string | null): ProviderAlertEvent {
    return { id: alert.id, kind: alert.kind, providerId: alert.provider?.id ?? null, providerName, message: alert.message, data: alert.data ?? null, at: alert.at.toISOString() };
  }

  async alerts(em: EntityManager, since: Date | null, limit = 100): Promise<ProviderAlertEvent[]> {
    const rows = await em.find(ProviderAlert, since ? { at: { $gte: since } } : {}, { orderBy: { at: 'desc' }, limit: Math.min(500, limit), populate: ['provider'] });
    return rows.map((a) => this.alertEvent(a, a.provider?.name ?? null));
  }

  watchAlerts() {
    return this.pubsub.subscribe('providerAlerts');
  }

  /** After an attempt: a failure rate above ALERT_HIGH_FAILURE_RATE or slow answers over the last hour raise alerts. */
  async checkPerformance(em: EntityManager, provider: Provider): Promise<void> {
    const perf = await this.performance(em, provider.id, 1);
    if (perf.attempts >= 5 && 1 - perf.successRate > this.config.ALERT_HIGH_FAILURE_RATE) {
      await this.raiseAlert(em, 'HIGH_FAILURE_RATE', provider, `${provider.name} failed ${Math.round((1 - perf.successRate) * 100)}% of calls in the last hour`, { successRate: perf.successRate, attempts: perf.attempts });
    }
    const [avg] = await em.getConnection().execute<{ avg_ms: number | null }[]>(
      `select avg(latency_ms)::float as avg_ms from provider_attempts where provider_id = ? and outcome = 'SUCCESS' and at >= now() - interval '1 hour'`,
      [provider.id],
    );
    if (avg?.avg_ms && avg.avg_ms > this.config.ALERT_SLOW_RESPONSE_TIME * 1000) {
      await this.raiseAlert(em, 'SLOW_RESPONSE', provider, `${provider.name} answers in ${Math.round(avg.avg_ms / 100) / 10} s on average`, { averageMs: avg.avg_ms });
    }
  }

  /* ---- reports ---- */

  async performance(em: EntityManager, id: string, hours: number): Promise<ProviderPerformance> {
    if (!(hours > 0 && hours <= 24 * 90)) throw badInput('hours must be between 1 and 2160', { field: 'hours' });
    const provider = await this.get(em, id);
    const [row] = await em.getConnection().execute<{ attempts: number; successes: number; p50: number | null; p95: number | null; cost: number; jobs: number }[]>(
      `select count(*)::int as attempts,
              count(*) filter (where outcome = 'SUCCESS')::int as successes,
              percentile_cont(0.5) within group (order by latency_ms) filter (where outcome = 'SUCCESS') as p50,
              percentile_cont(0.95) within group (order by latency_ms) filter (where outcome = 'SUCCESS') as p95,
              coalesce(sum(cost), 0)::float as cost,
              count(distinct job_id)::int as jobs
         from provider_attempts
        where provider_id = ? and at >= now() - make_interval(secs => ?) and outcome not like 'SKIPPED%' and outcome <> 'CACHED'`,
      [provider.id, hours * 3600],
    );
    const attempts = row?.attempts ?? 0;
    return {
      providerId: provider.id,
      hours,
      attempts,
      successes: row?.successes ?? 0,
      successRate: attempts ? (row!.successes ?? 0) / attempts : 1,
      p50LatencyMs: row?.p50 ?? null,
      p95LatencyMs: row?.p95 ?? null,
      cost: row?.cost ?? 0,
      jobs: row?.jobs ?? 0,
    };
  }

  /** The document's 30-day cost report, grouped as asked; people see their own jobs, admins everyone's. */
  async costs(em: EntityManager, actor: Actor, groupBy: CostGroup, from: Date | null, to: Date | null): Promise<CostRow[]> {
    const end = to ?? new Date();
    const start = from ?? new Date(end.getTime() - 30 * 86_400_000);
    if (start >= end) throw badInput('from must be before to', { field: 'from' });
    const own = isAdmin(actor) ? '' : 'and j.owner_id = ?';
    const params: unknown[] = [start, end, ...(isAdmin(actor) ? [] : [actor.userId])];
    const conn = em.getConnection();
    if (groupBy === 'PROVIDER') {
      const rows = await conn.execute<{ key: string; count: number; total: number; avg_ms: number | null }[]>(
        `select pa.provider_name as key,
                count(distinct pa.job_id) filter (where pa.outcome in ('SUCCESS', 'CACHED'))::int as count,
                coalesce(sum(pa.cost), 0)::float as total,
                avg(pa.latency_ms) filter (where pa.outcome = 'SUCCESS')::float as avg_ms
           from provider_attempts pa join jobs j on j.id = pa.job_id
          where j.created_at >= ? and j.created_at < ? ${own}
          group by pa.provider_name order by total desc, key`,
        params,
      );
      return rows.map((r) => ({ key: r.key, count: r.count, totalCost: r.total, averageGenerationMs: r.avg_ms }));
    }
    const key = { USER: 'u.username', DAY: `to_char(date_trunc('day', j.created_at), 'YYYY-MM-DD')`, KIND: 'j.kind' }[groupBy];
    const rows = await conn.execute<{ key: string; count: number; total: number; avg_ms: number | null }[]>(
      `select ${key} as key, count(*)::int as count, coalesce(sum(j.cost), 0)::float as total,
              avg(extract(epoch from (j.finished_at - j.started_at)) * 1000) filter (where j.status = 'COMPLETED')::float as avg_ms
         from jobs j join users u on u.id = j.owner_id
        where j.created_at >= ? and j.created_at < ? ${own}
        group by 1 order by 1`,
      params,
    );
    return rows.map((r) => ({ key: r.key, count: r.count, totalCost: r.total, averageGenerationMs: r.avg_ms }));
  }

  cacheStats(): Promise<CacheStats> {
    return this.cache.stats();
  }

  /** The attempts of some jobs, in order. */
  attempts(em: EntityManager, jobIds: string | string[]): Promise<ProviderAttempt[]> {
    return em.find(ProviderAttempt, { job: { $in: ([] as string[]).concat(jobIds) } }, { orderBy: { id: 'asc' } });
  }
}
