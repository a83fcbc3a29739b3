import DataLoader from 'dataloader';
import { ALERT_KINDS, ATTEMPT_OUTCOMES, PROVIDER_TYPES, type Provider, type ProviderAttempt } from '../src/db/entities/provider.entity.ts';
import type { ProviderAlertEvent } from '../src/pubsub/pubsub.ts';
import type { CacheStats } from '../src/providers/provider.cache.ts';
import { isAdmin } from '../src/services/actor.ts';
import { COST_GROUPS, type ConfigureProviderInput as ConfigureProviderArgs, type CostRow, type ProviderCredits, type ProviderPerformance, type UpdateProviderInput as UpdateProviderArgs } from '../src/services/provider.service.ts';
import { builder } from './builder.ts';
import { type GraphQLContext, requireActor } from './context.ts';
import { GenerateImageInput, JobRef } from './job.ts';

const ProviderTypeEnum = builder.enumType('ProviderType', { values: PROVIDER_TYPES });
const ProviderHealthEnum = builder.enumType('ProviderHealth', { values: ['OK', 'COOLING_DOWN', 'NO_CREDITS', 'INACTIVE'] as const });
const AttemptOutcomeEnum = builder.enumType('ProviderAttemptOutcome', { values: ATTEMPT_OUTCOMES });
const AlertKindEnum = builder.enumType('ProviderAlertKind', { values: ALERT_KINDS });
const CostGroupEnum = builder.enumType('CostGroup', { values: COST_GROUPS });

const ProviderRef = builder.objectRef<Provider>('Provider').implement({
  description: 'A paid image API account. Its key is never returned: only a masked hint.',
  fields: (t) => ({
    id: t.exposeID('id'),
    slug: t.exposeString('slug', { description: 'A stable id ("openai_default"), accepted wherever the id is.' }),
    name: t.exposeString('name'),
    type: t.field({ type: ProviderTypeEnum, resolve: (p) => p.type }),
    isActive: t.exposeBoolean('isActive'),
    isDefault: t.exposeBoolean('isDefault'),
    costPerImage: t.float({ resolve: (p) => Number(p.costPerImage) }),
    rateLimitRpm: t.int({ nullable: true, resolve: (p) => p.rateLimitRpm ?? null }),
    priority: t.exposeInt('priority', { description: 'Lower is tried first among fallbacks.' }),
    baseUrl: t.string({ nullable: true, resolve: (p) => p.baseUrl ?? null }),
    creditsRemaining: t.float({ nullable: true, resolve: (p) => (p.creditsRemaining == null ? null : Number(p.creditsRemaining)) }),
    creditsCheckedAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.creditsCheckedAt ?? null }),
    apiKeyHint: t.exposeString('apiKeyHint', { description: 'The last characters of the key, masked.' }),
    config: t.field({ type: 'JSON', nullable: true, description: 'Admins only.', resolve: (p, _a, ctx) => (ctx.actor && isAdmin(ctx.actor) ? p.config : null) }),
    health: t.field({ type: ProviderHealthEnum, resolve: (p, _a, ctx) => ctx.core.providers.health(p) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ProviderAttemptRef = builder.objectRef<ProviderAttempt>('ProviderAttempt').implement({
  description: 'One call to a provider while running a job, or a decision not to call it.',
  fields: (t) => ({
    attemptNo: t.exposeInt('attemptNo'),
    providerId: t.id({ nullable: true, resolve: (a) => a.provider?.id ?? null }),
    providerName: t.exposeString('providerName'),
    outcome: t.field({ type: AttemptOutcomeEnum, resolve: (a) => a.outcome }),
    httpStatus: t.int({ nullable: true, resolve: (a) => a.httpStatus ?? null }),
    latencyMs: t.exposeInt('latencyMs'),
    cost: t.float({ resolve: (a) => Number(a.cost) }),
    error: t.string({ nullable: true, resolve: (a) => a.error ?? null }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

/** One query per request for the attempts of every job it shows (a page of jobs asks once). */
const attemptLoaders = new WeakMap<GraphQLContext, DataLoader<string, ProviderAttempt[]>>();
const attemptsOf = (ctx: GraphQLContext, jobId: string) => {
  let loader = attemptLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader(async (ids) => {
      const rows = await ctx.core.providers.attempts(ctx.em, [...ids]);
      return ids.map((id) => rows.filter((a) => a.job.id === id));
    });
    attemptLoaders.set(ctx, loader);
  }
  return loader.load(jobId);
};

builder.objectField(JobRef, 'attempts', (t) =>
  t.field({
    type: [ProviderAttemptRef],
    description: 'Calls to paid providers for this job, in order (empty for other engines).',
    // A Job object is only ever handed out by services that checked the caller may see it.
    resolve: (j, _args, ctx) => attemptsOf(ctx, j.id),
  }),
);

const CreditsRef = builder.objectRef<ProviderCredits>('ProviderCredits').implement({
  fields: (t) => ({
    credits: t.float({ nullable: true, description: 'Null when the provider has no balance API.', resolve: (c) => (c.credits == null ? null : Number(c.credits)) }),
    hasCredits: t.exposeBoolean('hasCredits'),
    checkedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.checkedAt }),
  }),
});

const EstimateRef = builder
  .objectRef<{ estimatedCost: number; providerId: string; providerName: string; numImages: number }>('CostEstimate')
  .implement({
    fields: (t) => ({
      estimatedCost: t.exposeFloat('estimatedCost'),
      providerId: t.exposeID('providerId'),
      providerName: t.exposeString('providerName'),
      numImages: t.exposeInt('numImages'),
    }),
  });

const CostRowRef = builder.objectRef<CostRow>('CostRow').implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Provider name, username, day (YYYY-MM-DD) or job kind.' }),
    count: t.exposeInt('count', { description: 'Jobs (for providers: jobs it completed).' }),
    totalCost: t.exposeFloat('totalCost'),
    averageGenerationMs: t.exposeFloat('averageGenerationMs', { nullable: true }),
  }),
});

const AlertRef = builder.objectRef<ProviderAlertEvent>('ProviderAlert').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.field({ type: AlertKindEnum, resolve: (a) => a.kind as (typeof ALERT_KINDS)[number] }),
    providerId: t.exposeID('providerId', { nullable: true }),
    providerName: t.exposeString('providerName', { nullable: true }),
    message: t.exposeString('message'),
    data: t.field({ type: 'JSON', nullable: true, resolve: (a) => a.data }),
    at: t.field({ type: 'DateTime', resolve: (a) => new Date(a.at) }),
  }),
});

