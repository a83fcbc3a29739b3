import { USER_ROLES, User } from '../src/db/entities/user.entity.ts';
import { createUser, listUsers } from '../src/services/user.service.ts';
import { builder } from './builder.ts';
import { requireActor } from './context.ts';

export const UserRoleEnum = builder.enumType('UserRole', { values: USER_ROLES.map((r) => r.toUpperCase()) as ['ADMIN', 'USER'] });

const toRole = (role: User['role']) => role.toUpperCase() as 'ADMIN' | 'USER';

export const UserRef = builder.objectRef<User>('User').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    username: t.exposeString('username'),
    role: t.field({ type: UserRoleEnum, resolve: (user) => toRole(user.role) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: UserRef,
    description: 'The caller.',
    resolve: (_root, _args, ctx) => ctx.em.findOneOrFail(User, { id: requireActor(ctx).userId }),
  }),
);

builder.queryField('users', (t) =>
  t.field({ type: [UserRef], description: 'Every user (admin).', resolve: (_root, _args, ctx) => listUsers(ctx.em) }),
);

builder.mutationField('createUser', (t) =>
  t.field({
    type: UserRef,
    description: 'Creates a user (admin).',
    args: {
      username: t.arg.string({ required: true }),
      password: t.arg.string({ required: true }),
      role: t.arg({ type: UserRoleEnum, required: false }),
    },
    resolve: (_root, args, ctx) =>
      createUser(ctx.em, { ...args, role: args.role ? (args.role.toLowerCase() as User['role']) : null }),
  }),
);
