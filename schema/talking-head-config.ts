import type { TalkingHeadConfig } from '../src/services/generation.inputs.ts';
import { getTalkingHeadConfig, setTalkingHeadConfig } from '../src/services/user.service.ts';
import { builder } from './builder.ts';
import { requireActor } from './context.ts';

const TalkingHeadConfigRef = builder.objectRef<TalkingHeadConfig>('TalkingHeadConfig').implement({
  description: 'Your talking-head engine settings, applied to each generateTalkingHead.',
  fields: (t) => ({
    guidanceScale: t.exposeFloat('guidanceScale'),
    inferenceSteps: t.exposeInt('inferenceSteps'),
    enableCache: t.exposeBoolean('enableCache'),
  }),
});

builder.queryField('talkingHeadConfig', (t) =>
  t.field({ type: TalkingHeadConfigRef, resolve: (_root, _args, ctx) => getTalkingHeadConfig(ctx.em, requireActor(ctx).userId) }),
);

builder.mutationField('setTalkingHeadConfig', (t) =>
  t.field({
    type: TalkingHeadConfigRef,
    description: 'Changes only the fields given.',
    args: {
      guidanceScale: t.arg.float({ required: false, description: '0–20.' }),
      inferenceSteps: t.arg.int({ required: false, description: '1–100.' }),
      enableCache: t.arg.boolean({ required: false }),
    },
    resolve: (_root, args, ctx) => setTalkingHeadConfig(ctx.em, requireActor(ctx).userId, args),
  }),
);
