import type { Character } from '../src/db/entities/character.entity.ts';
import { AssetRef } from './asset.ts';
import { builder } from './builder.ts';
import { idOrNull } from './job.ts';

export const CharacterRef = builder.objectRef<Character>('Character').implement({
  description: 'A recurring character; naming it on a request applies its fragments and seed.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    promptFragment: t.exposeString('promptFragment'),
    negativeFragment: t.exposeString('negativeFragment', { nullable: true }),
    seed: t.exposeInt('seed', { nullable: true }),
    referenceImage: t.field({ type: AssetRef, nullable: true, resolve: (c) => c.referenceImage ?? null }),
    source: t.exposeString('source', {
      nullable: true,
      description: 'The configuration file (under CONFIG_DIR) this comes from; read-only over the API while it does. null: set over the API.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CharacterInput = builder.inputType('CharacterInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    promptFragment: t.string({ required: true }),
    negativeFragment: t.string({ required: false }),
    referenceImageId: t.id({ required: false }),
    seed: t.int({ required: false }),
  }),
});

builder.queryField('characters', (t) =>
  t.field({ type: [CharacterRef], resolve: (_root, _args, ctx) => ctx.core.profiles.listCharacters(ctx.em) }),
);

builder.queryField('character', (t) =>
  t.field({
    type: CharacterRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.profiles.getCharacter(ctx.em, String(args.id)),
  }),
);

builder.mutationField('createCharacter', (t) =>
  t.field({
    type: CharacterRef,
    args: { input: t.arg({ type: CharacterInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.core.profiles.saveCharacter(ctx.em, { ...input, referenceImageId: idOrNull(input.referenceImageId) }),
  }),
);

builder.mutationField('updateCharacter', (t) =>
  t.field({
    type: CharacterRef,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: CharacterInput, required: true }) },
    resolve: (_root, { id, input }, ctx) =>
      ctx.core.profiles.saveCharacter(ctx.em, { ...input, referenceImageId: idOrNull(input.referenceImageId) }, String(id)),
  }),
);

builder.mutationField('deleteCharacter', (t) =>
  t.boolean({
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.profiles.deleteCharacter(ctx.em, String(args.id)),
  }),
);
