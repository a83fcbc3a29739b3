import type { LoginResult } from '../src/services/auth.service.ts';
import { builder } from './builder.ts';
import { loginThrottle } from '../src/services/login-throttle.ts';

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
    // The same throttle as REST's login: per username and per address (src/services/login-throttle.ts).
    resolve: (_root, args, ctx) =>
      loginThrottle(ctx.core).attempt(args.username, (ctx as { req?: { ip?: string } }).req?.ip, () => ctx.core.auth.login(ctx.em, args)),
  }),
);