const PerformanceRef = builder.objectRef<ProviderPerformance>('ProviderPerformance').implement({
  fields: (t) => ({
    providerId: t.exposeID('providerId'),
    hours: t.exposeFloat('hours'),
    attempts: t.exposeInt('attempts'),
    successes: t.exposeInt('successes'),
    successRate: t.exposeFloat('successRate'),
    p50LatencyMs: t.exposeFloat('p50LatencyMs', { nullable: true }),
    p95LatencyMs: t.exposeFloat('p95LatencyMs', { nullable: true }),
    cost: t.exposeFloat('cost'),
    jobs: t.exposeInt('jobs', { description: 'Distinct jobs that called it.' }),
    volume: t.int({ description: 'Requests it served in the window (jobs that called it).', resolve: (p) => p.jobs }),
  }),
});

const CacheStatsRef = builder.objectRef<CacheStats>('CacheStats').implement({
  fields: (t) => ({
    hits: t.exposeInt('hits'),
    misses: t.exposeInt('misses'),
    hitRate: t.exposeFloat('hitRate'),
    size: t.exposeInt('size', { description: 'Entries alive in the shared cache.' }),
  }),
});

const ConfigureProviderInput = builder.inputType('ConfigureProviderInput', {
  fields: (t) => ({
    type: t.field({ type: ProviderTypeEnum, required: true }),
    name: t.string({ required: true }),
    slug: t.string({ required: false, description: 'Defaults to the name in snake case ("PiAPI Default" → "piapi_default").' }),
    apiKey: t.string({ required: true, description: 'Stored encrypted; never returned.' }),
    config: t.field({ type: 'JSON', required: false, description: 'e.g. {"prices": {...}, "default_service": "midjourney", "webhook_url": "..."}' }),
    isDefault: t.boolean({ required: false }),
    isActive: t.boolean({ required: false }),
    costPerImage: t.float({ required: false, description: 'Headline price; the per-size table is in config.prices or the defaults.' }),
    rateLimitRpm: t.int({ required: false }),
    priority: t.int({ required: false, description: 'Lower is tried first among fallbacks. Default 100.' }),
    baseUrl: t.string({ required: false, description: 'Overrides the provider’s public API address.' }),
  }),
});

