import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { quotaFields } from '../config/quota.fields.ts';
import { User } from '../db/entities/user.entity.ts';
import { type Actor, isAdmin } from './actor.ts';
import type { AuthCache } from './auth.cache.ts';
import { AppError } from './errors.ts';
import { assertEditable } from './config-source.ts';
import { getUser } from './user.service.ts';
import { parseInput } from './validation.ts';

/** A user's limits (the video platform document's quotas and limits). */
export interface QuotaLimits {
  /** null: no daily limit. */
  imagesPerDay: number | null;
  videosPerDay: number | null;
  /** "WIDTHxHEIGHT": a request may not exceed either side (in either orientation) nor its pixel count. */
  maxResolution: string;
  maxDurationSeconds: number;
  maxFrames: number;
  /** The configuration file that sets this user's limits (read-only over the API while it does); null: none. */
  source?: string | null;
}

const quotaOverrides = z.object({
  imagesPerDay: quotaFields.imagesPerDay.nullish(),
  videosPerDay: quotaFields.videosPerDay.nullish(),
  maxResolution: quotaFields.maxResolution.nullish(),
  maxDurationSeconds: quotaFields.maxDurationSeconds.nullish(),
  maxFrames: quotaFields.maxFrames.nullish(),
});
export type QuotaOverrides = z.input<typeof quotaOverrides>;

const dimensions = (resolution: string) => resolution.split('x').map(Number) as [number, number];

/** Midnight UTC after `now`: daily counts restart there. */
export const nextQuotaReset = (now = new Date()) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));

const exceeded = (limit: keyof QuotaLimits, message: string, extra: Record<string, unknown> = {}) =>
  new AppError('QUOTA_EXCEEDED', message, { limit, ...extra });

/**
 * Per-user quotas, kept in the user's settings (`settings.quota`) over configured defaults. Admins are not
 * limited. Run inside the transaction that stores the job, a check holds the user's quota lock until commit,
 * so requests racing at the very limit are counted one after another.
 */
export class QuotaService {
  private readonly defaults: QuotaLimits;
  private readonly cache: AuthCache | undefined;

  constructor(defaults: QuotaLimits, cache?: AuthCache) {
    this.defaults = defaults;
    this.cache = cache;
  }

  async limitsFor(em: EntityManager, userId: string): Promise<QuotaLimits> {
    if (this.cache) return this.merge((await this.cache.user(em, userId))?.settings ?? null);
    const user = await em.findOne(User, { id: userId });
    return this.merge(user?.settings ?? null);
  }

  /** Whether a submission of this kind counts against a daily limit (and so must store its job in a transaction). */
  async hasDailyLimit(em: EntityManager, actor: Actor, kind: 'IMAGE' | 'VIDEO'): Promise<boolean> {
    if (isAdmin(actor)) return false;
    const limits = await this.limitsFor(em, actor.userId);
    return (kind === 'IMAGE' ? limits.imagesPerDay : limits.videosPerDay) !== null;
  }

  private merge(settings: Record<string, unknown> | null): QuotaLimits {
    const stored = ((settings as { quota?: Partial<QuotaLimits> } | null)?.quota ?? {}) as Partial<QuotaLimits>;
    const source = (settings as { quotaSource?: string } | null)?.quotaSource ?? null;
    return { ...this.defaults, ...Object.fromEntries(Object.entries(stored).filter(([, v]) => v != null)), source };
  }

  /** Sets some of a user's limits; a null field returns that limit to the default. */
  async setUserQuota(em: EntityManager, userId: string, raw: Record<string, unknown>): Promise<QuotaLimits> {
    const input = parseInput(quotaOverrides, raw);
    const user = await getUser(em, userId);
    assertEditable((user.settings as { quotaSource?: string } | null)?.quotaSource, `The quota of user ${user.username}`);
    const current = ((user.settings as { quota?: Record<string, unknown> } | null)?.quota ?? {}) as Record<string, unknown>;
    const next: Record<string, unknown> = { ...current };
    for (const key of Object.keys(quotaOverrides.shape)) {
      if (!(key in raw)) continue;
      if (raw[key] === null) delete next[key];
      else next[key] = input[key as keyof typeof input];
    }
    user.settings = { ...(user.settings ?? {}), quota: next };
    await em.flush();
    await this.cache?.changed({ userId });
    return this.limitsFor(em, userId);
  }

