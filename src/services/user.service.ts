import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { flushUnique } from '../db/unique.flush.ts';
import { z } from 'zod';
import { USER_ROLES, User, type UserRole } from '../db/entities/user.entity.ts';
import type { Actor } from './actor.ts';
import type { AuthService } from './auth.service.ts';
import { hashPassword } from './auth.service.ts';
import { AppError, notFound } from './errors.ts';
import { talkingHeadConfig, type TalkingHeadConfig } from './generation.inputs.ts';
import { isUuid, parseInput } from './validation.ts';

const createUserInput = z.object({
  username: z
    .string()
    .trim()
    .min(3)
    .max(64)
    .regex(/^[a-zA-Z0-9_.-]+$/, 'may contain letters, digits, "_", "." and "-" only'),
  password: z.string().min(8).max(1024),
  role: z.enum(USER_ROLES).default('user'),
});

export interface BootstrapResult {
  username: string;
  /** Set only when this call created the admin with a generated password. */
  generatedPassword?: string;
  /** Set only when this call created the admin: the secret of its first API key. */
  apiKey?: string;
}

export async function createUser(
  em: EntityManager,
  rawInput: { username: string; password: string; role?: UserRole | null },
  options: { builtin?: boolean } = {},
): Promise<User> {
  const input = parseInput(createUserInput, { ...rawInput, role: rawInput.role ?? undefined });
  if (input.username === ANONYMOUS_USERNAME && !options.builtin) {
    throw new AppError('CONFLICT', `Username "${input.username}" is reserved`, { field: 'username' });
  }
  const user = em.create(User, {
    username: input.username,
    passwordHash: await hashPassword(input.password),
    role: input.role,
  });
  await flushUnique(em, () => new AppError('CONFLICT', `Username "${input.username}" is taken`, { field: 'username' }));
  return user;
}

export async function getUser(em: EntityManager, id: string): Promise<User> {
  const user = isUuid(id) ? await em.findOne(User, { id }) : null;
  if (!user) throw notFound('User', id);
  return user;
}

export const listUsers = (em: EntityManager) => em.find(User, {}, { orderBy: { createdAt: 'asc' } });

/**
 * On first start there is no admin: create one (with the configured or a generated password) and an API
 * key for it. Later starts change nothing, so a restart never resets credentials.
 */
export async function bootstrapAdmin(
  em: EntityManager,
  auth: AuthService,
  settings: { username: string; password?: string },
): Promise<BootstrapResult> {
  const existing = await em.findOne(User, { role: 'admin' }, { orderBy: { createdAt: 'asc' } });
  if (existing) return { username: existing.username };
  const generatedPassword = settings.password ? undefined : randomBytes(12).toString('base64url');
  const user = await createUser(em, {
    username: settings.username,
    password: settings.password ?? generatedPassword!,
    role: 'admin',
  });
  const actor: Actor = { userId: user.id, username: user.username, role: 'admin', scopes: ['read', 'generate', 'admin'], via: 'jwt' };
  const { secret } = await auth.createApiKey(em, actor, { name: 'bootstrap' });
  return { username: user.username, generatedPassword, apiKey: secret };
}

/** The caller's talking-head settings, with defaults for what was never set. */
export async function getTalkingHeadConfig(em: EntityManager, userId: string): Promise<TalkingHeadConfig> {
  const user = await em.findOne(User, { id: userId });
  return talkingHeadConfig.parse((user?.settings as { talkingHead?: unknown } | null)?.talkingHead ?? {});
}

export async function setTalkingHeadConfig(
  em: EntityManager,
  userId: string,
  raw: { guidanceScale?: number | null; inferenceSteps?: number | null; enableCache?: boolean | null },
): Promise<TalkingHeadConfig> {
  const user = await getUser(em, userId);
  const current = await getTalkingHeadConfig(em, userId);
  const next = parseInput(talkingHeadConfig, { ...current, ...Object.fromEntries(Object.entries(raw).filter(([, v]) => v != null)) });
  user.settings = { ...(user.settings ?? {}), talkingHead: next };
  await em.flush();
  return next;
}

export const ANONYMOUS_USERNAME = 'anonymous';

/**
 * The built-in user that anonymous REST callers act as (where a family allows them), created on first use
 * with an unusable random password, so it has its own jobs and quota and can never log in.
 */
export async function getOrCreateAnonymousUser(em: EntityManager): Promise<User> {
  const existing = await em.findOne(User, { username: ANONYMOUS_USERNAME });
  if (existing) return existing;
  try {
    return await createUser(em, { username: ANONYMOUS_USERNAME, password: randomBytes(32).toString('base64url'), role: 'user' }, { builtin: true });
  } catch (error) {
    // Another process created it at the same moment.
    if (error instanceof AppError && error.code === 'CONFLICT') return em.findOneOrFail(User, { username: ANONYMOUS_USERNAME });
    throw error;
  }
}
