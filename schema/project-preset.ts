import type { ProjectPreset } from '../src/db/entities/project-preset.entity.ts';
import { builder } from './builder.ts';
import { CharacterRef } from './character.ts';
import { SceneProfileRef } from './scene-profile.ts';

const ProjectPresetRef = builder.objectRef<ProjectPreset>('ProjectPreset').implement({
  description: "A project's defaults: naming it on a request applies its style and default engine.",
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    style: t.exposeString('style', { nullable: true }),
    defaultEngine: t.exposeString('defaultEngine', { nullable: true }),
    characters: t.field({
      type: [CharacterRef],
      resolve: async (p) => (p.characters.isInitialized() ? p.characters.getItems() : await p.characters.loadItems()),
    }),
    sceneProfiles: t.field({
      type: [SceneProfileRef],
      description: 'The scenes of this project that video requests can cite.',
      resolve: (p, _args, ctx) => ctx.core.scenes.list(ctx.em, p.id),
    }),
    source: t.exposeString('source', {
      nullable: true,
      description: 'The configuration file (under CONFIG_DIR) this comes from; read-only over the API while it does. null: set over the API.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ProjectPresetInput = builder.inputType('ProjectPresetInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    style: t.string({ required: false }),
    defaultEngine: t.string({ required: false }),
    characterIds: t.idList({ required: false }),
  }),
});

const toInput = (input: { name: string; style?: string | null; defaultEngine?: string | null; characterIds?: (string | number)[] | null }) => ({
  ...input,
  characterIds: input.characterIds?.map(String) ?? null,
});

builder.queryField('projectPresets', (t) =>
  t.field({ type: [ProjectPresetRef], resolve: (_root, _args, ctx) => ctx.core.profiles.listPresets(ctx.em) }),
);

builder.queryField('projectPreset', (t) =>
  t.field({
    type: ProjectPresetRef,
    description: 'By id or name (a project file under CONFIG_DIR is named after the file).',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.profiles.getPreset(ctx.em, String(args.id)),
  }),
);

builder.mutationField('createProjectPreset', (t) =>
  t.field({
    type: ProjectPresetRef,
    args: { input: t.arg({ type: ProjectPresetInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.core.profiles.savePreset(ctx.em, toInput(input)),
  }),
);

builder.mutationField('updateProjectPreset', (t) =>
  t.field({
    type: ProjectPresetRef,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: ProjectPresetInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => ctx.core.profiles.savePreset(ctx.em, toInput(input), String(id)),
  }),
);

builder.mutationField('deleteProjectPreset', (t) =>
  t.boolean({
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.profiles.deletePreset(ctx.em, String(args.id)),
  }),
);
