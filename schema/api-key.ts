import type { ApiKey } from '../src/db/entities/api-key.entity.ts';
import { API_SCOPES } from '../src/services/actor.ts';
import { builder } from './builder.ts';
import { requireActor } from './context.ts';

const ApiScopeEnum = builder.enumType('ApiScope', {
  values: API_SCOPES.map((s) => s.toUpperCase()) as ['READ', 'GENERATE', 'ADMIN'],
});

const ApiKeyRef = builder.objectRef<ApiKey>('ApiKey').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key, to tell keys apart.' }),
    scopes: t.field({ type: [ApiScopeEnum], resolve: (key) => key.scopes.map((s) => s.toUpperCase() as 'READ') }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreatedApiKey = builder.objectRef<{ apiKey: ApiKey; secret: string }>('CreatedApiKey').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (r) => r.apiKey }),
    secret: t.exposeString('secret', { description: 'The whole key. Shown once: only its hash is stored.' }),
  }),
});

builder.queryField('apiKeys', (t) =>
  t.field({ type: [ApiKeyRef], resolve: (_root, _args, ctx) => ctx.core.auth.listApiKeys(ctx.em, requireActor(ctx)) }),
);

builder.mutationField('createApiKey', (t) =>
  t.field({
    type: CreatedApiKey,
    args: {
      name: t.arg.string({ required: true }),
      scopes: t.arg({ type: [ApiScopeEnum], required: false, description: 'Defaults to every scope your role allows.' }),
      userId: t.arg.id({ required: false, description: 'Admins may create keys for other users.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.core.auth.createApiKey(ctx.em, requireActor(ctx), {
        name: args.name,
        scopes: args.scopes?.map((s) => s.toLowerCase()),
        userId: args.userId ? String(args.userId) : null,
      }),
  }),
);

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: ApiKeyRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const key = await ctx.core.auth.revokeApiKey(ctx.em, requireActor(ctx), String(args.id));
      // Its open subscriptions end now, in every API process (server/subscription-guard.ts).
      await ctx.core.pubsub.publish('credentials', undefined, { reason: 'api key revoked' }).catch(() => undefined);
      return key;
    },
  }),
);
