import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { Job } from './job.entity.ts';

export const PROVIDER_TYPES = ['OPENAI', 'PIAPI', 'STABLE_DIFFUSION'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** A paid image API account. The key is stored sealed (AES-256-GCM) and never leaves the core in clear. */
const ProviderSchema = defineEntity({
  name: 'Provider',
  tableName: 'providers',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    type: p.enum(PROVIDER_TYPES),
    name: p.string().length(128).unique(),
    /** A stable id people can type ("openai_default"), accepted wherever the uuid is. */
    slug: p.string().length(64).unique(),
    /** base64url(iv | tag | ciphertext); see provider.crypto.ts. */
    apiKeyEncrypted: p.text().hidden(),
    /** The last four characters, so people can tell keys apart. */
    apiKeyHint: p.string().length(16),
    config: p.json<Record<string, unknown>>(),
    isDefault: p.boolean().default(false),
    isActive: p.boolean().default(true),
    costPerImage: p.decimal('number').precision(12).scale(6).default(0),
    rateLimitRpm: p.integer().nullable(),
    /** Lower runs first among fallbacks. */
    priority: p.integer().default(100),
    baseUrl: p.string().length(512).nullable(),
    creditsRemaining: p.decimal('number').precision(18).scale(6).nullable(),
    creditsCheckedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class Provider extends ProviderSchema.class {}
ProviderSchema.setClass(Provider);

export const ATTEMPT_OUTCOMES = [
  'SUCCESS',
  'CACHED',
  'TIMEOUT',
  'RATE_LIMITED',
  'SERVER_ERROR',
  'NO_CREDITS',
  'EMPTY_RESULT',
  'REJECTED',
  'SKIPPED_CIRCUIT_OPEN',
  'SKIPPED_RATE_LIMIT',
  'SKIPPED_NO_CREDITS',
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** One call (or a decision not to call) to a provider while running a job. */
const ProviderAttemptSchema = defineEntity({
  name: 'ProviderAttempt',
  tableName: 'provider_attempts',
  indexes: [{ properties: ['provider', 'at'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    job: () => p.manyToOne(Job).deleteRule('cascade').index(),
    /** Null once the provider is deleted; the name stays for the record. */
    provider: () => p.manyToOne(Provider).nullable().deleteRule('set null'),
    providerName: p.string().length(128),
    attemptNo: p.integer(),
    outcome: p.enum(ATTEMPT_OUTCOMES),
    httpStatus: p.integer().nullable(),
    latencyMs: p.integer().default(0),
    cost: p.decimal('number').precision(12).scale(6).default(0),
    error: p.text().nullable(),
    at: p.datetime().onCreate(() => new Date()),
  },
});

export class ProviderAttempt extends ProviderAttemptSchema.class {}
ProviderAttemptSchema.setClass(ProviderAttempt);

export const ALERT_KINDS = ['LOW_CREDITS', 'CREDITS_EXHAUSTED', 'PROVIDER_UNAVAILABLE', 'HIGH_FAILURE_RATE', 'SLOW_RESPONSE', 'RATE_LIMITED', 'QUEUE_BACKLOG'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

const ProviderAlertSchema = defineEntity({
  name: 'ProviderAlert',
  tableName: 'provider_alerts',
  indexes: [{ properties: ['at'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    provider: () => p.manyToOne(Provider).nullable().deleteRule('set null'),
    kind: p.enum(ALERT_KINDS),
    message: p.text(),
    data: p.json<Record<string, unknown>>().nullable(),
    at: p.datetime().onCreate(() => new Date()),
  },
});

export class ProviderAlert extends ProviderAlertSchema.class {}
ProviderAlertSchema.setClass(ProviderAlert);
export { ProviderSchema, ProviderAttemptSchema, ProviderAlertSchema };