const UpdateProviderInput = builder.inputType('UpdateProviderInput', {
  fields: (t) => ({
    name: t.string({ required: false }),
    apiKey: t.string({ required: false }),
    config: t.field({ type: 'JSON', required: false, description: 'e.g. {"prices": {...}, "default_service": "midjourney", "webhook_url": "..."}' }),
    isDefault: t.boolean({ required: false }),
    isActive: t.boolean({ required: false }),
    costPerImage: t.float({ required: false, description: 'Headline price; the per-size table is in config.prices or the defaults.' }),
    rateLimitRpm: t.int({ required: false }),
    priority: t.int({ required: false, description: 'Lower is tried first among fallbacks. Default 100.' }),
    baseUrl: t.string({ required: false, description: 'Overrides the provider’s public API address.' }),
  }),
});

builder.mutationField('configureProvider', (t) =>
  t.field({ type: ProviderRef, args: { input: t.arg({ type: ConfigureProviderInput, required: true }) }, resolve: (_r, args, ctx) => ctx.core.providers.configure(ctx.em, args.input as ConfigureProviderArgs) }),
);
builder.mutationField('updateProvider', (t) =>
  t.field({
    type: ProviderRef,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateProviderInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.core.providers.update(ctx.em, String(args.id), args.input as UpdateProviderArgs),
  }),
);
builder.mutationField('deactivateProvider', (t) =>
  t.field({ type: ProviderRef, args: { id: t.arg.id({ required: true }) }, resolve: (_r, args, ctx) => ctx.core.providers.deactivate(ctx.em, String(args.id)) }),
);
builder.mutationField('deleteProvider', (t) =>
  t.boolean({ args: { id: t.arg.id({ required: true }) }, resolve: (_r, args, ctx) => ctx.core.providers.delete(ctx.em, String(args.id)) }),
);

builder.queryField('providers', (t) => t.field({ type: [ProviderRef], resolve: (_r, _a, ctx) => ctx.core.providers.list(ctx.em) }));

builder.queryField('providerCredits', (t) =>
  t.field({
    type: CreditsRef,
    description: "Asks the provider's own credit API (at most once per PROVIDER_CREDITS_TTL_SECONDS).",
    args: { id: t.arg.id({ required: true }) },
    // Asking is a request to check now; the TTL only spares the provider before each job.
    resolve: async (_r, args, ctx) => ctx.core.providers.credits(ctx.em, await ctx.core.providers.get(ctx.em, String(args.id))),
  }),
);

builder.queryField('estimateCost', (t) =>
  t.field({ type: EstimateRef, args: { input: t.arg({ type: GenerateImageInput, required: true }) }, resolve: (_r, args, ctx) => ctx.core.providers.estimateCost(ctx.em, args.input) }),
);

builder.queryField('costs', (t) =>
  t.field({
    type: [CostRowRef],
    description: 'Totals, counts and mean generation time over [from, to) (default: the last 30 days); your own jobs, or everyone’s for admins.',
    args: { groupBy: t.arg({ type: CostGroupEnum, required: true }), from: t.arg({ type: 'DateTime', required: false }), to: t.arg({ type: 'DateTime', required: false }) },
    resolve: (_r, args, ctx) => ctx.core.providers.costs(ctx.em, requireActor(ctx), args.groupBy, args.from ?? null, args.to ?? null),
  }),
);

builder.queryField('alerts', (t) =>
  t.field({
    type: [AlertRef],
    args: { since: t.arg({ type: 'DateTime', required: false }), limit: t.arg.int({ required: false }) },
    resolve: (_r, args, ctx) => ctx.core.providers.alerts(ctx.em, args.since ?? null, args.limit ?? 100),
  }),
);

builder.subscriptionField('alerts', (t) =>
  t.field({ type: AlertRef, description: 'Provider alerts as they are raised.', subscribe: (_r, _a, ctx) => ctx.core.providers.watchAlerts(), resolve: (a) => a }),
);

builder.queryField('providerPerformance', (t) =>
  t.field({
    type: PerformanceRef,
    args: { id: t.arg.id({ required: true }), hours: t.arg.float({ required: false, description: 'Default 24.' }) },
    resolve: (_r, args, ctx) => ctx.core.providers.performance(ctx.em, String(args.id), args.hours ?? 24),
  }),
);

builder.queryField('cacheStats', (t) => t.field({ type: CacheStatsRef, resolve: (_r, _a, ctx) => ctx.core.providers.cacheStats() }));
