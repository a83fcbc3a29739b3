import type { EntityManager } from '@mikro-orm/postgresql';
import sharp from 'sharp';
import { Job } from '../db/entities/job.entity.ts';
import { type AttemptOutcome, Provider, ProviderAttempt } from '../db/entities/provider.entity.ts';
import type { Asset } from '../db/entities/asset.entity.ts';
import type { JobLogLevel } from '../db/entities/job-log.entity.ts';
import { AppError } from '../services/errors.ts';
import type { ImageJobInput } from '../services/generation.inputs.ts';
import type { NewAsset } from '../services/job-lifecycle.service.ts';
import { type ProviderService, type StoredRoute, toProviderRequest } from '../services/provider.service.ts';
import type { CachedGeneration } from './provider.cache.ts';
import { sleep } from './provider.http.ts';
import { ADAPTERS } from './provider.routing.ts';
import { ProviderCallError } from './provider.types.ts';

/** What the runner needs from a worker's run of one job. */
export interface ProviderRun {
  job: Job;
  em: EntityManager;
  signal: AbortSignal;
  progress(fraction: number, message: string): void;
  note(message: string, level?: JobLogLevel): void;
  saveAsset(asset: NewAsset): Promise<Asset>;
  /** Hands the job's cost to whoever stores the job (engines never write `jobs`). */
  reportCost?(cost: number): void;
}

/** Waits longer than this for a provider's rpm slot, and the runner moves on to the next provider. */
const MAX_RATE_WAIT_MS = 5000;

const MIME: Record<string, [string, string]> = { png: ['image/png', 'png'], jpeg: ['image/jpeg', 'jpg'], webp: ['image/webp', 'webp'], gif: ['image/gif', 'gif'] };

/**
 * Runs one image job through its route: each provider in turn, each retried with backoff on a
 * passing failure, skipped while its breaker is open, out of credits or over its rpm. Every call,
 * and every decision not to call, is an attempt row; the job's cost is the sum of their costs.
 */
export class ProviderRunner {
  private readonly providers: ProviderService;
  private readonly limit: <T>(fn: () => Promise<T>) => Promise<T>;

  constructor(providers: ProviderService, limit: <T>(fn: () => Promise<T>) => Promise<T>) {
    this.providers = providers;
    this.limit = limit;
  }

  async run(run: ProviderRun): Promise<{ assets: Asset[]; extra: Record<string, unknown>; cost: number }> {
    const { job, em } = run;
    const input = job.input as unknown as ImageJobInput & { route?: StoredRoute };
    const route = input.route ?? (await this.providers.routeImage(em, input, false));
    const cache = this.providers.cache;
    // A job that already paid for its images (and then died before saving them) is not billed again. Not keyed by
    // attempt: a run after a dead worker is a new attempt, and it is exactly the run that must reuse them.
    const ownKey = `job-${job.id}`;
    let result: { value: CachedGeneration; cached: boolean };
    const earlier = await cache.peek(ownKey);
    if (earlier) {
      run.note('Reusing the images this job already received');
      result = { value: earlier, cached: false };
    } else {
      try {
        result = route.cacheKey
          ? await cache.getOrProduce(route.cacheKey, () => this.produce(run, input, route), run.signal)
          : { value: await this.produce(run, input, route), cached: false };
      } catch (error) {
        // A failed job still owes what its providers billed (e.g. the first of two DALL-E 3 calls).
        await this.settleCost(run);
        throw error;
      }
    }
    if (!earlier) await cache.remember(ownKey, result.value);
    if (result.cached) {
      const from = result.value.extra.provider as { id?: string; name?: string } | undefined;
      await this.record(em, job, null, from?.name ?? 'cache', 'CACHED', { cost: 0 });
      run.note('Served from the generation cache; no provider was called');
    }
    run.progress(0.9, 'Saving images');
    const assets: Asset[] = [];
    for (const image of result.value.images) {
      const data = Buffer.from(image, 'base64');
      const meta = await sharp(data).metadata();
      const [mime, extension] = MIME[meta.format ?? ''] ?? ['image/png', 'png'];
      assets.push(await run.saveAsset({ kind: 'IMAGE', mime, extension, data, width: meta.width, height: meta.height }));
    }
    const cost = await this.settleCost(run);
    return { assets, extra: { ...result.value.extra, cached: result.cached, cost }, cost };
  }

