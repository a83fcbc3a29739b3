import { randomUUID } from 'node:crypto';
import type { Core } from '../../src/core.ts';
import type { UserRole } from '../../src/db/entities/user.entity.ts';
import { type Actor, scopesForRole } from '../../src/services/actor.ts';
import { createUser } from '../../src/services/user.service.ts';

export interface TestUser {
  id: string;
  username: string;
  password: string;
  role: UserRole;
  token: string;
  actor: Actor;
}

/** A real user row with a real JWT; usernames are unique so test files can share the database. */
export async function createTestUser(core: Core, role: UserRole = 'user'): Promise<TestUser> {
  const username = `${role}-${randomUUID().slice(0, 12)}`;
  const password = `pw-${randomUUID()}`;
  const em = core.orm.em.fork();
  const user = await createUser(em, { username, password, role });
  const { accessToken } = await core.auth.issueToken(user);
  return {
    id: user.id,
    username,
    password,
    role,
    token: accessToken,
    actor: { userId: user.id, username, role, scopes: scopesForRole(role), via: 'jwt' },
  };
}
