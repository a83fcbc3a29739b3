import type { LoginResult } from '../src/services/auth.service.ts';
import { builder } from './builder.ts';

const AuthPayload = builder.objectRef<LoginResult>('AuthPayload').implement({
  fields: (t) => ({
    accessToken: t.exposeString('accessToken', { description: 'Send as "Authorization: Bearer <accessToken>".' }),
    tokenType: t.exposeString('tokenType'),
    expiresIn: t.exposeInt('expiresIn', { description: 'Seconds until the token expires.' }),
  }),
});

builder.mutationField('login', (t) =>
  t.field({
    type: AuthPayload,
    args: {
      username: t.arg.string({ required: true }),
      password: t.arg.string({ required: true }),
    },
    resolve: (_root, args, ctx) => ctx.core.auth.login(ctx.em, args),
  }),
);
