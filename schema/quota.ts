import { isAdmin } from '../src/services/actor.ts';
import { forbidden } from '../src/services/errors.ts';
import type { QuotaLimits } from '../src/services/quota.service.ts';
import { builder } from './builder.ts';
import { requireActor } from './context.ts';

const UserQuotaRef = builder.objectRef<QuotaLimits>('UserQuota').implement({
  description: "A user's limits: their own where an admin set them, else the configured defaults. Daily counts reset at midnight UTC.",
  fields: (t) => ({
    imagesPerDay: t.exposeInt('imagesPerDay', { nullable: true, description: 'null: no daily limit.' }),
    videosPerDay: t.exposeInt('videosPerDay', { nullable: true, description: 'null: no daily limit.' }),
    maxResolution: t.exposeString('maxResolution', { description: '"WIDTHxHEIGHT", either orientation.' }),
    maxDurationSeconds: t.exposeFloat('maxDurationSeconds'),
    maxFrames: t.exposeInt('maxFrames'),
    source: t.string({
      nullable: true,
      description: "The file under CONFIG_DIR (users/<id or username>.yaml) that sets these limits; read-only over the API while it does. null: set over the API or defaults.",
      resolve: (q) => q.source ?? null,
    }),
  }),
});

const UserQuotaInput = builder.inputType('UserQuotaInput', {
  description: 'Only the fields given change; a field given as null returns to the default.',
  fields: (t) => ({
    imagesPerDay: t.int({ required: false }),
    videosPerDay: t.int({ required: false }),
    maxResolution: t.string({ required: false }),
    maxDurationSeconds: t.float({ required: false }),
    maxFrames: t.int({ required: false }),
  }),
});

builder.queryField('userQuota', (t) =>
  t.field({
    type: UserQuotaRef,
    description: 'Your quota, or (admins) any user’s.',
    args: { userId: t.arg.id({ required: false }) },
    resolve: (_root, args, ctx) => {
      const actor = requireActor(ctx);
      const userId = args.userId ? String(args.userId) : actor.userId;
      if (userId !== actor.userId && !isAdmin(actor)) throw forbidden('Only admins can read other users’ quotas');
      return ctx.core.quotas.limitsFor(ctx.em, userId);
    },
  }),
);

builder.mutationField('setUserQuota', (t) =>
  t.field({
    type: UserQuotaRef,
    args: { userId: t.arg.id({ required: true }), input: t.arg({ type: UserQuotaInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.core.quotas.setUserQuota(ctx.em, String(args.userId), { ...args.input }),
  }),
);
