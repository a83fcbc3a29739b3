import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { retryDelayMs } from '../../src/webhooks/webhook.delivery.ts';
import { eventTypesOf, webhookTypeOf } from '../../src/webhooks/webhook.events.ts';
import { newWebhookSecret, signWebhook, webhookHeaders } from '../../src/webhooks/webhook.signing.ts';

describe('webhook signing', () => {
  it('signs as the standardwebhooks library does, and its verify accepts our headers', () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ type: 'job.completed', timestamp: '2026-11-27T00:00:00.000Z', data: { id: 'x' } });
    const at = new Date();
    const library = new Webhook(secret);
    expect(signWebhook(secret, 'msg_1', Math.floor(at.getTime() / 1000), body)).toBe(library.sign('msg_1', at, body));
    expect(library.verify(body, webhookHeaders(secret, 'msg_1', body, at))).toMatchObject({ type: 'job.completed' });
  });
});

describe('webhook retry schedule', () => {
  const config = loadConfig({});
  const settings = { retryBaseMs: config.WEBHOOK_RETRY_BASE_MS, retryFactor: config.WEBHOOK_RETRY_FACTOR, retryMaxMs: config.WEBHOOK_RETRY_MAX_MS };

  it('retries first within 10 s, then backs off exponentially to about a day in all, with jitter', () => {
    const low = (n: number) => retryDelayMs(settings, n, () => 0);
    const high = (n: number) => retryDelayMs(settings, n, () => 0.9999);
    expect(high(1)).toBeLessThanOrEqual(10_000);
    for (let n = 2; n < config.WEBHOOK_MAX_ATTEMPTS; n++) expect(low(n)).toBeGreaterThan(high(n - 1) * 2);
    const retries = Array.from({ length: config.WEBHOOK_MAX_ATTEMPTS - 1 }, (_, i) => i + 1);
    const total = (delay: (n: number) => number) => retries.reduce((sum, n) => sum + delay(n), 0);
    expect(total(low)).toBeGreaterThan(12 * 3_600_000);
    expect(total(high)).toBeLessThan(48 * 3_600_000);
    expect(retryDelayMs(settings, 30, () => 0.5)).toBe(config.WEBHOOK_RETRY_MAX_MS);
  });
});

describe('webhook events', () => {
  it('maps job events and filters', () => {
    expect(webhookTypeOf({ status: 'PROCESSING', progress: 0, message: 'Started' })).toBe('job.started');
    expect(webhookTypeOf({ status: 'PROCESSING', progress: 40, message: 'Step 2/5' })).toBe('job.progress');
    expect(webhookTypeOf({ status: 'QUEUED', progress: 0, message: null })).toBeNull();
    expect(webhookTypeOf({ status: 'CANCELLED', progress: 10, message: 'Cancelled' })).toBe('job.cancelled');
    expect(eventTypesOf(['COMPLETED'])).toEqual(['job.completed']);
    expect(eventTypesOf(['start', 'completed'])).toEqual(['job.started', 'job.completed', 'job.failed', 'job.cancelled']);
    expect(eventTypesOf(null)).toHaveLength(5);
    expect(() => eventTypesOf(['nope'])).toThrow(/Unknown webhook event/);
  });
});
