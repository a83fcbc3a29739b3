import { createHmac, randomBytes, randomUUID } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com): `webhook-signature` is `v1,` and the base64
 * HMAC-SHA256 of `id.timestamp.body`, keyed by the base64 part of the `whsec_` secret.
 */
export const SECRET_PREFIX = 'whsec_';

/** 24 random bytes, as the specification recommends (between 24 and 64). */
export const newWebhookSecret = () => `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;

/** A message id: the same on every attempt, so receivers can drop duplicates. */
export const newMessageId = () => `msg_${randomUUID().replaceAll('-', '')}`;

export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export function webhookHeaders(secret: string, id: string, body: string, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': 'Atelier-Webhooks/1',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secret, id, timestamp, body),
  };
}
