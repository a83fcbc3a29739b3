import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';

export const USER_ROLES = ['admin', 'user'] as const;
export type UserRole = (typeof USER_ROLES)[number];

const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    username: p.string().length(64).unique(),
    passwordHash: p.string().hidden().lazy(),
    role: p.enum(USER_ROLES).default('user'),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** Per-user engine settings, e.g. { talkingHead: { guidanceScale, inferenceSteps, enableCache } }. */
    settings: p.json<Record<string, unknown>>().nullable(),
  },
});

export class User extends UserSchema.class {}
UserSchema.setClass(User);
export { UserSchema };
