import type { SceneProfile } from '../src/db/entities/scene-profile.entity.ts';
import { builder } from './builder.ts';
import { idOrNull } from './job.ts';

export const SceneProfileRef = builder.objectRef<SceneProfile>('SceneProfile').implement({
  description: 'A named scene: a video request cites it (VideoSceneInput.sceneProfileId, or a scene "id" in the REST API) instead of spelling out its prompt and duration.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prompt: t.exposeString('prompt'),
    durationSeconds: t.float({ resolve: (s) => Number(s.durationSeconds) }),
    projectId: t.id({ nullable: true, description: 'The project preset it belongs to, if any.', resolve: (s) => s.project?.id ?? null }),
    source: t.exposeString('source', {
      nullable: true,
      description: 'The configuration file (under CONFIG_DIR) this comes from; read-only over the API while it does. null: set over the API.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const SceneProfileInput = builder.inputType('SceneProfileInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    prompt: t.string({ required: true }),
    durationSeconds: t.float({ required: true, description: 'Seconds; at most 60.' }),
    projectId: t.id({ required: false }),
  }),
});

builder.queryField('sceneProfiles', (t) =>
  t.field({
    type: [SceneProfileRef],
    args: { projectId: t.arg.id({ required: false }) },
    resolve: (_root, args, ctx) => ctx.core.scenes.list(ctx.em, idOrNull(args.projectId)),
  }),
);

builder.queryField('sceneProfile', (t) =>
  t.field({
    type: SceneProfileRef,
    description: 'By id or name.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.scenes.get(ctx.em, String(args.id)),
  }),
);

builder.mutationField('createSceneProfile', (t) =>
  t.field({
    type: SceneProfileRef,
    args: { input: t.arg({ type: SceneProfileInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.core.scenes.save(ctx.em, { ...input, projectId: idOrNull(input.projectId) }),
  }),
);

builder.mutationField('updateSceneProfile', (t) =>
  t.field({
    type: SceneProfileRef,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: SceneProfileInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => ctx.core.scenes.save(ctx.em, { ...input, projectId: idOrNull(input.projectId) }, String(id)),
  }),
);

builder.mutationField('deleteSceneProfile', (t) =>
  t.boolean({
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.scenes.delete(ctx.em, String(args.id)),
  }),
);