  private checkResolution(limits: QuotaLimits, width: number, height: number) {
    const [maxW, maxH] = dimensions(limits.maxResolution);
    const fits = Math.max(width, height) <= Math.max(maxW, maxH) && Math.min(width, height) <= Math.min(maxW, maxH);
    if (!fits) {
      throw exceeded('maxResolution', `Resolution ${width}x${height} exceeds your quota's max_resolution ${limits.maxResolution}`, {
        max: limits.maxResolution,
      });
    }
  }

  /**
   * What the user used today of a daily limit. Inside the job's transaction it first takes the user's quota
   * lock (held to commit), in its own statement so the count then reads what the previous holder committed.
   */
  private async usedToday(em: EntityManager, userId: string, kind: 'IMAGE' | 'VIDEO'): Promise<number> {
    const since = new Date(nextQuotaReset().getTime() - 86_400_000);
    const amount = kind === 'IMAGE' ? `coalesce((input->>'numImages')::int, 1)` : '1';
    await em.execute(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [`atelier-quota:${userId}`]);
    const [row] = await em.execute<{ used: number }[]>(
      `select coalesce(sum(${amount}), 0)::int as used from jobs
        where owner_id = ? and kind = ? and created_at >= ? and coalesce(error_code, '') <> 'QUEUE_UNAVAILABLE'`,
      [userId, kind, since],
    );
    return Number(row?.used ?? 0);
  }

  /** Checks one submission of image requests (one request, or a whole batch). */
  async checkImages(em: EntityManager, actor: Actor, requests: { width: number; height: number; count: number }[]): Promise<void> {
    if (isAdmin(actor)) return;
    const limits = await this.limitsFor(em, actor.userId);
    for (const r of requests) this.checkResolution(limits, r.width, r.height);
    // No daily limit, nothing to count: submissions need not wait for each other.
    if (limits.imagesPerDay === null) return;
    const used = await this.usedToday(em, actor.userId, 'IMAGE');
    const count = requests.reduce((sum, r) => sum + r.count, 0);
    if (used + count > limits.imagesPerDay) {
      const resetsAt = nextQuotaReset().toISOString();
      throw exceeded(
        'imagesPerDay',
        `Daily quota images_per_day (${limits.imagesPerDay}) reached: ${used} used today, ${count} requested; resets at ${resetsAt}`,
        { max: limits.imagesPerDay, used, resetsAt },
      );
    }
  }

  async checkVideo(
    em: EntityManager,
    actor: Actor,
    request: { width: number; height: number; frames: number; durationSeconds: number },
  ): Promise<void> {
    if (isAdmin(actor)) return;
    const limits = await this.limitsFor(em, actor.userId);
    this.checkResolution(limits, request.width, request.height);
    if (request.frames > limits.maxFrames) {
      throw exceeded('maxFrames', `${request.frames} frames exceed your quota's max_frames ${limits.maxFrames}`, { max: limits.maxFrames });
    }
    if (request.durationSeconds > limits.maxDurationSeconds) {
      throw exceeded(
        'maxDurationSeconds',
        `${request.durationSeconds} s exceeds your quota's max_duration ${limits.maxDurationSeconds} s`,
        { max: limits.maxDurationSeconds },
      );
    }
    if (limits.videosPerDay === null) return;
    const used = await this.usedToday(em, actor.userId, 'VIDEO');
    if (used + 1 > limits.videosPerDay) {
      const resetsAt = nextQuotaReset().toISOString();
      throw exceeded('videosPerDay', `Daily quota videos_per_day (${limits.videosPerDay}) reached; resets at ${resetsAt}`, {
        max: limits.videosPerDay,
        used,
        resetsAt,
      });
    }
  }
}