  /** The job's cost is what its attempts were billed, all runs together. */
  private async settleCost(run: ProviderRun): Promise<number> {
    const [sum] = await run.em
      .getConnection()
      .execute<{ cost: number }[]>(`select coalesce(sum(cost), 0)::float as cost from provider_attempts where job_id = ?`, [run.job.id]);
    const cost = sum?.cost ?? 0;
    run.reportCost?.(cost);
    return cost;
  }

  private async produce(run: ProviderRun, input: ImageJobInput, route: StoredRoute): Promise<CachedGeneration> {
    const { em, job, signal } = run;
    const config = this.providers.config;
    const failures: string[] = [];
    let lastFailure: string | null = null;
    for (const [index, step] of route.chain.entries()) {
      const provider = await em.findOne(Provider, { id: step.providerId });
      if (!provider || !provider.isActive) {
        run.note(`Skipping ${step.providerName}: no longer active`, 'warn');
        continue;
      }
      run.progress(0.1 + (0.7 * index) / route.chain.length, `Calling ${provider.name}`);
      const adapter = ADAPTERS[provider.type];
      const request = toProviderRequest(input, step.model);
      const plan = adapter.plan(request);
      if (await this.providers.breaker.isOpen(provider.id)) {
        await this.record(em, job, provider, provider.name, 'SKIPPED_CIRCUIT_OPEN', { error: 'cooling down after repeated failures' });
        failures.push(`${provider.name}: cooling down`);
        continue;
      }
      const credits = await this.providers.credits(em, provider);
      if (!credits.hasCredits) {
        await this.record(em, job, provider, provider.name, 'SKIPPED_NO_CREDITS', { error: `credits: ${credits.credits}` });
        failures.push(`${provider.name}: no credits`);
        lastFailure = 'NO_CREDITS';
        continue;
      }
      let ctx: ReturnType<ProviderService['adapterContext']>;
      try {
        ctx = this.providers.adapterContext(provider, signal);
      } catch (error) {
        // A key that no longer opens (PROVIDER_KEY_SECRET changed) rules out this provider, not the whole chain.
        await this.record(em, job, provider, provider.name, 'REJECTED', { error: (error as Error).message });
        failures.push(`${provider.name}: ${(error as Error).message}`);
        continue;
      }
      const redact = (text: string) => text.split(ctx.apiKey).join('••••');
      for (let retry = 0; retry <= config.BATCH_MAX_RETRIES; retry++) {
        let wait = await this.providers.rateLimits.take(provider.id, provider.rateLimitRpm ?? null);
        while (wait > 0 && wait <= MAX_RATE_WAIT_MS) {
          await sleep(wait, signal);
          wait = await this.providers.rateLimits.take(provider.id, provider.rateLimitRpm ?? null);
        }
        if (wait > 0) {
          await this.record(em, job, provider, provider.name, 'SKIPPED_RATE_LIMIT', { error: `over ${provider.rateLimitRpm} requests a minute` });
          failures.push(`${provider.name}: over its rate limit`);
          break;
        }
        const started = performance.now();
        try {
          const output = await this.limit(() => adapter.generate(request, plan, ctx));
          if (!output.images.length && request.feature !== 'vision') throw new ProviderCallError('EMPTY_RESULT', 'no image in the answer', 200);
          const latencyMs = Math.round(performance.now() - started);
          const cost = adapter.pricePerImage(plan, this.providers.prices(provider)) * output.billedImages + output.extraCost;
          await this.record(em, job, provider, provider.name, 'SUCCESS', { latencyMs, cost, httpStatus: 200 });
          await this.providers.breaker.success(provider.id);
          await this.providers.checkPerformance(em, provider).catch(() => undefined);
          run.note(`${provider.name} (${plan.model}) answered in ${latencyMs} ms`);
          if (plan.dropped.length) run.note(`Not honoured by ${provider.name}: ${plan.dropped.map((d) => `${d.param} (${d.reason})`).join('; ')}`, 'warn');
          return {
            images: output.images.map((i) => i.data.toString('base64')),
            extra: {
              // Top level, so `result.analysis` / `enhanced_prompt` read as the document's `metadata.*`.
              ...output.metadata,
              provider: { id: provider.id, name: provider.name, type: provider.type, model: plan.model, reason: index === 0 ? route.reason : 'fallback' },
              requested: { width: input.width, height: input.height, numImages: input.numImages },
              used: { width: plan.width, height: plan.height, numImages: plan.numImages, quality: plan.quality ?? null, resized: plan.resized },
              dropped: plan.dropped,
            },
          };
        } catch (caught) {
          if (signal.aborted) throw caught;
          // An answer of the wrong shape (a field missing) is an invalid result, not a worker crash.
          const error = caught instanceof ProviderCallError ? caught : caught instanceof TypeError || caught instanceof SyntaxError ? new ProviderCallError('EMPTY_RESULT', `invalid answer: ${caught.message}`) : null;
          if (!error) throw caught;
          const latencyMs = Math.round(performance.now() - started);
          const message = redact(error.message);
          const billed = adapter.pricePerImage(plan, this.providers.prices(provider)) * error.billedImages + error.billedExtra;
          await this.record(em, job, provider, provider.name, error.failure, { latencyMs, cost: billed, httpStatus: error.httpStatus, error: message });
          run.note(`${provider.name}: ${error.failure} — ${message}`, 'warn');
          lastFailure = error.failure;
          if (await this.providers.breaker.failure(provider.id)) {
            await this.providers.raiseAlert(em, 'PROVIDER_UNAVAILABLE', provider, `${provider.name} is cooling down after repeated failures (${error.failure})`, { failure: error.failure }, 60);
          }
          await this.providers.checkPerformance(em, provider).catch(() => undefined);
          if (error.failure === 'NO_CREDITS') {
            await em.nativeUpdate(Provider, { id: provider.id }, { creditsRemaining: 0, creditsCheckedAt: new Date() });
            await this.providers.raiseAlert(em, 'CREDITS_EXHAUSTED', provider, `A job failed on ${provider.name} for lack of credits`, { jobId: job.id }, 60);
          }
          if (!error.retryable || retry === config.BATCH_MAX_RETRIES || (await this.providers.breaker.isOpen(provider.id))) {
            failures.push(`${provider.name}: ${error.failure}`);
            break;
          }
          await sleep(config.BATCH_RETRY_DELAY * 1000 * 2 ** retry, signal);
        }
      }
    }
    const why = failures.length ? failures.join('; ') : 'no provider on the route is active';
    throw new AppError('SERVICE_UNAVAILABLE', `${lastFailure === 'NO_CREDITS' ? 'Insufficient credits' : 'Every provider failed'}: ${why}`);
  }

