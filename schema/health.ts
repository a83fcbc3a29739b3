import { builder } from './builder.ts';
import { checkHealth, type Health } from '../src/services/health.service.ts';

const DependencyHealth = builder.objectRef<Health['postgres']>('DependencyHealth').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

const HealthRef = builder.objectRef<Health>('Health').implement({
  fields: (t) => ({
    status: t.exposeString('status', { description: '"ok" when every dependency answers, else "degraded".' }),
    version: t.exposeString('version'),
    uptimeSeconds: t.exposeFloat('uptimeSeconds'),
    postgres: t.field({ type: DependencyHealth, resolve: (h) => h.postgres }),
    redis: t.field({ type: DependencyHealth, resolve: (h) => h.redis }),
    storage: t.field({ type: DependencyHealth, resolve: (h) => h.storage }),
  }),
});

builder.queryField('health', (t) =>
  t.field({ type: HealthRef, resolve: (_root, _args, ctx) => checkHealth(ctx.core) }),
);
