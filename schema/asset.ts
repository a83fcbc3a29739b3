import { claimUpload } from './upload-once.ts';
import { ASSET_KINDS, type Asset } from '../src/db/entities/asset.entity.ts';
import { badInput } from '../src/services/errors.ts';
import { builder } from './builder.ts';
import { requireActor } from './context.ts';
import { UserRef } from './user.ts';

const AssetKindEnum = builder.enumType('AssetKind', { values: ASSET_KINDS });

export const AssetRef = builder.objectRef<Asset>('Asset').implement({
  description: 'A stored file: a generation output or an upload.',
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.field({ type: AssetKindEnum, resolve: (a) => a.kind }),
    mime: t.exposeString('mime'),
    bytes: t.float({ resolve: (a) => Number(a.bytes) }),
    sha256: t.exposeString('sha256'),
    width: t.exposeInt('width', { nullable: true }),
    height: t.exposeInt('height', { nullable: true }),
    durationSeconds: t.float({ nullable: true, resolve: (a) => (a.durationSeconds == null ? null : Number(a.durationSeconds)) }),
    filename: t.exposeString('filename', { nullable: true, description: 'The name an upload was sent under; generated files have none.' }),
    url: t.string({
      description:
        'Downloads the file: a signed link (`?exp=…&sig=…`, valid FILE_URL_TTL_SECONDS) that works without a header, ' +
        'e.g. in <img> or <video>. Without the query, send the Authorization header (owner or admin only).',
      resolve: (a, _args, ctx) => ctx.core.fileUrls.url(a.id, ctx.baseUrl),
    }),
    jobId: t.id({ nullable: true, resolve: (a) => a.job?.id ?? null }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('asset', (t) =>
  t.field({
    type: AssetRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.assets.getAsset(ctx.em, requireActor(ctx), String(args.id)),
  }),
);

builder.queryField('assets', (t) =>
  t.connection({
    type: AssetRef,
    description: 'Your files, newest first (every file, for an admin).',
    args: { kind: t.arg({ type: AssetKindEnum, required: false }) },
    resolve: (_root, args, ctx) => {
      if (args.last != null || args.before != null) throw badInput('Only forward pagination (first/after) is supported');
      return ctx.core.jobs.listAssets(ctx.em, requireActor(ctx), args);
    },
  }),
);

/** yoga's multipart uploads (GraphQL multipart request spec): the value is a WHATWG `File`. Input only. */
builder.scalarType('File', {
  description: 'A file sent as a part of a multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec).',
  serialize: () => {
    throw new Error('File is an input-only scalar');
  },
  parseValue: (value: unknown) => {
    const file = value as Partial<File> | null;
    if (typeof file?.stream !== 'function') throw badInput('File must be sent as a file part of a multipart request');
    return value as File;
  },
  parseLiteral: () => {
    throw badInput('File cannot be written in the query; send it as a file part of a multipart request');
  },
});

/** The bytes of an uploaded File, chunk by chunk; stopping early cancels the rest. */
async function* chunksOf(file: File): AsyncGenerator<Uint8Array> {
  const reader = file.stream().getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

builder.mutationField('uploadAsset', (t) =>
  t.field({
    type: AssetRef,
    description:
      'Uploads an image (JPG, PNG, GIF, WEBP) or audio file (WAV, MP3, OGG, M4A) as a multipart request. ' +
      'The type is read from the content, not the name; the original name is kept as `filename`.',
    args: { file: t.arg({ type: 'File', required: true }) },
    resolve: (_root, args, ctx) => {
      const file = claimUpload(args.file);
      return ctx.core.uploads.upload(ctx.em, requireActor(ctx), { filename: file.name, content: chunksOf(file) });
    },
  }),
);

builder.mutationField('deleteAsset', (t) =>
  t.boolean({
    description: 'Deletes a file (yours; anyone’s, for an admin): its bytes and its row. Jobs that made it keep their record.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.core.retention.deleteAsset(ctx.em, requireActor(ctx), String(args.id)),
  }),
);

builder.objectField(UserRef, 'storageBytes', (t) =>
  t.float({
    description: 'Bytes of the files this user stores (uploads and outputs).',
    resolve: (user, _args, ctx) => ctx.core.retention.bytesStored(ctx.em, user.id),
  }),
);