  private async record(
    em: EntityManager,
    job: Job,
    provider: Provider | null,
    providerName: string,
    outcome: AttemptOutcome,
    details: { latencyMs?: number; cost?: number; httpStatus?: number | null; error?: string },
  ): Promise<void> {
    const [row] = await em.getConnection().execute<{ n: number }[]>(`select count(*)::int as n from provider_attempts where job_id = ?`, [job.id]);
    await em.insert(ProviderAttempt, {
      job: job.id,
      provider: provider?.id ?? null,
      providerName,
      attemptNo: (row?.n ?? 0) + 1,
      outcome,
      httpStatus: details.httpStatus ?? null,
      latencyMs: details.latencyMs ?? 0,
      cost: Math.round((details.cost ?? 0) * 1e6) / 1e6,
      error: details.error?.slice(0, 2000) ?? null,
      at: new Date(),
    });
    // The image service document's "alertas automáticos: rate limit": the provider's own 429, or ours held back.
    if (provider && (outcome === 'RATE_LIMITED' || outcome === 'SKIPPED_RATE_LIMIT')) {
      const why = outcome === 'RATE_LIMITED' ? 'answered 429 (rate limited)' : `is over its ${provider.rateLimitRpm} requests a minute`;
      await this.providers.raiseAlert(em, 'RATE_LIMITED', provider, `${provider.name} ${why}`, { jobId: job.id, outcome }, 300).catch(() => undefined);
    }
  }
}
