import type { EntityManager } from '@mikro-orm/postgresql';
import { Asset } from '../db/entities/asset.entity.ts';
import { type Actor, isAdmin } from './actor.ts';
import { AppError } from './errors.ts';
import type { QuotaService } from './quota.service.ts';

/** Speech runs at about 15 characters a second; a text's length bounds the audio it becomes. */
export const SPEECH_CHARS_PER_SECOND = 15;

export const estimatedSpeechSeconds = (text: string) => Math.ceil(text.length / SPEECH_CHARS_PER_SECOND);

const tooLong = (what: string, seconds: number, max: number) =>
  new AppError('QUOTA_EXCEEDED', `${what} is ${Math.round(seconds)} s, longer than your quota's max_duration ${max} s`, {
    limit: 'maxDurationSeconds',
    max,
    seconds: Math.round(seconds),
  });

/**
 * Checked before any work is queued: what a job will produce is as long as its media (a talking head as long as
 * its audio, speech as long as its text), so both are held to the caller's max_duration at submission —
 * a two-hour MP3 is refused here, not discovered by a worker running out of memory.
 */
export class MediaLimits {
  private readonly quotas: QuotaService;

  constructor(quotas: QuotaService) {
    this.quotas = quotas;
  }

  async checkAudioAsset(em: EntityManager, actor: Actor, audioAssetId: string): Promise<void> {
    if (isAdmin(actor)) return;
    const asset = await em.findOne(Asset, { id: audioAssetId });
    // Uploads probe every audio file's duration; an asset made another way may have none, and the engine's own
    // timeout bounds it.
    const seconds = asset?.durationSeconds === null || asset?.durationSeconds === undefined ? null : Number(asset.durationSeconds);
    const { maxDurationSeconds } = await this.quotas.limitsFor(em, actor.userId);
    if (seconds === null || !Number.isFinite(seconds)) return;
    if (seconds > maxDurationSeconds) throw tooLong('The audio', seconds, maxDurationSeconds);
  }

  async checkSpeech(em: EntityManager, actor: Actor, text: string): Promise<void> {
    if (isAdmin(actor)) return;
    const { maxDurationSeconds } = await this.quotas.limitsFor(em, actor.userId);
    const seconds = estimatedSpeechSeconds(text);
    if (seconds > maxDurationSeconds) throw tooLong('The speech (estimated from the text)', seconds, maxDurationSeconds);
  }
}
